// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void ipg_buf_append(struct ipg_buf *b, const void *data, size_t n)
{
	if (reserve(b, n))
		return;
	memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
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
		else if (c == 0xc2 && (unsigned char)s[1] >= 0x80 &&
			 (unsigned char)s[1] < 0xa0) /* C1 controls */
			ipg_buf_printf(b, "\\u%04x", (unsigned char)*++s);
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

/* Skips one JSON value at @s; returns the byte after it, or NULL. */
static const char *json_skip(const char *s)
{
	int depth = 0;

	do {
		while (*s == ' ')
			s++;
		if (*s == '"') {
			for (s++; *s && *s != '"'; s++)
				if (*s == '\\' && s[1])
					s++;
			if (!*s)
				return NULL;
			s++;
		} else if (*s == '{' || *s == '[') {
			depth++;
			s++;
			continue;
		} else if (*s == '}' || *s == ']') {
			if (!depth)
				return s;
			depth--;
			s++;
		} else if (*s == ',' || *s == ':') {
			s++;
			continue;
		} else {
			while (*s && !strchr(",}] ", *s))
				s++;
		}
		if (!*s)
			return depth ? NULL : s;
	} while (depth);
	return s;
}

const char *ipg_json_field(const char *obj, const char *key, size_t *len)
{
	const char *s = obj, *end;
	size_t klen = strlen(key);

	while (*s == ' ')
		s++;
	if (*s++ != '{')
		return NULL;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		if (*s != '"')
			return NULL;
		const char *k = s + 1;

		end = json_skip(s);
		if (!end || *end != ':')
			return NULL;
		bool match = (size_t)(end - 1 - k) == klen &&
			     !memcmp(k, key, klen);
		s = end + 1;
		while (*s == ' ')
			s++;
		end = json_skip(s);
		if (!end)
			return NULL;
		if (match) {
			*len = (size_t)(end - s);
			return s;
		}
		s = end;
		if (*s == '}')
			return NULL;
	}
	return NULL;
}

void ipg_json_string(const char *v, size_t len, char *out, size_t size)
{
	size_t n = 0;

	if (len < 2 || *v != '"') {
		snprintf(out, size, "%.*s", (int)len, v);
		return;
	}
	for (size_t i = 1; i + 1 < len && n + 1 < size; i++) {
		char c = v[i];

		if (c == '\\' && i + 2 < len) {
			c = v[++i];
			if (c == 'n')
				c = '\n';
			else if (c == 'u' && i + 4 < len) {
				c = (char)strtol((char[]){ v[i + 3], v[i + 4],
							   0 },
						 NULL, 16);
				i += 4;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
}

/* The atomic write, with the new file's mode (exactly, whatever the umask)
 * and, when @owner, its owner and group. */
static int write_atomic(const char *path, const void *data, size_t len,
			unsigned mode, const struct stat *owner)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t off = 0;
	int fd, r = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0600);
	if (fd < 0)
		return -errno;
	if ((owner && fchown(fd, owner->st_uid, owner->st_gid)) ||
	    fchmod(fd, mode))
		r = -errno;
	while (!r && off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!r && fsync(fd))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd))
			r = -errno;
		close(fd);
	}
	return r;
}

int ipg_write_atomic(const char *path, const void *data, size_t len,
		     unsigned mode)
{
	return write_atomic(path, data, len, mode, NULL);
}

int ipg_write_atomic_keep(const char *path, const void *data, size_t len,
			  unsigned mode)
{
	struct stat st;

	if (stat(path, &st))
		return errno == ENOENT ?
			       write_atomic(path, data, len, mode, NULL) :
			       -errno;
	return write_atomic(path, data, len, st.st_mode & 07777, &st);
}
