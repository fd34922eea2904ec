/* SPDX-License-Identifier: GPL-2.0 */
/* The parser's state, shared by the files that read the config: config.c
 * (words, keywords, files), config_list.c (list blocks and the checks
 * across lists) and config_include.c (include lines); not part of
 * libipgate's interface. */
#ifndef IPGATE_CONFIG_PARSE_H
#define IPGATE_CONFIG_PARSE_H

#include <stddef.h>

#include "config.h"

#define TOKENS_MAX 64
#define OVERRIDE_CAP_S (7 * 24 * 3600)

struct tok {
	int col; /* 1-based column of the token's first character */
	/* Room for a path (IPG_HTTP_PATH_MAX) or the store's URLs; labels
	 * are held to IPG_LABEL_MAX by their parsers. */
	char val[512];
	bool quoted;
};

struct line_toks {
	struct tok t[TOKENS_MAX];
	int n;
	int comment_at; /* offset of the comment's '#', or -1 */
};

/* The level lines are read at: the top level or one list block. */
struct scope {
	struct ipg_config_list *list; /* NULL: the top level */
	struct ipg_policy_spec *spec;
	uint32_t *override_max_s;
	uint32_t max_entries; /* as written; 0: not written in a list */
	int seen[IPG_LINE_KINDS]; /* line of each single-valued setting */
};

/* A destination a list claims, for the check that none is claimed twice. */
struct claim {
	struct ipg_prefix addr;
	const char *file;
	int line, col, seq;
	const struct ipg_config_list *list;
};

/* Where include lines find their files. */
enum include_mode {
	INCLUDE_DISK, /* glob(3) */
	INCLUDE_TEXTS, /* match the paths of texts */
	INCLUDE_ORDINAL, /* include line k gets the texts marked k (clone) */
};

struct include_src {
	enum include_mode mode;
	const struct ipg_config_text *texts;
	const int *ordinals; /* INCLUDE_ORDINAL: one per text */
	int n;
};

struct parse_ctx {
	const char *name; /* the file being read */
	const char *main_name;
	int line;
	int file; /* -1: the main file; else an index in c->files */
	struct ipg_error *e;
	struct scope top, blk, *s; /* s: &top, or &blk inside a block */
	int breakglass_line, breakglass_col;
	int http_line, http_col; /* of http-listen's value */
	int store_line; /* of the store line */
	struct ipg_prefix prefix; /* the entry of the last allow line */
	const struct include_src *src;
	int n_includes; /* include lines read so far */
	size_t included_bytes;
	struct claim *claims;
	int n_claims, cap_claims;
};

/* Fails with "FILE:LINE:COL: message" for the line being read. */
int ipg_cfg_fail_at(struct parse_ctx *p, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define fail_at ipg_cfg_fail_at

/* Splits @s into tokens: bare words, or "quoted strings" with \" and \\;
 * a '#' at the start of a token begins a comment. */
int ipg_cfg_tokenize(struct parse_ctx *p, const char *s, struct line_toks *lt);

/* Reads the lines of @text, one file, into @c. */
int ipg_cfg_parse_text(struct parse_ctx *p, struct ipg_config *c,
		       const char *text);

/* Keyword parsers (the table is in config.c). */
int ipg_cfg_parse_list(struct parse_ctx *p, struct ipg_config *c,
		       const struct line_toks *lt);
int ipg_cfg_parse_list_end(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt);
int ipg_cfg_parse_address(struct parse_ctx *p, struct ipg_config *c,
			  const struct line_toks *lt);
int ipg_cfg_parse_include(struct parse_ctx *p, struct ipg_config *c,
			  const struct line_toks *lt);
/* config_http.c: http-listen, http-tls-cert, http-tls-key,
 * http-trusted-proxy, metrics-public. */
int ipg_cfg_parse_http_listen(struct parse_ctx *p, struct ipg_config *c,
			      const struct line_toks *lt);
int ipg_cfg_parse_http_tls(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt);
int ipg_cfg_parse_http_proxy(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt);
int ipg_cfg_parse_metrics_public(struct parse_ctx *p, struct ipg_config *c,
				 const struct line_toks *lt);
int ipg_cfg_parse_http_url(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt);
/* After the main file is read: a listener off loopback has TLS. */
int ipg_cfg_check_http(struct parse_ctx *p, struct ipg_config *c);
/* config_store.c: store, store-prefix, store-ca, store-cert, store-key,
 * store-user, store-password-file, store-host. */
int ipg_cfg_parse_store(struct parse_ctx *p, struct ipg_config *c,
			const struct line_toks *lt);
int ipg_cfg_parse_store_prefix(struct parse_ctx *p, struct ipg_config *c,
			       const struct line_toks *lt);
int ipg_cfg_parse_store_file(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt);
int ipg_cfg_parse_store_name(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt);
/* After the main file is read: the store's settings go together. */
int ipg_cfg_check_store(struct parse_ctx *p, struct ipg_config *c);
/* "yes", "true", "on" / "no", "false", "off": 0, else -EINVAL. */
int ipg_cfg_yes_no(const char *s, bool *out);

/* After every file is read: each list's inherited settings, its entry
 * count against its max-entries, unique names, each destination claimed
 * once. */
int ipg_cfg_lists_finish(struct parse_ctx *p, struct ipg_config *c);

/* Notes that are not errors, e.g. an entry inside another. */
void ipg_cfg_warn(struct ipg_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The whole parse: @text is the main file, @name names it. */
int ipg_cfg_parse_all(struct ipg_config *c, const char *text, const char *name,
		      const struct include_src *src, struct ipg_error *e);

#endif
