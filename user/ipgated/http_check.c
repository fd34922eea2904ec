// SPDX-License-Identifier: GPL-2.0
/* GET /v1/check for a reverse proxy's auth_request: the verdict on a
 * client for a list, from the live maps, as the XDP program would give. */
#include "http.h"

/* Whether a break-glass grant lets @a into list @id. */
static bool granted(struct daemon *d, const struct ipg_prefix *a, uint32_t id)
{
	size_t n = live_grants(d, d->prefix_buf, d->grant_lists_buf);

	for (size_t i = 0; i < n; i++)
		if (ipg_prefix_equal(&d->prefix_buf[i], a) &&
		    (d->grant_lists_buf[i] == id ||
		     d->grant_lists_buf[i] == IPG_LIST_ANY))
			return true;
	return false;
}

/* The verdict on @a for list @name, from the live maps: the list's trie,
 * overrides and grants, as the XDP program judges. */
bool hjudge(struct daemon *d, const char *name, const struct ipg_prefix *a,
	    const char **why, const struct ipg_entry **ent)
{
	const struct ipg_policy_spec *s = ipg_config_policy(&d->cfg, name);
	struct ipg_policy live = { 0 };
	uint32_t id, rule;

	*ent = NULL;
	if (ipg_datapath_list_id(d->dp, name, &id) ||
	    ipg_datapath_list_active(d->dp, id, &live)) {
		*why = "list not in the kernel";
		return false;
	}
	if (!live.enabled) {
		*why = "disabled";
		return true;
	}
	if (override_left(d) || list_override_left(d, id)) {
		*why = "override";
		return true;
	}
	if (!ipg_datapath_list_lookup(d->dp, id, a, &rule)) {
		for (uint32_t i = 0; s && i < s->n_entries; i++)
			if (s->entries[i].rule_id == rule)
				*ent = &s->entries[i];
		*why = "allowed";
		return true;
	}
	if (granted(d, a, id)) {
		*why = "breakglass";
		return true;
	}
	*why = "not-listed";
	return false;
}

/* GET /v1/check: X-Ipgate-List names the list (none: nothing to judge),
 * X-Real-IP the client, believed only from a trusted proxy (or a token's
 * holder); 204 allowed, 403 not. */
int api_check(struct hreq *h)
{
	const char *list = hheader(h, "X-Ipgate-List"),
		   *real = hheader(h, "X-Real-IP"), *why;
	const struct ipg_entry *ent;
	struct ipg_prefix a = h->peer;
	struct ipg_error e;
	char c[IPG_PREFIX_STRLEN], msg[256];
	bool ok;

	if (!hpeer_trusted(h)) {
		if (!hheader(h, MHD_HTTP_HEADER_AUTHORIZATION))
			return hproblem(h, 401, NULL,
					"%s is not an http-trusted-proxy; "
					"send a token",
					h->peer_text);
		if (!hauthed(h))
			return -1;
	}
	if (!list || !*list) {
		h->status = 204;
		return 0;
	}
	if (!ipg_list_name_ok(list))
		return hproblem(h, 400, "X-Ipgate-List",
				"\"%s\" is not a list name", list);
	if (h->tok && !hsees(h, list))
		return hproblem(h, 404, NULL, "no list named \"%s\"", list);
	if (strcmp(list, "default") && !ipg_config_list_find(&h->d->cfg, list))
		return hproblem(h, 404, "X-Ipgate-List", "no list named \"%s\"",
				list);
	if (real && ipg_addr_parse(real, &a, &e))
		return hproblem(h, 400, "X-Real-IP", "%s", e.msg);
	ok = hjudge(h->d, list, &a, &why, &ent);
	ipg_prefix_format(&a, c, sizeof(c));
	if (ok) {
		h->status = 204;
		return 0;
	}
	snprintf(msg, sizeof(msg),
		 "list %s is enabled, and your IP address %s is not permitted "
		 "to access this resource.",
		 list, c);
	return hjson(h, 403,
		     json_pack("{s:s, s:s, s:s, s:s}", "message", msg, "list",
			       list, "address", c, "reason", why));
}
