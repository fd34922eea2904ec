// SPDX-License-Identifier: GPL-2.0
/* Reading the config: words, one parser per keyword (the table
 * keywords[]), the checks of the whole file, and the document kept line by
 * line. Edits: config_edit.c; differences: config_diff.c. */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "config_lines.h"
#include "config_parse.h"
#include "ipgate/blocked.h"

int ipg_cfg_fail_at(struct parse_ctx *p, int col, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ipg_fail(p->e, -EINVAL, "%s:%d:%d: %s", p->name, p->line, col,
			msg);
}

void ipg_cfg_warn(struct ipg_config *c, const char *fmt, ...)
{
	va_list ap;

	if (c->n_warnings < 4) {
		va_start(ap, fmt);
		vsnprintf(c->warnings[c->n_warnings], sizeof(c->warnings[0]),
			  fmt, ap);
		va_end(ap);
	}
	c->n_warnings++;
}

int ipg_cfg_tokenize(struct parse_ctx *p, const char *s, struct line_toks *lt)
{
	size_t i = 0;

	lt->n = 0;
	lt->comment_at = -1;
	for (;;) {
		struct tok *t;
		size_t n = 0;

		while (s[i] == ' ' || s[i] == '\t')
			i++;
		if (!s[i])
			return 0;
		if (s[i] == '#') {
			lt->comment_at = (int)i;
			return 0;
		}
		if (lt->n == TOKENS_MAX)
			return fail_at(p, (int)i + 1,
				       "too many words on one line");
		t = &lt->t[lt->n++];
		t->col = (int)i + 1;
		t->quoted = s[i] == '"';
		if (t->quoted) {
			for (i++; s[i] != '"'; i++) {
				if (!s[i])
					return fail_at(
						p, t->col,
						"unterminated quoted string; "
						"expected a closing \"");
				if (s[i] == '\\' &&
				    (s[i + 1] == '"' || s[i + 1] == '\\'))
					i++;
				if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
					return fail_at(
						p, (int)i + 1,
						"control character in a quoted "
						"string");
				if (n + 1 >= sizeof(t->val))
					return fail_at(
						p, t->col,
						"quoted string too long");
				t->val[n++] = s[i];
			}
			i++;
			if (s[i] && s[i] != ' ' && s[i] != '\t' && s[i] != '#')
				return fail_at(
					p, (int)i + 1,
					"expected a space after the closing \"");
		} else {
			while (s[i] && s[i] != ' ' && s[i] != '\t') {
				if (n + 1 >= sizeof(t->val))
					return fail_at(p, t->col,
						       "word too long");
				if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
					return fail_at(
						p, (int)i + 1,
						"control character in the file");
				t->val[n++] = s[i++];
			}
		}
		t->val[n] = '\0';
	}
}

int ipg_duration_parse(const char *s, uint32_t *seconds)
{
	unsigned long long v = 0, mult;
	size_t i = 0;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	while (isdigit((unsigned char)s[i])) {
		v = v * 10 + (unsigned)(s[i++] - '0');
		if (v > 100000000ull)
			return -ERANGE;
	}
	switch (s[i]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (s[i + 1] || v == 0)
		return -EINVAL;
	if (v * mult > UINT32_MAX)
		return -ERANGE;
	*seconds = (uint32_t)(v * mult);
	return 0;
}

/* The earliest and latest times an expiry may name: after 2000 and before
 * 10000 (four-digit years), so that every one prints back the same. */
#define TIME_MIN 946684800ll /* 2000-01-01T00:00:00Z */
#define TIME_MAX 253402300799ll /* 9999-12-31T23:59:59Z */

/* Reads @n digits at @s into @out; returns 0 or -EINVAL. */
static int digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

int ipg_time_parse(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm = { 0 };
	int64_t t;

	if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -EINVAL;
	if ((s[19] == 'Z' || s[19] == 'z') && !s[20]) {
		sign = 0;
	} else if ((s[19] == '+' || s[19] == '-') && strlen(s) == 25 &&
		   !digits(s + 20, 2, &oh) && s[22] == ':' &&
		   !digits(s + 23, 2, &om) && oh < 24 && om < 60) {
		sign = s[19] == '+' ? 1 : -1;
	} else {
		return -EINVAL;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 59 ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (t < TIME_MIN || t > TIME_MAX)
		return -ERANGE;
	*out = t;
	return 0;
}

const char *ipg_time_error(int r)
{
	return r == -ERANGE ?
		       "is out of range (years 2000 to 9999)" :
		       "is not a time such as 2026-12-01T18:00:00Z (UTC) "
		       "or 2026-12-01T19:00:00+01:00";
}

void ipg_time_format(int64_t t, char *out, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "@%lld", (long long)t);
}

static int once(struct parse_ctx *p, enum ipg_line_kind k, const char *what)
{
	if (p->s->seen[k])
		return fail_at(p, 1, "%s is already set on line %d", what,
			       p->s->seen[k]);
	p->s->seen[k] = p->line;
	return 0;
}

static int expect_args(struct parse_ctx *p, const struct line_toks *lt, int min,
		       int max, const char *expected)
{
	if (lt->n - 1 < min)
		return fail_at(p, lt->t[0].col + (int)strlen(lt->t[0].val),
			       "expected %s after \"%s\"", expected,
			       lt->t[0].val);
	if (max >= 0 && lt->n - 1 > max)
		return fail_at(
			p, lt->t[max + 1].col,
			"unexpected \"%s\"; expected the end of the line "
			"or a # comment",
			lt->t[max + 1].val);
	return 0;
}

/* Reads @t as a number from 1 to @max, written without a sign, spaces or
 * leading zeros when @strict; returns 0, or -EINVAL. */
static int parse_number(const struct tok *t, unsigned long max, bool strict,
			unsigned long *out)
{
	char *end;

	*out = strtoul(t->val, &end, 10);
	if (!isdigit((unsigned char)t->val[0]) || *end || *out < 1 ||
	    *out > max || (strict && t->val[0] == '0'))
		return -EINVAL;
	return 0;
}

/* Marks setting @bit as written by the list block being read, if any. */
static void list_sets(struct parse_ctx *p, unsigned bit)
{
	if (p->s->list)
		p->s->list->set |= bit;
}

/* ---- one parser per keyword: the value is lt->t[1] (and on); settings
 * go to the scope being read, p->s (the top level or a list block) ---- */

static int parse_interface(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt)
{
	for (int i = 1; i < lt->n; i++) {
		const struct tok *t = &lt->t[i];

		if (strlen(t->val) >= IF_NAMESIZE || strchr(t->val, '/'))
			return fail_at(p, t->col,
				       "\"%s\" is not an interface name",
				       t->val);
		for (int j = 0; j < c->n_interfaces; j++)
			if (!strcmp(c->interfaces[j], t->val))
				return fail_at(p, t->col,
					       "interface %s is listed twice",
					       t->val);
		if (c->n_interfaces == IPG_IFACES_MAX)
			return fail_at(p, t->col, "more than %d interfaces",
				       IPG_IFACES_MAX);
		strcpy(c->interfaces[c->n_interfaces++], t->val);
	}
	return 0;
}

int ipg_cfg_yes_no(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on" };
	static const char *const no[] = { "no", "false", "off" };

	for (int i = 0; i < 3; i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, 0;
		if (!strcmp(s, no[i]))
			return *out = false, 0;
	}
	return -EINVAL;
}

static int parse_enabled(struct parse_ctx *p, struct ipg_config *c,
			 const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	bool on;

	(void)c;
	list_sets(p, IPG_LIST_SET_ENABLED);
	if (ipg_cfg_yes_no(t->val, &on))
		return fail_at(p, t->col, "\"%s\" is not yes or no", t->val);
	p->s->spec->kern.enabled = on;
	return 0;
}

static int parse_protect(struct parse_ctx *p, struct ipg_config *c,
			 const struct line_toks *lt)
{
	(void)c;
	list_sets(p, IPG_LIST_SET_PROTECT);
	for (int i = 1; i < lt->n; i++) {
		const struct tok *t = &lt->t[i];
		uint16_t port;
		int proto, r = ipg_port_parse(t->val, &proto, &port);

		if (r == -EPROTONOSUPPORT)
			return fail_at(p, t->col,
				       "\"%s\" is not a port; expected "
				       "tcp/PORT or udp/PORT, e.g. tcp/443",
				       t->val);
		if (r)
			return fail_at(p, t->col + 4,
				       "\"%s\" is not a port number; expected "
				       "1 to 65535",
				       t->val + 4);
		r = ipg_policy_set_port(p->s->spec, proto, port, true);
		if (r)
			return r;
	}
	return 0;
}

static int parse_max_entries(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	unsigned long v;

	(void)c;
	if (parse_number(t, IPG_RULES_MAX, false, &v))
		return fail_at(p, t->col,
			       "\"%s\" is not a valid max-entries; expected 1 "
			       "to %d",
			       t->val, IPG_RULES_MAX);
	/* Applied once every entry is read: it may come last. */
	p->s->max_entries = (uint32_t)v;
	list_sets(p, IPG_LIST_SET_MAX_ENTRIES);
	return 0;
}

static int parse_mode(struct parse_ctx *p, struct ipg_config *c,
		      const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];

	(void)c;
	if (!strcmp(t->val, "drop"))
		p->s->spec->kern.mode = IPG_MODE_DROP;
	else if (!strcmp(t->val, "reject"))
		p->s->spec->kern.mode = IPG_MODE_REJECT;
	else if (!strcmp(t->val, "shadow"))
		p->s->spec->kern.mode = IPG_MODE_SHADOW;
	else
		return fail_at(p, t->col,
			       "\"%s\" is not a mode; expected drop, reject or "
			       "shadow",
			       t->val);
	list_sets(p, IPG_LIST_SET_MODE);
	return 0;
}

static int parse_override_max(struct parse_ctx *p, struct ipg_config *c,
			      const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	uint32_t s;

	(void)c;
	if (ipg_duration_parse(t->val, &s) || s > OVERRIDE_CAP_S)
		return fail_at(p, t->col,
			       "\"%s\" is not a duration up to 7d; expected "
			       "e.g. 30m, 2h, 24h",
			       t->val);
	*p->s->override_max_s = s;
	list_sets(p, IPG_LIST_SET_OVERRIDE_MAX);
	return 0;
}

static int parse_breakglass_port(struct parse_ctx *p, struct ipg_config *c,
				 const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	unsigned long v;

	if (!strcmp(t->val, "off")) {
		c->breakglass_port = 0;
		return 0;
	}
	if (parse_number(t, 65535, true, &v))
		return fail_at(p, t->col,
			       "\"%s\" is not a port; expected 1 to 65535 or "
			       "off",
			       t->val);
	c->breakglass_port = (uint16_t)v;
	/* Checked against the protected ports once the file is read. */
	p->breakglass_col = t->col;
	p->breakglass_line = p->line;
	return 0;
}

/* chain PATH | off: an absolute path in a bpffs. */
static int parse_chain(struct parse_ctx *p, struct ipg_config *c,
		       const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];

	c->chain[0] = '\0';
	if (!strcmp(t->val, "off"))
		return 0;
	if (t->val[0] != '/' || strlen(t->val) >= sizeof(c->chain))
		return fail_at(p, t->col,
			       "\"%s\" is not the absolute path of a pinned "
			       "program; expected e.g. /sys/fs/bpf/lb/xdp_lb, "
			       "or off",
			       t->val);
	memcpy(c->chain, t->val, strlen(t->val) + 1); /* fits: checked */
	return 0;
}

/* blocked-log N | off: reports a second per list and CPU. */
static int parse_blocked_log(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	unsigned long v;

	if (!strcmp(t->val, "off")) {
		c->blocked_budget = 0;
		return 0;
	}
	if (parse_number(t, 100000, true, &v))
		return fail_at(p, t->col,
			       "\"%s\" is not a number of reports a second "
			       "(1 to 100000) or off",
			       t->val);
	c->blocked_budget = (uint32_t)v;
	return 0;
}

/* The lines the scope being read writes to. */
static void scope_lines(struct parse_ctx *p, struct ipg_config *c,
			struct ipg_config_line ***lines, int **n)
{
	if (p->s->list) {
		*lines = &p->s->list->lines;
		*n = &p->s->list->n_lines;
	} else if (p->file >= 0) {
		*lines = &c->files[p->file].lines;
		*n = &c->files[p->file].n_lines;
	} else {
		*lines = &c->lines;
		*n = &c->n_lines;
	}
}

/* The line number of an allow line for @pfx in the scope being read. */
static int allowed_on(struct parse_ctx *p, struct ipg_config *c,
		      const struct ipg_prefix *pfx)
{
	struct ipg_config_line **lines;
	int *n;

	scope_lines(p, c, &lines, &n);
	for (int l = 0; l < *n; l++)
		if ((*lines)[l].kind == IPG_LINE_ALLOW &&
		    ipg_prefix_equal(&(*lines)[l].prefix, pfx))
			return p->s->list ? p->s->list->line + l :
					    ipg_config_line_no(*lines, l);
	return 0;
}

/* allow CIDR [LABEL] [expires TIME]: the word "expires" is a label only
 * when nothing follows it (or when quoted). */
static int parse_allow(struct parse_ctx *p, struct ipg_config *c,
		       const struct line_toks *lt)
{
	struct ipg_error pe = { { 0 } };
	const struct tok *t = &lt->t[1], *label = NULL, *when = NULL;
	struct ipg_prefix *out = &p->prefix;
	int64_t expires = 0;
	int r;

	for (int i = 2; i < lt->n; i++) {
		const struct tok *w = &lt->t[i];

		if (!when && !w->quoted && !strcmp(w->val, "expires") &&
		    (i + 1 < lt->n || label)) {
			if (i + 1 >= lt->n)
				return fail_at(p, w->col + 7,
					       "expected a time such as "
					       "2026-12-01T18:00:00Z after "
					       "\"expires\"");
			when = &lt->t[++i];
		} else if (!label && !when) {
			label = w;
		} else {
			return fail_at(p, w->col,
				       "unexpected \"%s\"; expected the end "
				       "of the line or a # comment",
				       w->val);
		}
	}
	if (ipg_prefix_parse(t->val, out, &pe))
		return fail_at(p, t->col, "%s", pe.msg);
	if (ipg_policy_find(p->s->spec, out) >= 0)
		return fail_at(p, t->col, "%s is already allowed on line %d",
			       t->val, allowed_on(p, c, out));
	if (label && strlen(label->val) >= IPG_LABEL_MAX)
		return fail_at(p, label->col, "label longer than %d characters",
			       IPG_LABEL_MAX - 1);
	if (label && ipg_label_check(label->val, &pe))
		return fail_at(p, label->col, "label %s", pe.msg);
	if (when && (r = ipg_time_parse(when->val, &expires)))
		return fail_at(p, when->col, "expiry %s %s", when->val,
			       ipg_time_error(r));
	if (ipg_policy_add(p->s->spec, out, label ? label->val : NULL, &pe))
		return fail_at(p, t->col, "%s", pe.msg);
	p->s->spec->entries[p->s->spec->n_entries - 1].expires = expires;
	return 0;
}

/* What a keyword takes after it. */
enum value_kind {
	V_NONE, /* nothing */
	V_ONE, /* one word */
	V_LIST, /* one word or more */
	V_CIDR_LABEL, /* an address or CIDR, a label, an expiry: allow */
};

/* Where a keyword may stand. */
enum where {
	AT_TOP = 1, /* the top level of the main file */
	IN_LIST = 2, /* inside a list block */
};

/* One row per keyword: its line kind, the words after it (and how the
 * message for a missing value names them), whether it may appear on one
 * line only (of its level), where it may stand, and its parser. */
struct keyword {
	const char *name;
	enum ipg_line_kind kind;
	enum value_kind value;
	const char *expected;
	bool once;
	unsigned where;
	int (*parse)(struct parse_ctx *p, struct ipg_config *c,
		     const struct line_toks *lt);
};

/* In the order the "unknown setting" message lists them. */
static const struct keyword keywords[] = {
	{ "interface", IPG_LINE_INTERFACE, V_LIST, "an interface name", false,
	  AT_TOP, parse_interface },
	{ "address", IPG_LINE_ADDRESS, V_LIST, "an address", false, IN_LIST,
	  ipg_cfg_parse_address },
	{ "enabled", IPG_LINE_ENABLED, V_ONE, "yes or no", true,
	  AT_TOP | IN_LIST, parse_enabled },
	{ "protect", IPG_LINE_PROTECT, V_LIST, "tcp/PORT or udp/PORT", false,
	  AT_TOP | IN_LIST, parse_protect },
	{ "max-entries", IPG_LINE_MAX_ENTRIES, V_ONE, "a number", true,
	  AT_TOP | IN_LIST, parse_max_entries },
	{ "mode", IPG_LINE_MODE, V_ONE, "drop, reject or shadow", true,
	  AT_TOP | IN_LIST, parse_mode },
	{ "override-max", IPG_LINE_OVERRIDE_MAX, V_ONE,
	  "a duration such as 24h", true, AT_TOP | IN_LIST,
	  parse_override_max },
	{ "breakglass-port", IPG_LINE_BREAKGLASS_PORT, V_ONE,
	  "a UDP port or off", true, AT_TOP, parse_breakglass_port },
	{ "http-listen", IPG_LINE_HTTP_LISTEN, V_ONE, "ADDRESS:PORT or off",
	  true, AT_TOP, ipg_cfg_parse_http_listen },
	{ "http-tls-cert", IPG_LINE_HTTP_TLS_CERT, V_ONE, "a PEM file", true,
	  AT_TOP, ipg_cfg_parse_http_tls },
	{ "http-tls-key", IPG_LINE_HTTP_TLS_KEY, V_ONE, "a PEM file", true,
	  AT_TOP, ipg_cfg_parse_http_tls },
	{ "http-trusted-proxy", IPG_LINE_HTTP_PROXY, V_LIST,
	  "an address or CIDR", false, AT_TOP, ipg_cfg_parse_http_proxy },
	{ "metrics-public", IPG_LINE_METRICS_PUBLIC, V_ONE, "yes or no", true,
	  AT_TOP, ipg_cfg_parse_metrics_public },
	{ "http-public-url", IPG_LINE_HTTP_URL, V_ONE, "an http(s):// URL",
	  true, AT_TOP, ipg_cfg_parse_http_url },
	{ "blocked-log", IPG_LINE_BLOCKED_LOG, V_ONE,
	  "reports a second, or off", true, AT_TOP, parse_blocked_log },
	{ "chain", IPG_LINE_CHAIN, V_ONE, "a pinned XDP program's path or off",
	  true, AT_TOP, parse_chain },
	{ "store", IPG_LINE_STORE, V_LIST, "etcd URL[,URL...] or off", true,
	  AT_TOP, ipg_cfg_parse_store },
	{ "store-prefix", IPG_LINE_STORE_PREFIX, V_ONE, "a key prefix", true,
	  AT_TOP, ipg_cfg_parse_store_prefix },
	{ "store-ca", IPG_LINE_STORE_CA, V_ONE, "a PEM file", true, AT_TOP,
	  ipg_cfg_parse_store_file },
	{ "store-cert", IPG_LINE_STORE_CERT, V_ONE, "a PEM file", true, AT_TOP,
	  ipg_cfg_parse_store_file },
	{ "store-key", IPG_LINE_STORE_KEY, V_ONE, "a PEM file", true, AT_TOP,
	  ipg_cfg_parse_store_file },
	{ "store-user", IPG_LINE_STORE_USER, V_ONE, "a user name", true, AT_TOP,
	  ipg_cfg_parse_store_name },
	{ "store-password-file", IPG_LINE_STORE_PASSWORD, V_ONE, "a file", true,
	  AT_TOP, ipg_cfg_parse_store_file },
	{ "store-host", IPG_LINE_STORE_HOST, V_ONE, "this host's name", true,
	  AT_TOP, ipg_cfg_parse_store_name },
	{ "allow", IPG_LINE_ALLOW, V_CIDR_LABEL, "an address or CIDR", false,
	  AT_TOP | IN_LIST, parse_allow },
	{ "list", IPG_LINE_LIST, V_LIST, "a list name", false, AT_TOP,
	  ipg_cfg_parse_list },
	{ "include", IPG_LINE_INCLUDE, V_ONE, "a file name or pattern", false,
	  AT_TOP, ipg_cfg_parse_include },
	{ "}", IPG_LINE_LIST_END, V_NONE, "", false, IN_LIST,
	  ipg_cfg_parse_list_end },
};
#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* Fails naming @t as an unknown keyword and listing those that may stand
 * where it does. */
static int unknown_keyword(struct parse_ctx *p, const struct tok *t)
{
	unsigned here = p->s->list ? IN_LIST : AT_TOP;
	const char *names[N_KEYWORDS];
	char list[N_KEYWORDS * 24];
	size_t at = 0, n = 0;

	for (size_t i = 0; i < N_KEYWORDS; i++)
		if (keywords[i].where & here)
			names[n++] = keywords[i].name;
	for (size_t i = 0; i < n && at < sizeof(list); i++)
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s",
				       !i	 ? "" :
				       i + 1 < n ? ", " :
						   " or ",
				       names[i]);
	return fail_at(p, t->col, "unknown setting \"%s\"; expected %s", t->val,
		       list);
}

/* Fails for keyword @k, which may not stand where it does. */
static int wrong_place(struct parse_ctx *p, const struct keyword *k,
		       const struct tok *t)
{
	const struct ipg_config_list *l = p->s->list;

	if (l && k->kind == IPG_LINE_LIST)
		return fail_at(p, t->col,
			       "list blocks do not nest: list %s (line %d) is "
			       "still open; close it with a } line first",
			       l->name, l->line);
	if (l)
		return fail_at(p, t->col,
			       "%s is not a list setting and cannot stand "
			       "inside list %s (line %d); put it at the top "
			       "level of %s",
			       k->name, l->name, l->line, p->main_name);
	if (k->kind == IPG_LINE_LIST_END)
		return fail_at(p, t->col, "} without a list block to close");
	if (p->file >= 0 && k->kind == IPG_LINE_INCLUDE)
		return fail_at(p, t->col,
			       "includes do not nest: an included file holds "
			       "list blocks only");
	if (p->file >= 0)
		return fail_at(p, t->col,
			       "%s cannot stand at the top level of an "
			       "included file, which holds list blocks only; "
			       "top-level settings belong in %s",
			       k->name, p->main_name);
	return fail_at(p, t->col,
		       "%s stands only inside a list block (list NAME { ... "
		       "}); the top-level list guards every destination no "
		       "list claims",
		       k->name);
}

/* Parses one line into @c (an allow line's entry into p->prefix); returns
 * its kind or a negative errno. */
static int parse_line(struct parse_ctx *p, struct ipg_config *c,
		      const char *text)
{
	static const int max_words[] = {
		[V_NONE] = 0, [V_ONE] = 1, [V_LIST] = -1, [V_CIDR_LABEL] = 4
	};
	const struct keyword *k = NULL;
	struct line_toks lt;
	unsigned here;
	int r;

	r = ipg_cfg_tokenize(p, text, &lt);
	if (r)
		return r;
	if (lt.n == 0)
		return IPG_LINE_OTHER;
	for (size_t i = 0; i < N_KEYWORDS && !k; i++)
		if (!strcmp(lt.t[0].val, keywords[i].name) && !lt.t[0].quoted)
			k = &keywords[i];
	if (!k)
		return unknown_keyword(p, &lt.t[0]);
	here = p->s->list ? IN_LIST : AT_TOP;
	if (!(k->where & here) ||
	    (p->file >= 0 && !p->s->list && k->kind != IPG_LINE_LIST))
		return wrong_place(p, k, &lt.t[0]);
	r = expect_args(p, &lt, k->value == V_NONE ? 0 : 1, max_words[k->value],
			k->expected);
	if (!r && k->once)
		r = once(p, k->kind, k->name);
	if (!r)
		r = k->parse(p, c, &lt);
	return r ? r : (int)k->kind;
}

static void config_reset(struct ipg_config *c)
{
	memset(c, 0, sizeof(*c));
	ipg_policy_init(&c->policy);
	c->override_max_s = IPG_OVERRIDE_MAX_DEFAULT_S;
	c->breakglass_port = IPG_BREAKGLASS_PORT_DEFAULT;
	c->blocked_budget = IPG_BLOCKED_BUDGET_DEFAULT;
	snprintf(c->store.prefix, sizeof(c->store.prefix), "%s",
		 IPG_STORE_PREFIX_DEFAULT);
}

/* Notes each entry of @s that lies inside another; @list names the list. */
static void find_nesting(struct ipg_config *c, const struct ipg_policy_spec *s,
			 const char *list)
{
	char a[IPG_PREFIX_STRLEN], b[IPG_PREFIX_STRLEN];

	for (uint32_t i = 0; i < s->n_entries; i++) {
		const struct ipg_prefix *in = &s->entries[i].prefix;

		for (uint32_t j = 0; j < s->n_entries; j++) {
			const struct ipg_prefix *out = &s->entries[j].prefix;

			/* Entries are distinct: only a shorter one can hold
			 * another (checked first: 1,000 lists of 50). */
			if (out->len >= in->len || out->family != in->family ||
			    !ipg_prefix_contains(out, in))
				continue;
			ipg_prefix_format(in, a, sizeof(a));
			ipg_prefix_format(out, b, sizeof(b));
			ipg_cfg_warn(c, "%s%s%s%s lies inside %s",
				     list ? "list " : "", list ? list : "",
				     list ? ": " : "", a, b);
			break;
		}
	}
}

/* Files line @buf, of kind @kind, where it belongs: a block's first line
 * also stands for the whole block in its file. */
static int file_line(struct parse_ctx *p, struct ipg_config *c, int kind,
		     const char *buf)
{
	struct ipg_config_line **lines;
	int *n, r;

	if (kind == IPG_LINE_LIST) {
		p->s = &p->top;
		scope_lines(p, c, &lines, &n);
		p->s = &p->blk;
		r = ipg_config_insert_line(lines, n, *n, IPG_LINE_BLOCK, NULL,
					   0, NULL);
		if (r)
			return r;
		(*lines)[*n - 1].list = p->blk.list;
		lines = &p->blk.list->lines;
		n = &p->blk.list->n_lines;
	} else if (kind == IPG_LINE_LIST_END) {
		lines = &p->blk.list->lines;
		n = &p->blk.list->n_lines;
	} else {
		scope_lines(p, c, &lines, &n);
	}
	return ipg_config_insert_line(
		lines, n, *n, (enum ipg_line_kind)kind, buf, strlen(buf),
		kind == IPG_LINE_ALLOW ? &p->prefix : NULL);
}

/* Parses the line of @len bytes at @s (the next one, numbered in @p) and
 * appends it to @c. */
static int add_line(struct parse_ctx *p, struct ipg_config *c, const char *s,
		    size_t len)
{
	char buf[1024];
	int kind, r;

	p->line++;
	if (len >= sizeof(buf))
		return fail_at(p, 1, "line longer than %zu characters",
			       sizeof(buf) - 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[len - 1] = '\0';
	kind = parse_line(p, c, buf);
	if (kind < 0)
		return kind;
	r = file_line(p, c, kind, buf);
	if (r)
		return ipg_fail(p->e, r, "%s: out of memory", p->name);
	return 0;
}

int ipg_cfg_parse_text(struct parse_ctx *p, struct ipg_config *c,
		       const char *text)
{
	const char *s = text;
	int r = 0;

	while (*s && !r) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		r = add_line(p, c, s, len);
		s += len + (nl ? 1 : 0);
	}
	if (!r && p->s->list) {
		p->line = p->s->list->line;
		r = fail_at(p, 1,
			    "list %s is not closed; expected a line with } "
			    "before the end of the file",
			    p->s->list->name);
	}
	return r;
}

/* Checks what only the whole file tells: the entry count against
 * max-entries, which may come after the entries, and the break-glass port
 * against the protected ports. */
static int check_whole(struct parse_ctx *p, struct ipg_config *c)
{
	uint32_t max = p->top.max_entries;

	p->name = p->main_name;
	if (c->policy.n_entries > max) {
		int n = 0;

		for (int l = 0; l < c->n_lines; l++)
			if (c->lines[l].kind == IPG_LINE_ALLOW &&
			    ++n == (int)max + 1)
				p->line = ipg_config_line_no(c->lines, l);
		return fail_at(p, 1,
			       "%u entries, more than max-entries (%u); "
			       "remove some or raise max-entries",
			       c->policy.n_entries, max);
	}
	c->policy.max_entries = max;
	/* The break-glass port must stay reachable by everyone. */
	if (c->breakglass_port &&
	    ipg_policy_port_protected(&c->policy.ports, IPPROTO_UDP,
				      c->breakglass_port)) {
		p->line = p->breakglass_line ? p->breakglass_line : 1;
		return fail_at(p, p->breakglass_col ? p->breakglass_col : 1,
			       "the break-glass port udp/%u is protected; set "
			       "breakglass-port to another port, or off",
			       c->breakglass_port);
	}
	return 0;
}

int ipg_cfg_parse_all(struct ipg_config *c, const char *text, const char *name,
		      const struct include_src *src, struct ipg_error *e)
{
	struct parse_ctx p = {
		.name = name, .main_name = name, .file = -1, .e = e, .src = src
	};
	int r;

	config_reset(c);
	p.top.spec = &c->policy;
	p.top.override_max_s = &c->override_max_s;
	p.top.max_entries = IPG_ENTRIES_DEFAULT;
	p.s = &p.top;
	/* Count against max-entries once it is known: it may come last. */
	c->policy.max_entries = IPG_RULES_MAX;
	r = ipg_cfg_parse_text(&p, c, text);
	if (!r)
		r = check_whole(&p, c);
	if (!r)
		r = ipg_cfg_check_http(&p, c);
	if (!r)
		r = ipg_cfg_check_store(&p, c);
	if (!r)
		r = ipg_cfg_lists_finish(&p, c);
	free(p.claims);
	if (r) {
		ipg_config_free(c);
		config_reset(c);
		return r;
	}
	find_nesting(c, &c->policy, NULL);
	for (int i = 0; i < c->n_lists; i++)
		find_nesting(c, &c->lists[i]->policy, c->lists[i]->name);
	return 0;
}

int ipg_config_parse(struct ipg_config *c, const char *text, const char *name,
		     struct ipg_error *e)
{
	const struct include_src disk = { .mode = INCLUDE_DISK };

	return ipg_cfg_parse_all(c, text, name, &disk, e);
}

int ipg_config_parse_texts(struct ipg_config *c, const char *text,
			   const char *name,
			   const struct ipg_config_text *files, int n_files,
			   struct ipg_error *e)
{
	const struct include_src mem = { .mode = INCLUDE_TEXTS,
					 .texts = files,
					 .n = n_files };

	return ipg_cfg_parse_all(c, text, name, &mem, e);
}

int ipg_config_load(struct ipg_config *c, const char *path, struct ipg_error *e)
{
	struct ipg_buf b = { 0 };
	int r;

	r = ipg_read_file(path, 16u << 20, &b);
	if (!r && strlen(b.s) != b.len)
		r = ipg_fail(e, -EINVAL, "%s: NUL byte in the file", path);
	else if (r == -EFBIG)
		ipg_fail(e, r, "%s: larger than 16 MiB", path);
	else if (r == -ENOENT || r == -EACCES)
		ipg_fail(e, r, "cannot open %s: %s", path, strerror(-r));
	else if (r)
		ipg_fail(e, r, "cannot read %s: %s", path, strerror(-r));
	if (r)
		config_reset(c);
	else
		r = ipg_config_parse(c, b.s, path, e);
	ipg_buf_free(&b);
	return r;
}

const char *ipg_config_line_comment(const struct ipg_config_line *l)
{
	struct parse_ctx p = { .name = "", .e = NULL };
	struct line_toks lt;

	if (!l->text || ipg_cfg_tokenize(&p, l->text, &lt) || lt.comment_at < 0)
		return "";
	return l->text + lt.comment_at;
}
