// SPDX-License-Identifier: GPL-2.0
/* The HTTP API's settings in the config: where it listens, its TLS files,
 * the proxies /v1/check believes, and whether /metrics needs a token. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

bool ipg_addr_loopback(const struct ipg_prefix *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (a->family == 4)
		return a->addr[0] == 127;
	return a->family == 6 && !memcmp(a->addr, one, 16);
}

void ipg_http_listen_format(const struct ipg_http_config *h, char *out,
			    size_t size)
{
	char a[IPG_PREFIX_STRLEN];

	if (!h->addr.family) {
		snprintf(out, size, "off");
		return;
	}
	ipg_prefix_format(&h->addr, a, sizeof(a));
	snprintf(out, size, h->addr.family == 6 ? "[%s]:%u" : "%s:%u", a,
		 h->port);
}

/* "ADDRESS:PORT", "[V6]:PORT" or "off". */
int ipg_cfg_parse_http_listen(struct parse_ctx *p, struct ipg_config *c,
			      const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	char host[IPG_PREFIX_STRLEN + 2];
	const char *colon, *h = t->val;
	struct ipg_error pe = { { 0 } };
	unsigned long port;
	size_t n;
	char *end;

	memset(&c->http.addr, 0, sizeof(c->http.addr));
	c->http.port = 0;
	if (!strcmp(t->val, "off"))
		return 0;
	colon = strrchr(t->val, ':');
	if (!colon || colon == t->val)
		return fail_at(p, t->col,
			       "\"%s\" is not ADDRESS:PORT; expected e.g. "
			       "127.0.0.1:8443, [::1]:8443 or off",
			       t->val);
	n = (size_t)(colon - h);
	if (*h == '[') {
		if (n < 2 || h[n - 1] != ']')
			return fail_at(p, t->col,
				       "\"%s\": an IPv6 address goes in "
				       "brackets, e.g. [::1]:8443",
				       t->val);
		h++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return fail_at(p, t->col, "\"%.*s\" is not an address", (int)n,
			       h);
	memcpy(host, h, n);
	host[n] = '\0';
	if (ipg_addr_parse(host, &c->http.addr, &pe))
		return fail_at(p, t->col, "%s", pe.msg);
	if (c->http.addr.family == 6 && *t->val != '[')
		return fail_at(p, t->col,
			       "\"%s\": an IPv6 address goes in brackets, "
			       "e.g. [%s]:8443",
			       t->val, host);
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || port < 1 ||
	    port > 65535 || colon[1] == '0') {
		memset(&c->http.addr, 0, sizeof(c->http.addr));
		return fail_at(p, t->col + (int)(colon - t->val) + 1,
			       "\"%s\" is not a port; expected 1 to 65535",
			       colon + 1);
	}
	c->http.port = (uint16_t)port;
	p->http_line = p->line;
	p->http_col = t->col;
	return 0;
}

/* http-tls-cert PATH / http-tls-key PATH: absolute, read at start. */
int ipg_cfg_parse_http_tls(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	bool cert = !strcmp(lt->t[0].val, "http-tls-cert");
	char *dst = cert ? c->http.tls_cert : c->http.tls_key;

	if (t->val[0] != '/')
		return fail_at(p, t->col,
			       "\"%s\" is not an absolute path; expected e.g. "
			       "/etc/ipgate/%s.pem",
			       t->val, cert ? "cert" : "key");
	if (strlen(t->val) >= IPG_HTTP_PATH_MAX)
		return fail_at(p, t->col, "path longer than %d characters",
			       IPG_HTTP_PATH_MAX - 1);
	memcpy(dst, t->val, strlen(t->val) + 1); /* fits: checked */
	return 0;
}

int ipg_cfg_parse_http_proxy(struct parse_ctx *p, struct ipg_config *c,
			     const struct line_toks *lt)
{
	for (int i = 1; i < lt->n; i++) {
		const struct tok *t = &lt->t[i];
		struct ipg_error pe = { { 0 } };
		struct ipg_prefix a;

		if (ipg_prefix_parse(t->val, &a, &pe))
			return fail_at(p, t->col, "%s", pe.msg);
		for (int j = 0; j < c->http.n_proxies; j++)
			if (ipg_prefix_equal(&c->http.proxies[j], &a))
				return fail_at(p, t->col, "%s is listed twice",
					       t->val);
		if (c->http.n_proxies == IPG_HTTP_PROXIES_MAX)
			return fail_at(p, t->col,
				       "more than %d trusted proxies",
				       IPG_HTTP_PROXIES_MAX);
		c->http.proxies[c->http.n_proxies++] = a;
	}
	return 0;
}

int ipg_cfg_parse_metrics_public(struct parse_ctx *p, struct ipg_config *c,
				 const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];

	if (ipg_cfg_yes_no(t->val, &c->http.metrics_public))
		return fail_at(p, t->col, "\"%s\" is not yes or no", t->val);
	return 0;
}

/* http-public-url URL: http:// or https://, a host, no spaces, no query,
 * no trailing slash needed. */
int ipg_cfg_parse_http_url(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	const char *host = !strncmp(t->val, "https://", 8) ? t->val + 8 :
			   !strncmp(t->val, "http://", 7)  ? t->val + 7 :
							     NULL;
	size_t n = strlen(t->val);

	if (!host || !*host || *host == '/' || strpbrk(t->val, "?#\"<> ") ||
	    n >= IPG_HTTP_PATH_MAX)
		return fail_at(p, t->col,
			       "\"%s\" is not a URL to give people; expected "
			       "e.g. https://gate.example.com:8443",
			       t->val);
	memcpy(c->http.public_url, t->val, n + 1); /* n: checked */
	while (n > 8 && c->http.public_url[n - 1] == '/')
		c->http.public_url[--n] = '\0';
	return 0;
}

int ipg_cfg_check_http(struct parse_ctx *p, struct ipg_config *c)
{
	const struct ipg_http_config *h = &c->http;

	p->name = p->main_name;
	p->line = p->http_line ? p->http_line : 1;
	if (!*h->tls_cert != !*h->tls_key)
		return fail_at(p, 1,
			       "http-tls-%s is set without http-tls-%s; TLS "
			       "needs both the certificate and its key",
			       *h->tls_cert ? "cert" : "key",
			       *h->tls_cert ? "key" : "cert");
	if (h->addr.family && !ipg_addr_loopback(&h->addr) && !*h->tls_cert)
		return fail_at(p, p->http_col ? p->http_col : 1,
			       "http-listen on a non-loopback address needs "
			       "TLS: set http-tls-cert and http-tls-key, or "
			       "listen on 127.0.0.1 or [::1] behind a proxy");
	return 0;
}
