// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

#define TOKENS_MAX 64
#define OVERRIDE_CAP_S (7 * 24 * 3600)

struct tok {
	int col; /* 1-based column of the token's first character */
	char val[IPG_LABEL_MAX + 8];
	bool quoted;
};

struct line_toks {
	struct tok t[TOKENS_MAX];
	int n;
	int comment_at; /* offset of the comment's '#', or -1 */
};

struct parse_ctx {
	const char *name;
	int line;
	struct ipg_error *e;
	int seen[IPG_LINE_ALLOW + 1]; /* line of each single-valued setting */
	uint32_t max_entries; /* applied once all entries are read */
	int breakglass_line, breakglass_col;
};

static int fail_at(struct parse_ctx *p, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct parse_ctx *p, int col, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ipg_fail(p->e, -EINVAL, "%s:%d:%d: %s", p->name, p->line, col,
			msg);
}

/* Splits @s into tokens: bare words, or "quoted strings" with \" and \\;
 * a '#' at the start of a token begins a comment. */
static int tokenize(struct parse_ctx *p, const char *s, struct line_toks *lt)
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

static int once(struct parse_ctx *p, enum ipg_line_kind k, const char *what)
{
	if (p->seen[k])
		return fail_at(p, 1, "%s is already set on line %d", what,
			       p->seen[k]);
	p->seen[k] = p->line;
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

static int parse_port(struct parse_ctx *p, const struct tok *t,
		      struct ipg_policy_spec *s)
{
	uint16_t port;
	int proto, r = ipg_port_parse(t->val, &proto, &port);

	if (r == -EPROTONOSUPPORT)
		return fail_at(p, t->col,
			       "\"%s\" is not a port; expected tcp/PORT or "
			       "udp/PORT, e.g. tcp/443",
			       t->val);
	if (r)
		return fail_at(
			p, t->col + 4,
			"\"%s\" is not a port number; expected 1 to 65535",
			t->val + 4);
	return ipg_policy_set_port(s, proto, port, true);
}

static int parse_bool(struct parse_ctx *p, const struct tok *t, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on" };
	static const char *const no[] = { "no", "false", "off" };

	for (int i = 0; i < 3; i++) {
		if (!strcmp(t->val, yes[i]))
			return *out = true, 0;
		if (!strcmp(t->val, no[i]))
			return *out = false, 0;
	}
	return fail_at(p, t->col, "\"%s\" is not yes or no", t->val);
}

static int parse_allow(struct parse_ctx *p, struct ipg_config *c,
		       const struct line_toks *lt, struct ipg_prefix *out)
{
	struct ipg_error pe = { { 0 } };
	const struct tok *t = &lt->t[1];
	int r, idx;

	r = expect_args(p, lt, 1, 2, "an address or CIDR");
	if (r)
		return r;
	if (ipg_prefix_parse(t->val, out, &pe))
		return fail_at(p, t->col, "%s", pe.msg);
	idx = ipg_policy_find(&c->policy, out);
	if (idx >= 0) {
		for (int l = 0; l < c->n_lines; l++)
			if (c->lines[l].kind == IPG_LINE_ALLOW &&
			    ipg_prefix_equal(&c->lines[l].prefix, out))
				return fail_at(
					p, t->col,
					"%s is already allowed on line %d",
					t->val, l + 1);
	}
	if (lt->n == 3 && strlen(lt->t[2].val) >= IPG_LABEL_MAX)
		return fail_at(p, lt->t[2].col,
			       "label longer than %d characters",
			       IPG_LABEL_MAX - 1);
	if (lt->n == 3 && ipg_label_check(lt->t[2].val, &pe))
		return fail_at(p, lt->t[2].col, "%s", pe.msg);
	r = ipg_policy_add(&c->policy, out, lt->n == 3 ? lt->t[2].val : NULL,
			   &pe);
	if (r)
		return fail_at(p, t->col, "%s", pe.msg);
	return 0;
}

/* Parses one line into @c; returns its kind or a negative errno. */
static int parse_line(struct parse_ctx *p, struct ipg_config *c,
		      const char *text, struct ipg_prefix *prefix)
{
	struct line_toks lt;
	const char *kw;
	int r;

	r = tokenize(p, text, &lt);
	if (r)
		return r;
	if (lt.n == 0)
		return IPG_LINE_OTHER;
	kw = lt.t[0].val;

	if (!strcmp(kw, "interface")) {
		r = expect_args(p, &lt, 1, -1, "an interface name");
		for (int i = 1; !r && i < lt.n; i++) {
			const struct tok *t = &lt.t[i];

			if (strlen(t->val) >= IF_NAMESIZE ||
			    strchr(t->val, '/'))
				return fail_at(
					p, t->col,
					"\"%s\" is not an interface name",
					t->val);
			for (int j = 0; j < c->n_interfaces; j++)
				if (!strcmp(c->interfaces[j], t->val))
					return fail_at(
						p, t->col,
						"interface %s is listed twice",
						t->val);
			if (c->n_interfaces == IPG_IFACES_MAX)
				return fail_at(p, t->col,
					       "more than %d interfaces",
					       IPG_IFACES_MAX);
			strcpy(c->interfaces[c->n_interfaces++], t->val);
		}
		return r ? r : IPG_LINE_INTERFACE;
	}
	if (!strcmp(kw, "enabled")) {
		bool on = false;

		r = expect_args(p, &lt, 1, 1, "yes or no");
		if (!r)
			r = once(p, IPG_LINE_ENABLED, "enabled");
		if (!r)
			r = parse_bool(p, &lt.t[1], &on);
		if (!r)
			c->policy.kern.enabled = on;
		return r ? r : IPG_LINE_ENABLED;
	}
	if (!strcmp(kw, "protect")) {
		r = expect_args(p, &lt, 1, -1, "tcp/PORT or udp/PORT");
		for (int i = 1; !r && i < lt.n; i++)
			r = parse_port(p, &lt.t[i], &c->policy);
		return r ? r : IPG_LINE_PROTECT;
	}
	if (!strcmp(kw, "max-entries")) {
		unsigned long v;
		char *end;

		r = expect_args(p, &lt, 1, 1, "a number");
		if (!r)
			r = once(p, IPG_LINE_MAX_ENTRIES, "max-entries");
		if (r)
			return r;
		v = strtoul(lt.t[1].val, &end, 10);
		if (!isdigit((unsigned char)lt.t[1].val[0]) || *end || v < 1 ||
		    v > IPG_RULES_MAX)
			return fail_at(p, lt.t[1].col,
				       "\"%s\" is not a valid max-entries; "
				       "expected 1 to %d",
				       lt.t[1].val, IPG_RULES_MAX);
		p->max_entries = (uint32_t)v;
		return IPG_LINE_MAX_ENTRIES;
	}
	if (!strcmp(kw, "mode")) {
		r = expect_args(p, &lt, 1, 1, "drop or reject");
		if (!r)
			r = once(p, IPG_LINE_MODE, "mode");
		if (r)
			return r;
		if (!strcmp(lt.t[1].val, "drop"))
			c->policy.kern.mode = IPG_MODE_DROP;
		else if (!strcmp(lt.t[1].val, "reject"))
			c->policy.kern.mode = IPG_MODE_REJECT;
		else
			return fail_at(p, lt.t[1].col,
				       "\"%s\" is not a mode; expected drop or "
				       "reject",
				       lt.t[1].val);
		return IPG_LINE_MODE;
	}
	if (!strcmp(kw, "override-max")) {
		uint32_t s;

		r = expect_args(p, &lt, 1, 1, "a duration such as 24h");
		if (!r)
			r = once(p, IPG_LINE_OVERRIDE_MAX, "override-max");
		if (r)
			return r;
		if (ipg_duration_parse(lt.t[1].val, &s) || s > OVERRIDE_CAP_S)
			return fail_at(p, lt.t[1].col,
				       "\"%s\" is not a duration up to 7d; "
				       "expected e.g. 30m, 2h, 24h",
				       lt.t[1].val);
		c->override_max_s = s;
		return IPG_LINE_OVERRIDE_MAX;
	}
	if (!strcmp(kw, "breakglass-port")) {
		unsigned long v;
		char *end;

		r = expect_args(p, &lt, 1, 1, "a UDP port or off");
		if (!r)
			r = once(p, IPG_LINE_BREAKGLASS_PORT,
				 "breakglass-port");
		if (r)
			return r;
		if (!strcmp(lt.t[1].val, "off")) {
			c->breakglass_port = 0;
			return IPG_LINE_BREAKGLASS_PORT;
		}
		v = strtoul(lt.t[1].val, &end, 10);
		if (!isdigit((unsigned char)lt.t[1].val[0]) || *end || v < 1 ||
		    v > 65535 || lt.t[1].val[0] == '0')
			return fail_at(p, lt.t[1].col,
				       "\"%s\" is not a port; expected 1 to "
				       "65535 or off",
				       lt.t[1].val);
		c->breakglass_port = (uint16_t)v;
		p->breakglass_col = lt.t[1].col;
		p->breakglass_line = p->line;
		return IPG_LINE_BREAKGLASS_PORT;
	}
	if (!strcmp(kw, "allow")) {
		r = parse_allow(p, c, &lt, prefix);
		return r ? r : IPG_LINE_ALLOW;
	}
	return fail_at(p, lt.t[0].col,
		       "unknown setting \"%s\"; expected interface, enabled, "
		       "protect, max-entries, mode, override-max, "
		       "breakglass-port or allow",
		       kw);
}

static void config_reset(struct ipg_config *c)
{
	memset(c, 0, sizeof(*c));
	ipg_policy_init(&c->policy);
	c->override_max_s = IPG_OVERRIDE_MAX_DEFAULT_S;
	c->breakglass_port = IPG_BREAKGLASS_PORT_DEFAULT;
}

static int push_line(struct ipg_config *c, int at, enum ipg_line_kind kind,
		     const char *text, size_t len,
		     const struct ipg_prefix *prefix)
{
	struct ipg_config_line *lines, *l;

	lines = realloc(c->lines, sizeof(*lines) * (size_t)(c->n_lines + 1));
	if (!lines)
		return -ENOMEM;
	c->lines = lines;
	memmove(&lines[at + 1], &lines[at],
		sizeof(*lines) * (size_t)(c->n_lines - at));
	l = &lines[at];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->text = strndup(text, len);
	if (!l->text) {
		memmove(&lines[at], &lines[at + 1],
			sizeof(*lines) * (size_t)(c->n_lines - at));
		return -ENOMEM;
	}
	if (prefix)
		l->prefix = *prefix;
	c->n_lines++;
	return 0;
}

static void find_nesting(struct ipg_config *c)
{
	const struct ipg_policy_spec *s = &c->policy;
	char a[IPG_PREFIX_STRLEN], b[IPG_PREFIX_STRLEN];

	for (uint32_t i = 0; i < s->n_entries; i++) {
		for (uint32_t j = 0; j < s->n_entries; j++) {
			if (i == j ||
			    !ipg_prefix_contains(&s->entries[j].prefix,
						 &s->entries[i].prefix))
				continue;
			if (c->n_warnings < 4) {
				ipg_prefix_format(&s->entries[i].prefix, a,
						  sizeof(a));
				ipg_prefix_format(&s->entries[j].prefix, b,
						  sizeof(b));
				snprintf(c->warnings[c->n_warnings],
					 sizeof(c->warnings[0]),
					 "%s lies inside %s", a, b);
			}
			c->n_warnings++;
			break;
		}
	}
}

int ipg_config_parse(struct ipg_config *c, const char *text, const char *name,
		     struct ipg_error *e)
{
	struct parse_ctx p = { .name = name,
			       .e = e,
			       .max_entries = IPG_ENTRIES_DEFAULT };
	const char *s = text;
	int r = 0;

	config_reset(c);
	/* Count against max-entries once it is known: it may come last. */
	c->policy.max_entries = IPG_RULES_MAX;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char buf[1024];
		struct ipg_prefix prefix;
		int kind;

		p.line++;
		if (len >= sizeof(buf)) {
			r = fail_at(&p, 1, "line longer than %zu characters",
				    sizeof(buf) - 1);
			break;
		}
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (len && buf[len - 1] == '\r')
			buf[len - 1] = '\0';
		kind = parse_line(&p, c, buf, &prefix);
		if (kind < 0) {
			r = kind;
			break;
		}
		r = push_line(c, c->n_lines, kind, buf, strlen(buf),
			      kind == IPG_LINE_ALLOW ? &prefix : NULL);
		if (r) {
			r = ipg_fail(e, r, "%s: out of memory", name);
			break;
		}
		s += len + (nl ? 1 : 0);
	}
	if (!r) {
		uint32_t max = p.max_entries;

		if (c->policy.n_entries > max) {
			int n = 0;

			for (int l = 0; l < c->n_lines; l++)
				if (c->lines[l].kind == IPG_LINE_ALLOW &&
				    ++n == (int)max + 1)
					p.line = l + 1;
			r = fail_at(&p, 1,
				    "%u entries, more than max-entries (%u); "
				    "remove some or raise max-entries",
				    c->policy.n_entries, max);
		}
		c->policy.max_entries = max;
	}
	/* The break-glass port must stay reachable by everyone. */
	if (!r && c->breakglass_port &&
	    ipg_policy_port_protected(&c->policy.kern, IPPROTO_UDP,
				      c->breakglass_port)) {
		p.line = p.breakglass_line ? p.breakglass_line : 1;
		r = fail_at(&p, p.breakglass_col ? p.breakglass_col : 1,
			    "the break-glass port udp/%u is protected; set "
			    "breakglass-port to another port, or off",
			    c->breakglass_port);
	}
	if (r) {
		ipg_config_free(c);
		config_reset(c);
		return r;
	}
	find_nesting(c);
	return 0;
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

void ipg_config_free(struct ipg_config *c)
{
	for (int i = 0; i < c->n_lines; i++)
		free(c->lines[i].text);
	free(c->lines);
	c->lines = NULL;
	c->n_lines = 0;
}

char *ipg_config_render(const struct ipg_config *c)
{
	size_t len = 1, at = 0;
	char *out;

	for (int i = 0; i < c->n_lines; i++)
		len += strlen(c->lines[i].text) + 1;
	out = malloc(len);
	if (!out)
		return NULL;
	for (int i = 0; i < c->n_lines; i++) {
		size_t n = strlen(c->lines[i].text);

		memcpy(out + at, c->lines[i].text, n);
		at += n;
		out[at++] = '\n';
	}
	out[at] = '\0';
	return out;
}

int ipg_config_writable(const char *path, struct ipg_error *e)
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct statvfs vfs;
	struct stat st;
	ssize_t n;

	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		return ipg_fail(e, -EROFS,
				"%s is a symbolic link (to %s): the config is "
				"managed elsewhere (a ConfigMap, a package, "
				"configuration management); change it there, "
				"and ipgated applies it when the file changes",
				path, n > 0 ? target : "?");
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (!statvfs(dirname(dir), &vfs) && (vfs.f_flag & ST_RDONLY))
		return ipg_fail(e, -EROFS,
				"%s is on a read-only mount: the config is "
				"managed elsewhere; change it there, and "
				"ipgated applies it when the file changes",
				path);
	return 0;
}

int ipg_config_save(const struct ipg_config *c, const char *path,
		    struct ipg_error *e)
{
	char *text = ipg_config_render(c);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_write_atomic_keep(path, text, strlen(text), 0644);
	free(text);
	if (r)
		return ipg_fail(e, r, "cannot write %s: %s", path,
				strerror(-r));
	return 0;
}

/* ---- edits ---- */

static int replace_text(struct ipg_config_line *l, const char *text)
{
	char *t = strdup(text);

	if (!t)
		return -ENOMEM;
	free(l->text);
	l->text = t;
	return 0;
}

/* The comment of line @l ("# ..."), or "" */
static const char *line_comment(const struct ipg_config_line *l)
{
	struct parse_ctx p = { .name = "", .e = NULL };
	struct line_toks lt;

	if (tokenize(&p, l->text, &lt) || lt.comment_at < 0)
		return "";
	return l->text + lt.comment_at;
}

int ipg_config_set_enabled(struct ipg_config *c, bool enabled,
			   struct ipg_error *e)
{
	char text[1200];
	int at = -1, r;

	for (int i = 0; i < c->n_lines; i++)
		if (c->lines[i].kind == IPG_LINE_ENABLED)
			at = i;
	if (at >= 0) {
		const char *cm = line_comment(&c->lines[at]);

		snprintf(text, sizeof(text), "enabled %s%s%s",
			 enabled ? "yes" : "no", *cm ? "  " : "", cm);
		r = replace_text(&c->lines[at], text);
	} else {
		int before = c->n_lines;

		for (int i = c->n_lines - 1; i >= 0; i--)
			if (c->lines[i].kind == IPG_LINE_ALLOW)
				before = i;
		r = push_line(c, before, IPG_LINE_ENABLED,
			      enabled ? "enabled yes" : "enabled no",
			      enabled ? 11 : 10, NULL);
	}
	if (r)
		return ipg_fail(e, r, "out of memory");
	c->policy.kern.enabled = enabled;
	return 0;
}

/* Writes @label as a bare word when it can be one, else quoted. */
static void format_label(const char *label, char *out, size_t size)
{
	bool bare = *label && *label != '"' && *label != '#';
	size_t n = 0;

	for (const char *s = label; *s; s++)
		if (*s == ' ' || *s == '\t')
			bare = false;
	if (bare) {
		snprintf(out, size, "%s", label);
		return;
	}
	out[n++] = '"';
	for (const char *s = label; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
}

int ipg_config_add(struct ipg_config *c, const struct ipg_prefix *p,
		   const char *label, struct ipg_error *e)
{
	char text[256], cidr[IPG_PREFIX_STRLEN], lab[IPG_LABEL_MAX * 2 + 4];
	int at = c->n_lines, r;

	r = ipg_policy_add(&c->policy, p, label, e);
	if (r)
		return r;
	for (int i = 0; i < c->n_lines; i++)
		if (c->lines[i].kind == IPG_LINE_ALLOW)
			at = i + 1;
	ipg_prefix_format(p, cidr, sizeof(cidr));
	if (label && *label) {
		format_label(label, lab, sizeof(lab));
		snprintf(text, sizeof(text), "allow %-18s %s", cidr, lab);
	} else {
		snprintf(text, sizeof(text), "allow %s", cidr);
	}
	r = push_line(c, at, IPG_LINE_ALLOW, text, strlen(text), p);
	if (r) {
		c->policy.n_entries--;
		return ipg_fail(e, r, "out of memory");
	}
	return 0;
}

int ipg_config_remove(struct ipg_config *c, const struct ipg_prefix *p,
		      struct ipg_error *e)
{
	int idx = ipg_policy_find(&c->policy, p);
	char cidr[IPG_PREFIX_STRLEN];

	if (idx < 0) {
		ipg_prefix_format(p, cidr, sizeof(cidr));
		return ipg_fail(e, -ENOENT, "%s is not in the list", cidr);
	}
	for (int i = 0; i < c->n_lines; i++) {
		if (c->lines[i].kind != IPG_LINE_ALLOW ||
		    !ipg_prefix_equal(&c->lines[i].prefix, p))
			continue;
		free(c->lines[i].text);
		memmove(&c->lines[i], &c->lines[i + 1],
			sizeof(c->lines[0]) * (size_t)(c->n_lines - i - 1));
		c->n_lines--;
		break;
	}
	memmove(&c->policy.entries[idx], &c->policy.entries[idx + 1],
		sizeof(c->policy.entries[0]) *
			(c->policy.n_entries - (uint32_t)idx - 1));
	c->policy.n_entries--;
	return 0;
}

int ipg_config_clone(struct ipg_config *dst, const struct ipg_config *src,
		     struct ipg_error *e)
{
	char *text = ipg_config_render(src);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_config_parse(dst, text, "config", e);
	free(text);
	if (!r)
		ipg_policy_keep_ids(&dst->policy, src->policy.entries,
				    src->policy.n_entries);
	return r;
}

/* ---- differences ---- */

/* Appends the protected ports of @proto as "tcp/443 tcp/8000-8080". */
static void format_ports(struct ipg_buf *b, const struct ipg_policy *k,
			 int proto, const char *name, bool *first)
{
	for (uint32_t p = 1; p <= 65535; p++) {
		uint32_t q = p;

		if (!ipg_policy_port_protected(k, proto, (uint16_t)p))
			continue;
		while (q < 65535 &&
		       ipg_policy_port_protected(k, proto, (uint16_t)(q + 1)))
			q++;
		ipg_buf_printf(b, "%s%s/%u", *first ? "" : " ", name, p);
		if (q > p)
			ipg_buf_printf(b, "-%u", q);
		*first = false;
		p = q;
	}
}

void ipg_config_ports(const struct ipg_policy *k, struct ipg_buf *b)
{
	bool first = true;

	format_ports(b, k, IPPROTO_TCP, "tcp", &first);
	format_ports(b, k, IPPROTO_UDP, "udp", &first);
	if (first)
		ipg_buf_printf(b, "none");
}

static void format_ifaces(const struct ipg_config *c, struct ipg_buf *b)
{
	for (int i = 0; i < c->n_interfaces; i++)
		ipg_buf_printf(b, "%s%s", i ? " " : "", c->interfaces[i]);
	if (!c->n_interfaces)
		ipg_buf_printf(b, "none");
}

static void json_entry(struct ipg_buf *b, const struct ipg_entry *ent,
		       bool *first)
{
	char cidr[IPG_PREFIX_STRLEN];

	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	ipg_buf_printf(b, "%s{\"cidr\":\"%s\",\"label\":", *first ? "" : ",",
		       cidr);
	ipg_buf_json_str(b, ent->label);
	ipg_buf_printf(b, "}");
	*first = false;
}

static void text_entry(struct ipg_buf *b, char sign,
		       const struct ipg_entry *ent)
{
	char cidr[IPG_PREFIX_STRLEN];

	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	if (*ent->label) {
		ipg_buf_printf(b, "%c allow %-20s ", sign, cidr);
		ipg_buf_json_str(b, ent->label);
	} else {
		ipg_buf_printf(b, "%c allow %s", sign, cidr);
	}
	ipg_buf_printf(b, "\n");
}

/* One changed setting: a text line and a key in both JSON objects. */
static void setting(struct ipg_config_diff *d, const char *key, const char *old,
		    const char *new, bool quote)
{
	if (!strcmp(old, new))
		return;
	d->changes++;
	ipg_buf_printf(&d->text, "~ %s: %s -> %s\n", key, old, new);
	ipg_buf_printf(&d->before, "\"%s\":", key);
	ipg_buf_printf(&d->after, "\"%s\":", key);
	if (quote) {
		ipg_buf_json_str(&d->before, old);
		ipg_buf_json_str(&d->after, new);
	} else {
		ipg_buf_printf(&d->before, "%s", old);
		ipg_buf_printf(&d->after, "%s", new);
	}
	ipg_buf_printf(&d->before, ",");
	ipg_buf_printf(&d->after, ",");
}

/* Lists the entries of @from that @to lacks (or labels differently). */
static void diff_entries(struct ipg_config_diff *d,
			 const struct ipg_policy_spec *from,
			 const struct ipg_policy_spec *to, char sign,
			 struct ipg_buf *json)
{
	bool first = true;

	ipg_buf_printf(json, "\"entries\":[");
	for (uint32_t i = 0; i < from->n_entries; i++) {
		int j = ipg_policy_find(to, &from->entries[i].prefix);

		if (j >= 0 &&
		    !strcmp(from->entries[i].label, to->entries[j].label))
			continue;
		d->changes++;
		d->entries_changed++;
		json_entry(json, &from->entries[i], &first);
		text_entry(&d->text, sign, &from->entries[i]);
	}
}

int ipg_config_diff(const struct ipg_config *a, const struct ipg_config *b,
		    struct ipg_config_diff *d)
{
	const struct ipg_policy_spec *pa = &a->policy, *pb = &b->policy;
	struct ipg_buf x = { 0 }, y = { 0 };
	char s1[32], s2[32];

	memset(d, 0, sizeof(*d));
	ipg_buf_printf(&d->before, "{");
	ipg_buf_printf(&d->after, "{");
	setting(d, "enabled", pa->kern.enabled ? "true" : "false",
		pb->kern.enabled ? "true" : "false", false);
	setting(d, "mode", ipg_mode_name(pa->kern.mode),
		ipg_mode_name(pb->kern.mode), true);
	snprintf(s1, sizeof(s1), "%u", pa->max_entries);
	snprintf(s2, sizeof(s2), "%u", pb->max_entries);
	setting(d, "max-entries", s1, s2, false);
	snprintf(s1, sizeof(s1), "%u", a->override_max_s);
	snprintf(s2, sizeof(s2), "%u", b->override_max_s);
	setting(d, "override-max", s1, s2, false);
	snprintf(s1, sizeof(s1), "%u", a->breakglass_port);
	snprintf(s2, sizeof(s2), "%u", b->breakglass_port);
	setting(d, "breakglass-port", s1, s2, false);
	ipg_config_ports(&pa->kern, &x);
	ipg_config_ports(&pb->kern, &y);
	setting(d, "protect", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);
	format_ifaces(a, &x);
	format_ifaces(b, &y);
	setting(d, "interface", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);

	/* Entries: removed ones go in "before", added ones in "after"; a
	 * changed label counts as both. */
	diff_entries(d, pa, pb, '-', &d->before);
	diff_entries(d, pb, pa, '+', &d->after);
	ipg_buf_printf(&d->before, "],\"count\":%u}", pa->n_entries);
	ipg_buf_printf(&d->after, "],\"count\":%u}", pb->n_entries);
	if (d->text.oom || d->before.oom || d->after.oom) {
		ipg_config_diff_free(d);
		return -ENOMEM;
	}
	if (!d->text.s)
		ipg_buf_printf(&d->text, "%s", "");
	return d->text.oom ? -ENOMEM : 0;
}

void ipg_config_diff_free(struct ipg_config_diff *d)
{
	ipg_buf_free(&d->text);
	ipg_buf_free(&d->before);
	ipg_buf_free(&d->after);
}
