/* SPDX-License-Identifier: GPL-2.0 */
/* The config document's lines, for the files that parse and edit it
 * (config.c, config_edit.c); not part of libipgate's interface. */
#ifndef IPGATE_CONFIG_LINES_H
#define IPGATE_CONFIG_LINES_H

#include <stddef.h>

#include "config.h"

/* Inserts a line of kind @kind before line @at (c->n_lines: at the end),
 * its text the @len bytes at @text, holding @prefix (or NULL). Returns 0
 * or -ENOMEM, leaving @c as it was. */
int ipg_config_insert_line(struct ipg_config *c, int at,
			   enum ipg_line_kind kind, const char *text,
			   size_t len, const struct ipg_prefix *prefix);

/* The comment at the end of line @l ("# ..."), or "". */
const char *ipg_config_line_comment(const struct ipg_config_line *l);

#endif
