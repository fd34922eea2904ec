// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy.h"
#include "print.h"

void ipg_print_init(struct ipg_print *p, struct ipg_buf *b, bool json)
{
	*p = (struct ipg_print){ .b = b, .json = json };
}

int ipg_print_end(struct ipg_print *p)
{
	if (p->depth)
		p->err = -EINVAL;
	if (p->json && !p->err)
		ipg_buf_printf(p->b, "\n");
	return p->err ? p->err : p->b->oom ? -ENOMEM : 0;
}

/* Places the next JSON value at the current level: checks that @key is there
 * exactly when the level is an object, and writes the comma and the key (in
 * JSON mode). Returns false, and records the misuse, when it cannot go
 * there. */
static bool place(struct ipg_print *p, const char *key)
{
	bool in_object = p->depth && p->open[p->depth - 1] == '{';

	if (p->err || !key != !in_object ||
	    (!p->depth && p->more[0])) { /* one document */
		p->err = -EINVAL;
		return false;
	}
	if (p->json && p->more[p->depth])
		ipg_buf_printf(p->b, ",");
	p->more[p->depth] = true;
	if (p->json && key) {
		ipg_buf_json_str(p->b, key);
		ipg_buf_printf(p->b, ":");
	}
	return true;
}

static void open_level(struct ipg_print *p, const char *key, char c)
{
	if (p->depth == IPG_PRINT_DEPTH)
		p->err = -EINVAL;
	if (!place(p, key))
		return;
	p->open[p->depth++] = c;
	p->more[p->depth] = false;
	if (p->json)
		ipg_buf_printf(p->b, "%c", c);
}

static void close_level(struct ipg_print *p, char c)
{
	if (p->err)
		return;
	if (!p->depth || p->open[p->depth - 1] != c) {
		p->err = -EINVAL;
		return;
	}
	p->depth--;
	if (p->json)
		ipg_buf_printf(p->b, "%c", c == '{' ? '}' : ']');
}

void ipg_print_open_object(struct ipg_print *p, const char *key)
{
	open_level(p, key, '{');
}

void ipg_print_close_object(struct ipg_print *p)
{
	close_level(p, '{');
}

void ipg_print_open_array(struct ipg_print *p, const char *key)
{
	open_level(p, key, '[');
}

void ipg_print_close_array(struct ipg_print *p)
{
	close_level(p, '[');
}

/* Whether a field for @to is written in this mode; a field that has a JSON
 * form is placed (and checked) in both modes, so that text mode finds a
 * misplaced key too. */
static bool field(struct ipg_print *p, unsigned to, const char *key)
{
	bool placed = (to & IPG_PR_JSON) ? place(p, key) : !p->err;

	return placed && (p->json ? to & IPG_PR_JSON : to & IPG_PR_TEXT);
}

/* The text form: @fmt with @value (as is, or made safe) for its "%s". */
static void text(struct ipg_print *p, unsigned to, const char *fmt,
		 const char *value)
{
	struct ipg_buf safe = { 0 };

	if (!fmt || !value)
		return;
	if (to & IPG_PR_SAFE) {
		ipg_buf_text_safe(&safe, value);
		if (safe.oom)
			p->b->oom = 1;
		value = safe.s ? safe.s : "";
	}
	ipg_buf_printf(p->b, fmt, value);
	ipg_buf_free(&safe);
}

void ipg_print_string(struct ipg_print *p, unsigned to, const char *key,
		      const char *fmt, const char *value)
{
	if (!field(p, to, key))
		return;
	if (!p->json)
		text(p, to, fmt, value);
	else if (value)
		ipg_buf_json_str(p->b, value);
	else
		ipg_buf_printf(p->b, "null");
}

void ipg_print_u64(struct ipg_print *p, unsigned to, const char *key,
		   const char *fmt, uint64_t value)
{
	char s[24];

	if (!field(p, to, key))
		return;
	snprintf(s, sizeof(s), "%" PRIu64, value);
	if (p->json)
		ipg_buf_printf(p->b, "%s", s);
	else
		text(p, to, fmt, s);
}

void ipg_print_bool(struct ipg_print *p, unsigned to, const char *key,
		    const char *fmt, bool value)
{
	if (!field(p, to, key))
		return;
	if (p->json)
		ipg_buf_printf(p->b, "%s", value ? "true" : "false");
	else
		text(p, to, fmt, value ? "true" : "false");
}

void ipg_print_null(struct ipg_print *p, const char *key)
{
	ipg_print_string(p, IPG_PR_JSON, key, NULL, NULL);
}

void ipg_print_text(struct ipg_print *p, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (p->json || p->err)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->b->oom = 1;
		return;
	}
	ipg_buf_append(p->b, s, (size_t)n);
	free(s);
}
