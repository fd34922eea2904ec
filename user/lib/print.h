/* SPDX-License-Identifier: GPL-2.0 */
/* Output written once for people and for --json: one call per field names
 * its JSON key and its text form, the way iproute2's json_print does. In JSON
 * mode the writer adds the commas, the keys and the nesting; in text mode each
 * field goes through its format. */
#ifndef IPGATE_PRINT_H
#define IPGATE_PRINT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/* Which form a call writes to; IPG_PR_SAFE may be added to a string. */
enum ipg_pr {
	IPG_PR_TEXT = 1, /* text only */
	IPG_PR_JSON = 2, /* JSON only */
	IPG_PR_ANY = IPG_PR_TEXT | IPG_PR_JSON,
	/* text: control characters, invalid UTF-8 and backslashes as \xNN
	 * (ipg_buf_text_safe), for strings that reach a terminal */
	IPG_PR_SAFE = 4,
};

#define IPG_PRINT_DEPTH 8

struct ipg_print {
	struct ipg_buf *b;
	bool json;
	int depth; /* objects and arrays open, in both modes */
	int err; /* sticky: -EINVAL once the calls do not nest */
	char open[IPG_PRINT_DEPTH]; /* '{' or '[' for each open level */
	bool more[IPG_PRINT_DEPTH + 1]; /* a value is out at that level */
};

void ipg_print_init(struct ipg_print *p, struct ipg_buf *b, bool json);
/* Ends the output: in JSON mode a newline after the document. Returns 0,
 * -EINVAL when an object or array is left open or a value was put where JSON
 * has no room for it (the output is wrong), or -ENOMEM. */
int ipg_print_end(struct ipg_print *p);

/* JSON only: an object or array as member @key of the enclosing object, or
 * with @key NULL, as the next element of an array or the document itself.
 * Text mode only follows the nesting. */
void ipg_print_open_object(struct ipg_print *p, const char *key);
void ipg_print_close_object(struct ipg_print *p);
void ipg_print_open_array(struct ipg_print *p, const char *key);
void ipg_print_close_array(struct ipg_print *p);

/* One field, written to the forms in @to: in JSON "key":value (@key NULL in
 * an array), in text @fmt with the value as text for its one "%s" (a NULL
 * @fmt writes no text). A NULL @value is absent: null in JSON, no text. */
void ipg_print_string(struct ipg_print *p, unsigned to, const char *key,
		      const char *fmt, const char *value);
void ipg_print_u64(struct ipg_print *p, unsigned to, const char *key,
		   const char *fmt, uint64_t value);
/* The text form of a bool is "true" or "false". */
void ipg_print_bool(struct ipg_print *p, unsigned to, const char *key,
		    const char *fmt, bool value);
/* JSON only: "key":null. */
void ipg_print_null(struct ipg_print *p, const char *key);

/* Text only: labels, padding and words around the fields. */
void ipg_print_text(struct ipg_print *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
