// SPDX-License-Identifier: GPL-2.0
/* POST /v1/breakglass {"key": "ipgate-breakglass-1 ID HEX"}: the break-glass
 * page's request. The key is judged as a knock's would be (same keys,
 * revocation, scope, window, grants per source); the address let in is the
 * TCP connection's own, which its handshake proved: no field names one. */
#include "http.h"

int http_breakglass(struct hreq *h)
{
	char id[IPG_KNOCK_ID_MAX + 1];
	const char *key, *k;
	struct bg_granted g;
	struct ipg_error e;
	json_t *j, *v;
	int r;

	if (strcmp(h->method, "POST"))
		return hproblem(h, 405, NULL,
				"%s is not allowed here; use POST", h->method);
	/* Only an address whose key failed is slowed down. */
	if (hgate_blocked(h))
		return -1;
	if (hpeer_trusted(h))
		return hproblem(
			h, 403, NULL,
			"%s is an http-trusted-proxy: a grant would let "
			"the proxy in, not you; open the break-glass "
			"page on the listener directly",
			h->peer_text);
	j = hbody_object(h);
	if (!j)
		return -1;
	json_object_foreach(j, k, v)
	{
		if (strcmp(k, "key")) {
			json_decref(j);
			return hproblem(h, 422, k,
					"unknown field \"%s\"; send {\"key\": "
					"\"ipgate-breakglass-1 ID HEX\"}",
					k);
		}
	}
	key = json_string_value(json_object_get(j, "key"));
	if (!key) {
		json_decref(j);
		return hproblem(h, 422, "key",
				"paste the break-glass key, as 'ipgate "
				"breakglass keygen' printed it");
	}
	switch (bg_judge_key(h->d, key, &h->peer, id)) {
	case IPG_KNOCK_GRANTED:
		break;
	case IPG_KNOCK_RATE_LIMITED:
		json_decref(j);
		h->retry_after = IPG_KNOCK_RATE_WINDOW_S;
		return hproblem(h, 429, NULL,
				"%s was let in %d times in %d s; wait and "
				"try again",
				h->peer_text, IPG_KNOCK_RATE_MAX,
				IPG_KNOCK_RATE_WINDOW_S);
	case IPG_KNOCK_MALFORMED:
		json_decref(j);
		hgate_failed(h);
		return hproblem(h, 422, "key",
				"not a break-glass key; paste the whole line "
				"'ipgate breakglass keygen' printed: "
				"ipgate-breakglass-1 ID HEX");
	default:
		/* Unknown, revoked or another key: one answer for all. */
		json_decref(j);
		hgate_failed(h);
		return hproblem(h, 403, "key",
				"the key was not accepted: mistyped, revoked, "
				"or not this host's");
	}
	json_decref(j);
	r = bg_grant(h->d, id, &h->peer, IPG_GRANT_DEFAULT_S, "url", &g, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return hproblem(h, r == -ENOENT ? 403 : 503, NULL,
				"no grant was made: %s", e.msg);
	}
	return hjson(h, 200,
		     json_pack("{s:s, s:s, s:i, s:s, s:o}", "address",
			       h->peer_text, "until", g.until, "seconds",
			       IPG_GRANT_DEFAULT_S, "key", id, "list",
			       *g.list ? json_string(g.list) : json_null()));
}
