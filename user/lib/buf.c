// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"

static int reserve(struct ipg_buf *b, size_t more)
{
	char *s;
	size_t cap;

	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

void ipg_buf_printf(struct ipg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ipg_buf_json_str(struct ipg_buf *b, const char *s)
{
	ipg_buf_printf(b, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			ipg_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			ipg_buf_printf(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			ipg_buf_printf(b, "\\u%04x", c);
		else
			ipg_buf_printf(b, "%c", c);
	}
	ipg_buf_printf(b, "\"");
}

void ipg_buf_free(struct ipg_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

int ipg_read_file(const char *path, size_t max, struct ipg_buf *b)
{
	FILE *f = fopen(path, "re");
	size_t n;
	int r = 0;

	if (!f)
		return -errno;
	b->len = 0;
	do {
		if (reserve(b, 4096)) {
			r = -ENOMEM;
			break;
		}
		n = fread(b->s + b->len, 1, 4096, f);
		b->len += n;
		b->s[b->len] = '\0';
		if (b->len > max)
			r = -EFBIG;
	} while (!r && n == 4096);
	if (!r && ferror(f))
		r = -EIO;
	fclose(f);
	return r;
}
