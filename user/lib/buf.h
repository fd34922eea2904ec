/* SPDX-License-Identifier: GPL-2.0 */
/* A growing text buffer with JSON string escaping, for the audit log and
 * machine-readable output. */
#ifndef IPGATE_BUF_H
#define IPGATE_BUF_H

#include <stddef.h>

struct ipg_buf {
	char *s;
	size_t len, cap;
	int oom; /* sticky: set once an allocation failed */
};

void ipg_buf_printf(struct ipg_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends @n bytes of @data, which may hold any byte. */
void ipg_buf_append(struct ipg_buf *b, const void *data, size_t n);
/* Appends @s as a JSON string literal, quotes included. */
void ipg_buf_json_str(struct ipg_buf *b, const char *s);
void ipg_buf_free(struct ipg_buf *b);

/* Reads the whole file at @path (at most @max bytes) into @b, NUL-ended.
 * Returns 0, or a negative errno (-EFBIG past @max). */
int ipg_read_file(const char *path, size_t max, struct ipg_buf *b);

/* Replaces the file at @path with @len bytes of @data, atomically: a
 * temporary file (mode @mode), fsync, rename, fsync of the directory. On
 * failure the old file is untouched. Returns 0 or a negative errno. */
int ipg_write_atomic(const char *path, const void *data, size_t len,
		     unsigned mode);
/* The same, keeping the mode, owner and group of the file it replaces
 * (@mode only when there is none). */
int ipg_write_atomic_keep(const char *path, const void *data, size_t len,
			  unsigned mode);

/* The value of top-level @key in JSON object @obj (a pointer into @obj and
 * its length), or NULL. For reading back lines this library wrote. */
const char *ipg_json_field(const char *obj, const char *key, size_t *len);
/* Copies JSON value @v (@len bytes) to @out: a string without its quotes
 * and escapes, anything else as written. */
void ipg_json_string(const char *v, size_t len, char *out, size_t size);

#endif
