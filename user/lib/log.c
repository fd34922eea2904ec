// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "journal.h"
#include "log.h"

static int log_verbosity;
static const char *log_ident = "ipgate";
/* The journal's socket while records go there (ipg_log_to_journal). */
static char *log_journal;

void ipg_log_set_ident(const char *ident)
{
	log_ident = ident;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* libbpf speaks one verbosity level below ours: -vv shows its
	 * warnings and info, -vvv its debug output. */
	if (log_verbosity < (level == LIBBPF_DEBUG ? 3 : 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void ipg_log_set_level(int verbosity)
{
	log_verbosity = verbosity;
	libbpf_set_print(libbpf_print);
}

void ipg_log_to_journal(bool on, const char *socket)
{
	free(log_journal);
	log_journal = on ? strdup(socket ? socket : IPG_JOURNAL_SOCKET) : NULL;
}

static void vlog(enum ipg_log_level level, const struct ipg_jfield *f, size_t n,
		 const char *fmt, va_list ap)
{
	static const char *const tag[] = { "warning", "info", "debug" };
	static const char *const prio[] = { "4", "6", "7" };
	struct ipg_jfield fields[16];
	char msg[2048];

	if ((int)level > log_verbosity && level != IPG_LOG_WARN)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal) {
		size_t k = 0;

		fields[k++] = (struct ipg_jfield){ "MESSAGE", msg };
		fields[k++] = (struct ipg_jfield){ "PRIORITY", prio[level] };
		fields[k++] =
			(struct ipg_jfield){ "SYSLOG_IDENTIFIER", log_ident };
		for (size_t i = 0; i < n && k < 16; i++)
			fields[k++] = f[i];
		if (!ipg_journal_send(log_journal, fields, k))
			return;
	}
	fprintf(stderr, "%s: %s: %s\n", log_ident, tag[level], msg);
}

void ipg_log(enum ipg_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, NULL, 0, fmt, ap);
	va_end(ap);
}

void ipg_log_fields(enum ipg_log_level level, const struct ipg_jfield *f,
		    size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, f, n, fmt, ap);
	va_end(ap);
}

int ipg_fail(struct ipg_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

int ipg_fault(const char *point, struct ipg_error *e)
{
	const char *v = getenv("IPGATE_FAULTS");
	size_t n = strlen(point);

	for (const char *s = v; s && *s; s += strcspn(s, ",")) {
		s += *s == ',';
		if (!strncmp(s, point, n) && (s[n] == ',' || !s[n]))
			return ipg_fail(e, -EIO,
					"%s failed: injected by IPGATE_FAULTS",
					point);
	}
	return 0;
}
