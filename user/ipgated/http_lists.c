// SPDX-License-Identifier: GPL-2.0
/* The HTTP API's list resource: a list as JSON with its ETag, the
 * page's Save (PUT), one entry's add and remove, the toggle, Test IP and
 * the list's audit trail. Changes run as control requests (hrun). */
#include "http.h"

/* ---- the list resource ---- */

/* An entry's expiry as the API writes it: an RFC 3339 time, or null. */
static json_t *expires_json(int64_t expires)
{
	char t[IPG_TIME_STRLEN];

	if (!expires)
		return json_null();
	ipg_time_format(expires, t, sizeof(t));
	return json_string(t);
}

/* A value that changes with every change of the list: its contents'
 * FNV-1a hash, beside the kernel's generation. */
static uint64_t list_hash(const struct ipg_policy_spec *s)
{
	uint64_t h = 1469598103934665603ull;
	char buf[IPG_PREFIX_STRLEN + IPG_LABEL_MAX + 32];

	for (uint32_t i = 0; i <= s->n_entries; i++) {
		if (i < s->n_entries) {
			char c[IPG_PREFIX_STRLEN];

			ipg_prefix_format(&s->entries[i].prefix, c, sizeof(c));
			snprintf(buf, sizeof(buf), "%s %lld %s\n", c,
				 (long long)s->entries[i].expires,
				 s->entries[i].label);
		} else {
			snprintf(buf, sizeof(buf), "enabled=%d max=%u",
				 !!s->kern.enabled, s->max_entries);
		}
		for (const char *p = buf; *p; p++)
			h = (h ^ (uint8_t)*p) * 1099511628211ull;
	}
	return h;
}

static uint32_t generation(struct daemon *d, const char *name)
{
	struct ipg_policy live = { 0 };
	uint32_t id;

	if (!ipg_datapath_list_id(d->dp, name, &id))
		ipg_datapath_list_active(d->dp, id, &live);
	return live.generation;
}

/* A list of the fleet's store has the same ETag on every host: its key's
 * revision, not this host's kernel generation (a client behind a load
 * balancer reads on one host and saves on another). */
static void etag_of(struct daemon *d, const char *name, char *out, size_t size)
{
	const struct ipg_policy_spec *s = ipg_config_policy(&d->cfg, name);
	int64_t rev = store_list_revision(d, name);

	if (rev)
		snprintf(out, size, "\"r%" PRId64 "-%08" PRIx32 "\"", rev,
			 (uint32_t)(s ? list_hash(s) : 0));
	else
		snprintf(out, size, "\"%u-%08" PRIx32 "\"", generation(d, name),
			 (uint32_t)(s ? list_hash(s) : 0));
}

static json_t *override_json(const struct ovr *o, uint64_t left,
			     const char *scope)
{
	char until[40];

	if (!o || !o->active || !left)
		return json_null();
	format_utc(o->until, until, sizeof(until));
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "scope", scope, "until",
			 until, "seconds_left", (json_int_t)left, "reason",
			 o->reason, "by", o->user);
}

/* List @name as the API shows it. */
static json_t *list_json(struct hreq *h, const char *name, bool full)
{
	struct daemon *d = h->d;
	const struct ipg_policy_spec *s = ipg_config_policy(&d->cfg, name);
	const struct ipg_config_list *l = ipg_config_list_find(&d->cfg, name);
	struct ipg_buf ports = { 0 };
	json_t *j, *a;
	char etag[64];
	uint32_t id = 0;

	ipg_datapath_list_id(d->dp, name, &id);
	etag_of(d, name, etag, sizeof(etag));
	j = json_pack("{s:s, s:b, s:s, s:i, s:i, s:I, s:s}", "name", name,
		      "enabled", s->kern.enabled, "mode",
		      ipg_mode_name(s->kern.mode), "count", (int)s->n_entries,
		      "max_entries", (int)s->max_entries, "generation",
		      (json_int_t)generation(d, name), "etag", etag);
	if (!j)
		return NULL;
	/* The override that opens it: its own, else the host-wide one. */
	if (list_override_left(d, id))
		json_object_set_new(j, "override",
				    override_json(ovr_of(d, name),
						  list_override_left(d, id),
						  "list"));
	else
		json_object_set_new(j, "override",
				    override_json(&d->ovr, override_left(d),
						  "host"));
	if (!full)
		return j;
	ipg_config_ports(&s->ports, &ports);
	a = json_array();
	for (char *p = ports.s ? strtok(ports.s, " ,") : NULL; p;
	     p = strtok(NULL, " ,"))
		json_array_append_new(a, json_string(p));
	json_object_set_new(j, "protect", a);
	ipg_buf_free(&ports);
	a = json_array();
	for (int i = 0; l && i < l->n_addrs; i++) {
		char t[IPG_PREFIX_STRLEN];

		ipg_prefix_format(&l->addrs[i], t, sizeof(t));
		json_array_append_new(a, json_string(t));
	}
	json_object_set_new(j, "addresses", a);
	json_object_set_new(j, "shared", json_boolean(l && l->shared));
	a = json_array();
	for (uint32_t i = 0; i < s->n_entries; i++) {
		const struct ipg_entry *ent = &s->entries[i];
		char c[IPG_PREFIX_STRLEN];
		uint64_t hits = 0;

		ipg_datapath_rule_hits(d->dp, ent->rule_id, &hits);
		ipg_prefix_format(&ent->prefix, c, sizeof(c));
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:I, s:o}", "cidr", c, "label",
				     ent->label, "hits", (json_int_t)hits,
				     "expires", expires_json(ent->expires)));
	}
	json_object_set_new(j, "entries", a);
	return j;
}

int list_get(struct hreq *h, const char *name, unsigned status)
{
	etag_of(h->d, name, h->etag, sizeof(h->etag));
	return hjson(h, status, list_json(h, name, true));
}

int lists_get(struct hreq *h)
{
	json_t *a = json_array();

	if (hsees(h, "default"))
		json_array_append_new(a, list_json(h, "default", false));
	for (int i = 0; i < h->d->cfg.n_lists; i++)
		if (hsees(h, h->d->cfg.lists[i]->name))
			json_array_append_new(
				a,
				list_json(h, h->d->cfg.lists[i]->name, false));
	return hjson(h, 200, json_pack("{s:o}", "lists", a));
}

/* If-Match, when sent (@required: it must be): the list as read. */
static bool precondition(struct hreq *h, const char *name, bool required)
{
	const char *im = hheader(h, MHD_HTTP_HEADER_IF_MATCH);
	char etag[64];

	if (!im) {
		if (!required)
			return true;
		hproblem(h, 428, NULL,
			 "send If-Match with the ETag of GET /v1/lists/%s, "
			 "so that a change made meanwhile is not overwritten "
			 "(or If-Match: * to overwrite)",
			 name);
		return false;
	}
	etag_of(h->d, name, etag, sizeof(etag));
	if (!strcmp(im, "*") || !strcmp(im, etag))
		return true;
	snprintf(h->etag, sizeof(h->etag), "%s", etag);
	hproblem(h, 412, NULL,
		 "list %s changed meanwhile (now %s, you read %s); re-read "
		 "it and retry",
		 name, etag, im);
	return false;
}

/* An entry's "expires" (@field) into Unix time, or a 422 naming it. The
 * pipeline refuses a time that is not in the future (save: unless the
 * entry had it already). */
static int expiry_parse(struct hreq *h, const char *field, const char *s,
			int64_t *out)
{
	int r = ipg_time_parse(s, out);

	return r ? hproblem(h, 422, field, "\"%s\" %s", s, ipg_time_error(r)) :
		   0;
}

/* One entry of a PUT: {"cidr": ..., "label": ..., "expires": ...}, into
 * "CIDR LABEL\tEXPIRES\n" (the save command's lines). */
static int put_entry(struct hreq *h, json_t *e, size_t i, struct ipg_buf *out,
		     struct ipg_prefix *seen)
{
	const char *key, *cidr, *label = NULL;
	int64_t expires = 0;
	char field[48];
	struct ipg_error pe;
	json_t *v;

	if (!json_is_object(e))
		return snprintf(field, sizeof(field), "entries[%zu]", i),
		       hproblem(h, 422, field,
				"an entry is an object "
				"{\"cidr\": ..., \"label\": "
				"...}");
	json_object_foreach(e, key, v)
	{
		snprintf(field, sizeof(field), "entries[%zu].%s", i, key);
		if (!strcmp(key, "hits"))
			continue; /* read-only: as GET gave it */
		if (!strcmp(key, "expires") && json_is_null(v))
			continue;
		if (strcmp(key, "cidr") && strcmp(key, "label") &&
		    strcmp(key, "expires"))
			return hproblem(h, 422, field, "unknown field \"%s\"",
					key);
		if (!json_is_string(v))
			return hproblem(h, 422, field, "%s must be a string",
					key);
	}
	snprintf(field, sizeof(field), "entries[%zu].cidr", i);
	cidr = json_string_value(json_object_get(e, "cidr"));
	if (!cidr)
		return hproblem(h, 422, field, "the entry has no cidr");
	if (ipg_prefix_parse(cidr, &seen[i], &pe))
		return hproblem(h, 422, field, "%s", pe.msg);
	for (size_t k = 0; k < i; k++)
		if (ipg_prefix_equal(&seen[k], &seen[i]))
			return hproblem(h, 422, field,
					"%s is already entries[%zu]", cidr, k);
	v = json_object_get(e, "label");
	label = v ? json_string_value(v) : NULL;
	snprintf(field, sizeof(field), "entries[%zu].label", i);
	if (label && strlen(label) >= IPG_LABEL_MAX)
		return hproblem(h, 422, field,
				"the label is longer than %d characters",
				IPG_LABEL_MAX - 1);
	if (label && ipg_label_check(label, &pe))
		return hproblem(h, 422, field, "the label %s", pe.msg);
	if (label && strchr(label, '\n'))
		return hproblem(h, 422, field, "the label holds a newline");
	v = json_object_get(e, "expires");
	snprintf(field, sizeof(field), "entries[%zu].expires", i);
	if (v && !json_is_null(v) &&
	    expiry_parse(h, field, json_string_value(v), &expires))
		return -1;
	ipg_prefix_format(&seen[i], field, sizeof(field));
	ipg_buf_printf(out, "%s%s%s", field, label && *label ? " " : "",
		       label ? label : "");
	if (expires)
		ipg_buf_printf(out, "\t%lld", (long long)expires);
	ipg_buf_printf(out, "\n");
	return 0;
}

/* PUT /v1/lists/NAME: the page's Save, the entries and the toggle. */
int list_put(struct hreq *h, const char *name)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	struct ipg_buf text = { 0 };
	struct ipg_prefix *seen = NULL;
	json_t *j, *ents, *en;
	const char *key;
	json_t *v;
	size_t i;
	int r = 0;

	if (!hadmin(h) || !precondition(h, name, true))
		return -1;
	j = hbody_object(h);
	if (!j)
		return -1;
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "entries") && strcmp(key, "enabled")) {
			r = hproblem(h, 422, key,
				     "unknown field \"%s\"; a list is saved "
				     "as {\"enabled\": true, \"entries\": "
				     "[...]}",
				     key);
			goto out;
		}
	}
	ents = json_object_get(j, "entries");
	en = json_object_get(j, "enabled");
	if (!json_is_array(ents)) {
		r = hproblem(h, 422, "entries",
			     "entries must be an array of {\"cidr\", "
			     "\"label\"}");
		goto out;
	}
	if (en && !json_is_boolean(en)) {
		r = hproblem(h, 422, "enabled",
			     "enabled must be true or false");
		goto out;
	}
	if (json_array_size(ents) > IPG_RULES_MAX) {
		r = hproblem(h, 422, "entries", "more than %d entries",
			     IPG_RULES_MAX);
		goto out;
	}
	seen = calloc(json_array_size(ents) + 1, sizeof(*seen));
	if (!seen) {
		r = hproblem(h, 500, NULL, "out of memory");
		goto out;
	}
	json_array_foreach(ents, i, v)
	{
		r = put_entry(h, v, i, &text, seen);
		if (r)
			goto out;
	}
	ipg_ctl_set(&m, "cmd", "save");
	ipg_ctl_set(&m, "list", name);
	ipg_ctl_set(&m, "entries", text.s ? text.s : "");
	if (en)
		ipg_ctl_set(&m, "enabled", json_is_true(en) ? "yes" : "no");
	r = hrun(h, &m, &rep, "entries");
	if (!r)
		r = list_get(h, name, 200);
out:
	free(seen);
	ipg_buf_free(&text);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	json_decref(j);
	return r;
}

/* A change with no body but the list: enable, disable, remove. */
int list_change(struct hreq *h, const char *name, const char *cmd,
		const char *cidr)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	int r;

	if (!hadmin(h) || !precondition(h, name, false))
		return -1;
	ipg_ctl_set(&m, "cmd", cmd);
	ipg_ctl_set(&m, "list", name);
	if (cidr)
		ipg_ctl_set(&m, "cidr", cidr);
	r = hrun(h, &m, &rep, cidr ? "cidr" : NULL);
	if (!r)
		r = list_get(h, name, 200);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	return r;
}

/* POST /v1/lists/NAME/entries {"cidr": ..., "label": ..., "expires": TIME
 * or "for": DURATION}. */
int list_add_entry(struct hreq *h, const char *name)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	const char *key, *cidr, *label, *until, *dur;
	struct ipg_error pe;
	int64_t expires;
	uint32_t secs;
	json_t *j, *v;
	int r = 0;

	if (!hadmin(h) || !precondition(h, name, false))
		return -1;
	j = hbody_object(h);
	if (!j)
		return -1;
	json_object_foreach(j, key, v)
	{
		if (!strcmp(key, "expires") && json_is_null(v))
			continue;
		if (strcmp(key, "cidr") && strcmp(key, "label") &&
		    strcmp(key, "expires") && strcmp(key, "for")) {
			r = hproblem(h, 422, key, "unknown field \"%s\"", key);
			goto out;
		}
		if (!json_is_string(v)) {
			r = hproblem(h, 422, key, "%s must be a string", key);
			goto out;
		}
	}
	cidr = json_string_value(json_object_get(j, "cidr"));
	label = json_string_value(json_object_get(j, "label"));
	if (!cidr) {
		r = hproblem(h, 422, "cidr", "missing the address or CIDR");
		goto out;
	}
	if (label && strlen(label) >= IPG_LABEL_MAX) {
		r = hproblem(h, 422, "label",
			     "the label is longer than %d characters",
			     IPG_LABEL_MAX - 1);
		goto out;
	}
	if (label && ipg_label_check(label, &pe)) {
		r = hproblem(h, 422, "label", "the label %s", pe.msg);
		goto out;
	}
	ipg_ctl_set(&m, "cmd", "add");
	ipg_ctl_set(&m, "list", name);
	ipg_ctl_set(&m, "cidr", cidr);
	if (label && *label)
		ipg_ctl_set(&m, "label", label);
	until = json_string_value(json_object_get(j, "expires"));
	dur = json_string_value(json_object_get(j, "for"));
	/* Checked here, so that the pipeline's refusals are the cidr's. */
	if (until && dur) {
		r = hproblem(h, 422, "for",
			     "give either \"expires\" or \"for\", not both");
		goto out;
	}
	if (until && expiry_parse(h, "expires", until, &expires)) {
		r = -1;
		goto out;
	}
	if (until && expires <= (int64_t)time(NULL)) {
		r = hproblem(h, 422, "expires", "%s is not in the future",
			     until);
		goto out;
	}
	if (dur && ipg_duration_parse(dur, &secs)) {
		r = hproblem(h, 422, "for",
			     "\"%s\" is not a duration such as 30m, 8h or 7d",
			     dur);
		goto out;
	}
	if (until)
		ipg_ctl_set(&m, "expires", until);
	if (dur)
		ipg_ctl_set(&m, "for", dur);
	r = hrun(h, &m, &rep, "cidr");
	if (!r)
		r = list_get(h, name, 201);
out:
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	json_decref(j);
	return r;
}

/* ---- test, audit ---- */

/* Test IP on a shared list: no address of its own for a probe packet to
 * go to, so the answer is /v1/check's, from the same live maps. */
static int test_shared(struct hreq *h, const char *name, const char *ip)
{
	const struct ipg_entry *ent;
	struct ipg_prefix a;
	struct ipg_error e;
	char c[IPG_PREFIX_STRLEN];
	const char *why;
	json_t *j;
	bool ok;

	if (ipg_addr_parse(ip, &a, &e))
		return hproblem(h, 422, "ip", "%s", e.msg);
	ok = hjudge(h->d, name, &a, &why, &ent);
	j = json_pack("{s:s, s:n, s:s, s:n, s:s, s:s, s:n}", "ip", ip, "port",
		      "list", name, "to", "verdict", ok ? "allowed" : "blocked",
		      "reason", why, "action");
	if (j && ent) {
		ipg_prefix_format(&ent->prefix, c, sizeof(c));
		json_object_set_new(j, "entry",
				    json_pack("{s:s, s:s}", "cidr", c, "label",
					      ent->label));
	} else if (j) {
		json_object_set_new(j, "entry", json_null());
	}
	return hjson(h, 200, j);
}

/* POST /v1/lists/NAME/test {"ip": ..., "port": "tcp/443"}: the live
 * program's verdict (ipgate test). */
int list_test(struct hreq *h, const char *name)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	const char *ip, *port;
	json_t *j, *out;
	int r = 0;

	j = hbody_object(h);
	if (!j)
		return -1;
	ip = json_string_value(json_object_get(j, "ip"));
	port = json_string_value(json_object_get(j, "port"));
	if (!ip) {
		r = hproblem(h, 422, "ip", "missing the address to test");
		goto out;
	}
	if (json_object_get(j, "port") && !port) {
		r = hproblem(h, 422, "port", "port is a string, e.g. tcp/443");
		goto out;
	}
	{
		const struct ipg_config_list *l =
			ipg_config_list_find(&h->d->cfg, name);

		if (l && l->shared) {
			r = test_shared(h, name, ip);
			goto out;
		}
	}
	ipg_ctl_set(&m, "cmd", "test");
	ipg_ctl_set(&m, "list", name);
	ipg_ctl_set(&m, "ip", ip);
	if (port)
		ipg_ctl_set(&m, "port", port);
	ipg_ctl_set(&m, "json", "1");
	r = hrun(h, &m, &rep, "ip");
	if (!r) {
		out = hrun_json(h, &rep);
		r = out ? hjson(h, 200, out) : -1;
	}
out:
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	json_decref(j);
	return r;
}

/* @side (a record's "before" or "after") reduced to list @name's part:
 * the element of its "lists" for a named list, the top-level fields for
 * the default list. */
static json_t *side_of(json_t *side, const char *name)
{
	json_t *ls, *l, *out;
	size_t i;

	if (!json_is_object(side))
		return json_incref(side);
	ls = json_object_get(side, "lists");
	if (!strcmp(name, "default")) {
		out = json_deep_copy(side);
		json_object_del(out, "lists");
		return out;
	}
	json_array_foreach(
		ls, i,
		l) if (!strcmp(json_string_value(json_object_get(l, "list")) ?:
									       "",
			       name)) return json_incref(l);
	return json_null();
}

/* What a token scoped to list @name may read of audit record @rec: a
 * record of several lists keeps only this list's part, and a record of no
 * one list (a host-wide override, an unscoped key) only what happened and
 * when. */
static void scope_record(json_t *rec, const char *name)
{
	json_t *l = json_object_get(rec, "list");
	const char *action = json_string_value(json_object_get(rec, "action"));

	/* Token and key records hold no config: as they are. */
	if (json_is_string(l) && action &&
	    (!strncmp(action, "token-", 6) ||
	     !strncmp(action, "breakglass-", 11) ||
	     !strncmp(action, "override-", 9) || !strcmp(action, "confirm")))
		return;
	if (json_is_string(l) || json_is_array(l)) {
		json_object_set_new(rec, "before",
				    side_of(json_object_get(rec, "before"),
					    name));
		json_object_set_new(rec, "after",
				    side_of(json_object_get(rec, "after"),
					    name));
		json_object_set_new(rec, "list", json_string(name));
		return;
	}
	json_object_set_new(rec, "actor", json_null());
	json_object_set_new(rec, "before", json_null());
	json_object_set_new(rec, "after", json_null());
	json_object_set_new(rec, "redacted", json_true());
}

/* GET /v1/lists/NAME/audit?limit=N&before=SEQ: newest first. */
int list_audit(struct hreq *h, const char *name)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	const char *lim = harg(h, "limit"), *before = harg(h, "before");
	unsigned long n = 50;
	size_t len;
	const char *out;
	char *end;
	int r;

	if (lim) {
		n = strtoul(lim, &end, 10);
		if (!*lim || *end || n < 1 || n > 1000)
			return hproblem(h, 400, "limit",
					"limit is 1 to 1000, not \"%s\"", lim);
	}
	if (before &&
	    (!*before || strspn(before, "0123456789") != strlen(before)))
		return hproblem(h, 400, "before",
				"before is a record's seq, not \"%s\"", before);
	ipg_ctl_set(&m, "cmd", "log");
	ipg_ctl_set(&m, "list", name);
	ipg_ctl_setf(&m, "lines", "%lu", n);
	if (before)
		ipg_ctl_set(&m, "before", before);
	ipg_ctl_set(&m, "json", "1");
	r = hrun(h, &m, &rep, NULL);
	if (!r) {
		out = ipg_ctl_getn(&rep, "out", &len);
		r = list_audit_reply(h, name, out, len, *h->tok->list);
	}
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	return r;
}

int list_audit_reply(struct hreq *h, const char *name, const char *out,
		     size_t len, bool scoped)
{
	json_t *a = json_array();

	/* One record per line, oldest first: reversed. */
	for (const char *s = out, *e = out ? out + len : NULL; s && s < e;) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		size_t l = nl ? (size_t)(nl - s) : (size_t)(e - s);
		json_t *rec = json_loadb(s, l, 0, NULL);

		if (rec && scoped)
			scope_record(rec, name);
		if (rec)
			json_array_insert_new(a, 0, rec);
		s += l + 1;
	}
	return hjson(h, 200, json_pack("{s:o}", "records", a));
}
