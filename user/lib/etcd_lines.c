// SPDX-License-Identifier: GPL-2.0
/* A watch stream cut into lines, whatever the chunks it came in. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

int etcd_lines_feed(struct etcd_lines *l, const void *data, size_t n)
{
	const char *p = data, *nl = memrchr(p, '\n', n);
	size_t tail = nl ? (size_t)(p + n - nl - 1) : l->line_len + n;

	/* Only the line being received counts against the limit: every
	 * earlier one is complete and goes out at the next delivery. */
	if (tail > l->max || (!nl && tail < n))
		return -EMSGSIZE;
	if (l->start && l->len + n > l->cap) {
		memmove(l->buf, l->buf + l->start, l->len - l->start);
		l->len -= l->start;
		l->start = 0;
	}
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *b;

		while (cap < l->len + n)
			cap *= 2;
		b = realloc(l->buf, cap);
		if (!b)
			return -ENOMEM;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->line_len = tail;
	return 0;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

int etcd_lines_next(struct etcd_lines *l, const char **line, size_t *len)
{
	/* Complete lines end before the line being received. */
	size_t end = l->len - l->line_len;

	while (l->start < end) {
		const char *s = l->buf + l->start;
		const char *nl = memchr(s, '\n', end - l->start);
		size_t n = (size_t)(nl - s);

		l->start += n + 1;
		if (blank(s, n))
			continue;
		*line = s;
		*len = n && s[n - 1] == '\r' ? n - 1 : n;
		return 1;
	}
	return 0;
}

int etcd_lines_rest(struct etcd_lines *l, const char **line, size_t *len)
{
	const char *s = l->buf + l->start;
	size_t n = l->len - l->start;

	l->start = l->len;
	l->line_len = 0;
	if (!n || blank(s, n))
		return 0;
	*line = s;
	*len = n;
	return 1;
}

void etcd_lines_reset(struct etcd_lines *l)
{
	l->len = l->start = l->line_len = 0;
}

void etcd_lines_free(struct etcd_lines *l)
{
	free(l->buf);
	l->buf = NULL;
	l->cap = 0;
	etcd_lines_reset(l);
}
