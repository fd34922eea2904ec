// SPDX-License-Identifier: GPL-2.0
/* The fleet store's settings in the config: etcd's endpoints, the key
 * prefix, TLS and authentication, and this host's name under hosts/.
 * Host settings: with them, the named lists live in the store. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

/* An endpoint: http:// or https://, a host (a name, an IPv4 address or
 * [IPv6]) and a port, nothing after. */
static bool endpoint_ok(const char *u)
{
	const char *h = !strncmp(u, "https://", 8) ? u + 8 :
			!strncmp(u, "http://", 7)  ? u + 7 :
						     NULL;
	const char *colon;
	char *end;
	unsigned long port;

	if (!h || !*h || strlen(u) >= IPG_HTTP_PATH_MAX)
		return false;
	for (const char *s = h; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-:[]", *s))
			return false;
	colon = strrchr(h, ':');
	if (!colon || colon == h || (*h == '[' && colon[-1] != ']'))
		return false;
	port = strtoul(colon + 1, &end, 10);
	return isdigit((unsigned char)colon[1]) && !*end && port >= 1 &&
	       port <= 65535;
}

/* store etcd URL[,URL...] | store off */
int ipg_cfg_parse_store(struct parse_ctx *p, struct ipg_config *c,
			const struct line_toks *lt)
{
	struct ipg_store_config *s = &c->store;
	const struct tok *t = &lt->t[1];
	char buf[IPG_STORE_ENDPOINTS_MAX * IPG_HTTP_PATH_MAX], *save, *u;
	int col;

	s->n_endpoints = 0;
	if (!strcmp(t->val, "off") && lt->n == 2)
		return 0;
	if (strcmp(t->val, "etcd"))
		return fail_at(p, t->col,
			       "\"%s\" is not a store; expected etcd "
			       "URL[,URL...] or off",
			       t->val);
	if (lt->n < 3)
		return fail_at(p, t->col + 4,
			       "expected etcd's client URLs after \"etcd\", "
			       "e.g. http://127.0.0.1:2379,"
			       "http://127.0.0.2:2379");
	if (lt->n > 3)
		return fail_at(p, lt->t[3].col,
			       "unexpected \"%s\"; separate the URLs with "
			       "commas, no spaces",
			       lt->t[3].val);
	t = &lt->t[2];
	snprintf(buf, sizeof(buf), "%s", t->val);
	col = t->col;
	for (u = strtok_r(buf, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		col = t->col + (int)(u - buf);
		if (!endpoint_ok(u))
			return fail_at(p, col,
				       "\"%s\" is not an etcd client URL; "
				       "expected http(s)://HOST:PORT",
				       u);
		for (int i = 0; i < s->n_endpoints; i++)
			if (!strcmp(s->endpoints[i], u))
				return fail_at(p, col, "%s is listed twice", u);
		if (s->n_endpoints == IPG_STORE_ENDPOINTS_MAX)
			return fail_at(p, col, "more than %d endpoints",
				       IPG_STORE_ENDPOINTS_MAX);
		snprintf(s->endpoints[s->n_endpoints++], IPG_HTTP_PATH_MAX,
			 "%s", u);
	}
	if (!s->n_endpoints)
		return fail_at(p, col, "no etcd URL in \"%s\"", t->val);
	p->store_line = p->line;
	return 0;
}

/* store-prefix /ipgate/: a key prefix from / to /, printable, no spaces. */
int ipg_cfg_parse_store_prefix(struct parse_ctx *p, struct ipg_config *c,
			       const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	size_t n = strlen(t->val);

	for (const char *s = t->val; *s; s++)
		if (!isgraph((unsigned char)*s) || strchr("*?[\\", *s))
			return fail_at(p, t->col + (int)(s - t->val),
				       "a store prefix is printable, without "
				       "spaces or *?[\\");
	if (n < 2 || t->val[0] != '/' || t->val[n - 1] != '/' ||
	    n >= sizeof(c->store.prefix))
		return fail_at(p, t->col,
			       "\"%s\" is not a key prefix; expected one that "
			       "starts and ends with /, e.g. /ipgate/",
			       t->val);
	memcpy(c->store.prefix, t->val, n + 1); /* n: checked */
	return 0;
}

/* store-ca, store-cert, store-key, store-password-file: absolute paths. */
int ipg_cfg_parse_store_file(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	const char *k = lt->t[0].val;
	char *dst = !strcmp(k, "store-ca")   ? c->store.ca :
		    !strcmp(k, "store-cert") ? c->store.cert :
		    !strcmp(k, "store-key")  ? c->store.key :
					       c->store.password_file;

	if (t->val[0] != '/')
		return fail_at(p, t->col,
			       "\"%s\" is not an absolute path; expected e.g. "
			       "/etc/ipgate/etcd-%s",
			       t->val, k + 6);
	if (strlen(t->val) >= IPG_HTTP_PATH_MAX)
		return fail_at(p, t->col, "path longer than %d characters",
			       IPG_HTTP_PATH_MAX - 1);
	memcpy(dst, t->val, strlen(t->val) + 1); /* fits: checked */
	return 0;
}

/* A store user or host name: letters, digits, . _ -, at most 63. */
static bool name_ok(const char *s)
{
	if (!*s || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

/* store-user NAME, store-host NAME. */
int ipg_cfg_parse_store_name(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	bool user = !strcmp(lt->t[0].val, "store-user");

	if (!name_ok(t->val))
		return fail_at(p, t->col,
			       "\"%s\" is not a %s name; expected letters, "
			       "digits, '.', '_' or '-', at most 63",
			       t->val, user ? "user" : "host");
	/* name_ok() held it to 63. */
	snprintf(user ? c->store.user : c->store.host, sizeof(c->store.user),
		 "%.63s", t->val);
	return 0;
}

int ipg_cfg_check_store(struct parse_ctx *p, struct ipg_config *c)
{
	const struct ipg_store_config *s = &c->store;
	const char *orphan = *s->ca	       ? "store-ca" :
			     *s->cert	       ? "store-cert" :
			     *s->key	       ? "store-key" :
			     *s->user	       ? "store-user" :
			     *s->password_file ? "store-password-file" :
			     strcmp(s->prefix, IPG_STORE_PREFIX_DEFAULT) ?
						 "store-prefix" :
			     *s->host ? "store-host" :
					NULL;

	p->name = p->main_name;
	p->line = p->store_line ? p->store_line : 1;
	if (!s->n_endpoints && orphan)
		return fail_at(p, 1,
			       "%s is set without store: the store settings "
			       "need \"store etcd URL[,URL...]\"",
			       orphan);
	if (!*s->cert != !*s->key)
		return fail_at(p, 1,
			       "store-%s is set without store-%s; a client "
			       "certificate needs both the certificate and its "
			       "key",
			       *s->cert ? "cert" : "key",
			       *s->cert ? "key" : "cert");
	if (!*s->user != !*s->password_file)
		return fail_at(p, 1,
			       "store-%s is set without store-%s; etcd's "
			       "authentication needs both",
			       *s->user ? "user" : "password-file",
			       *s->user ? "password-file" : "user");
	return 0;
}
