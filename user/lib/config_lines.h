/* SPDX-License-Identifier: GPL-2.0 */
/* The config document's lines, for the files that parse and edit it
 * (config*.c); not part of libipgate's interface. */
#ifndef IPGATE_CONFIG_LINES_H
#define IPGATE_CONFIG_LINES_H

#include <stddef.h>

#include "config.h"

/* Inserts a line of kind @kind before line @at of the @n lines at @lines
 * (*n: at the end), its text the @len bytes at @text, holding @prefix (or
 * NULL). Returns 0 or -ENOMEM, leaving the lines as they were. */
int ipg_config_insert_line(struct ipg_config_line **lines, int *n, int at,
			   enum ipg_line_kind kind, const char *text,
			   size_t len, const struct ipg_prefix *prefix);
/* Removes line @at and frees its text. */
void ipg_config_delete_line(struct ipg_config_line *lines, int *n, int at);
void ipg_config_free_lines(struct ipg_config_line *lines, int n);

/* The line number in its file of line @idx of @lines, a file's lines: a
 * list block counts for every line it holds. */
int ipg_config_line_no(const struct ipg_config_line *lines, int idx);
/* Sets the line of each list block in the file whose lines are @lines. */
void ipg_config_renumber(struct ipg_config_line *lines, int n);

/* Appends the document @lines hold to @b, each line ending in a newline. */
void ipg_config_render_lines(const struct ipg_config_line *lines, int n,
			     struct ipg_buf *b);

/* The comment at the end of line @l ("# ..."), or "". */
const char *ipg_config_line_comment(const struct ipg_config_line *l);

/* A new list named @name, empty; NULL when out of memory. */
struct ipg_config_list *ipg_config_list_new(const char *name, int file);
void ipg_config_list_free(struct ipg_config_list *l);

#endif
