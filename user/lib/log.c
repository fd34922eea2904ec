// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "log.h"

static int log_verbosity;
static const char *log_ident = "ipgate";

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

void ipg_log(enum ipg_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "warning", "info", "debug" };
	va_list ap;

	if ((int)level > log_verbosity && level != IPG_LOG_WARN)
		return;
	fprintf(stderr, "%s: %s: ", log_ident, tag[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
