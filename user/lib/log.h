/* SPDX-License-Identifier: GPL-2.0 */
/* Logging to stderr at three levels, and error messages carried to callers. */
#ifndef IPGATE_LOG_H
#define IPGATE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum ipg_log_level { IPG_LOG_WARN = 0, IPG_LOG_INFO = 1, IPG_LOG_DEBUG = 2 };

/* -v shows info and debug, -vv adds libbpf's own output. */
void ipg_log_set_level(int verbosity);
/* The program name that starts each line (default "ipgate"). */
void ipg_log_set_ident(const char *ident);
void ipg_log(enum ipg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* From now on (@on), records go to the journal at @socket (NULL: the
 * system's), each with PRIORITY, SYSLOG_IDENTIFIER and its own fields; a
 * record the journal does not take goes to stderr. */
void ipg_log_to_journal(bool on, const char *socket);
struct ipg_jfield;
/* A record with the @n structured fields @f (KEY=VALUE; a NULL value is
 * left out), which only the journal keeps; stderr gets the message. */
void ipg_log_fields(enum ipg_log_level level, const struct ipg_jfield *f,
		    size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define pr_warn(...) ipg_log(IPG_LOG_WARN, __VA_ARGS__)
#define pr_info(...) ipg_log(IPG_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) ipg_log(IPG_LOG_DEBUG, __VA_ARGS__)

/* A message for the operator: what failed, on what, and what to do. */
struct ipg_error {
	char msg[512];
};

/* Formats @fmt into @e (which may be NULL) and returns @code, a negative
 * errno, so that callers can write `return ipg_fail(e, -EINVAL, ...)`. */
int ipg_fail(struct ipg_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A test seam: returns -EIO with a message in @e when the environment
 * variable IPGATE_FAULTS (comma-separated) names @point, else 0. The suites
 * use it to fail one step of a start or a change (apply, attach, save,
 * audit) and check that what enforced before still does. */
int ipg_fault(const char *point, struct ipg_error *e);

#endif
