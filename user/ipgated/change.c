// SPDX-License-Identifier: GPL-2.0
/* The change pipeline: validate, candidate, guards, persist, attach, flip,
 * audit, and the rollback of a step that fails; the commands that change
 * policy. */
#include "daemon.h"
#include "change.h"

static int has_iface(const struct ipg_config *c, const char *name)
{
	for (int i = 0; i < c->n_interfaces; i++)
		if (!strcmp(c->interfaces[i], name))
			return 1;
	return 0;
}

/* Attaches to every interface of @next that @prev lacks (all of them when
 * @prev is NULL). On failure detaches what it attached. */
int attach_new(struct daemon *d, const struct ipg_config *prev,
	       const struct ipg_config *next, struct ipg_error *e)
{
	int done[IPG_IFACES_MAX] = { 0 }, r = 0, i;

	if (d->detached)
		return 0;
	for (i = 0; i < next->n_interfaces && !r; i++) {
		enum ipg_xdp_mode m;

		if (prev && has_iface(prev, next->interfaces[i]))
			continue;
		r = ipg_datapath_attach(d->dp, next->interfaces[i],
					IPG_XDP_AUTO, &m, e);
		if (!r) {
			done[i] = 1;
			pr_info("attached to %s (%s)", next->interfaces[i],
				xdp_mode_name(m));
		}
	}
	if (r)
		for (i = 0; i < next->n_interfaces; i++)
			if (done[i])
				ipg_datapath_detach(next->interfaces[i], NULL);
	return r;
}

/* Detaches from every interface of @prev that @next lacks. */
static void detach_gone(const struct ipg_config *prev,
			const struct ipg_config *next)
{
	struct ipg_error e;

	for (int i = 0; i < prev->n_interfaces; i++) {
		if (has_iface(next, prev->interfaces[i]))
			continue;
		if (ipg_datapath_detach(prev->interfaces[i], &e))
			pr_warn("%s", e.msg);
		else
			pr_info("detached from %s", prev->interfaces[i]);
	}
}

/* A warning when protected ports lie in this host's ephemeral port range:
 * a reply to one of the host's own outgoing connections (a webhook, a
 * resolver) may arrive on such a port from a source not on the list, and
 * would be dropped. Empty when there are none, or the range is unknown. */
void ephemeral_note(const struct ipg_config *c, struct ipg_buf *out)
{
	struct ipg_buf text = { 0 }, ports = { 0 };
	unsigned lo, hi;
	int n;

	if (ipg_read_file("/proc/sys/net/ipv4/ip_local_port_range", 64,
			  &text) ||
	    sscanf(text.s, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535) {
		ipg_buf_free(&text);
		return;
	}
	ipg_buf_free(&text);
	n = ipg_policy_ephemeral_overlap(&c->policy.ports, (uint16_t)lo,
					 (uint16_t)hi, &ports);
	if (n)
		ipg_buf_printf(out,
			       "protected port%s %s lie%s in this host's "
			       "ephemeral range %u-%u "
			       "(net.ipv4.ip_local_port_range): replies to "
			       "the host's own outgoing connections may use "
			       "%s and would be dropped; protect ports "
			       "outside that range, or move the range",
			       n > 1 ? "s" : "", ports.s, n > 1 ? "" : "s", lo,
			       hi, n > 1 ? "them" : "it");
	ipg_buf_free(&ports);
}

/* The guards, with the requester's address from the request. */
static int guard(struct req *q, const struct ipg_config *cur,
		 const struct ipg_config *next)
{
	struct ipg_guard_who who = {
		.client_text = q->client,
		.client_source = ipg_ctl_get(q->m, "client-source"),
		.server_only = ipg_ctl_flag(q->m, "server-only"),
		.force = q->force,
	};
	const char *server = ipg_ctl_get(q->m, "server");
	struct ipg_prefix addr, srv;
	struct ipg_error e;

	if (*q->client && !q->force) {
		if (ipg_addr_parse(q->client, &addr, &e))
			return reply_errf(q, -EINVAL, "client address: %s",
					  e.msg);
		who.client = &addr;
		if (server && ipg_addr_parse(server, &srv, &e))
			return reply_errf(q, -EINVAL, "server address: %s",
					  e.msg);
		who.server = server ? &srv : NULL;
	}
	if (ipg_guard_check(cur, next, &who, &e))
		return reply_err(q, -EPERM, e.msg);
	return 0;
}

/* Writes the files @c marks dirty (ipg_config_save_all()). */
static int save_config(struct daemon *d, struct ipg_config *c,
		       struct ipg_error *e)
{
	char *text = ipg_config_render_saved(c);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_config_save_all(c, d->o.config, e);
	if (!r) {
		free(d->cfg_text);
		d->cfg_text = text;
		d->file_error[0] = '\0';
	} else {
		free(text);
	}
	return r;
}

/* The pipeline's steps for this daemon, each with its IPGATE_FAULTS test
 * seam; the context is the daemon and who asked. */
struct change_ctx {
	struct daemon *d;
	const struct ipg_actor *who;
	const char *const *lists; /* the lists it touches (the diff's) */
	int n_lists;
	/* What the change's save wrote, so a rollback writes it back: the
	 * main file, and included files by path. */
	bool wrote_main;
	char **wrote;
	int n_wrote;
	const char *reason; /* a rollback's, for its audit record */
	const char *revision; /* the store's, for its audit record */
};

/* Remembers which files @c's save is about to write. */
static int note_writes(struct change_ctx *x, const struct ipg_config *c)
{
	x->wrote_main = c->dirty;
	x->wrote = calloc((size_t)c->n_files + 1, sizeof(*x->wrote));
	if (!x->wrote)
		return -ENOMEM;
	for (int i = 0; i < c->n_files; i++)
		if (c->files[i].dirty)
			x->wrote[x->n_wrote++] = c->files[i].path;
	return 0;
}

/* Marks in @c the files the change wrote, to write them back. */
static void mark_writes(const struct change_ctx *x, struct ipg_config *c)
{
	c->dirty = x->wrote_main;
	for (int i = 0; i < c->n_files; i++)
		for (int j = 0; j < x->n_wrote; j++)
			if (!strcmp(c->files[i].path, x->wrote[j]))
				c->files[i].dirty = true;
}

static int op_save(void *ctx, struct ipg_config *c, struct ipg_error *e)
{
	struct change_ctx *x = ctx;
	struct daemon *d = x->d;
	int r = ipg_config_writable(d->o.config, e);

	if (!r)
		r = ipg_fault("save", e);
	if (r)
		return r;
	if (c == &d->cfg) /* the rollback */
		mark_writes(x, c);
	else if (note_writes(x, c))
		return ipg_fail(e, -ENOMEM, "out of memory");
	return save_config(d, c, e);
}

static int op_attach(void *ctx, const struct ipg_config *prev,
		     const struct ipg_config *next, struct ipg_error *e)
{
	int r = ipg_fault("attach", e);

	return r ? r : attach_new(((struct change_ctx *)ctx)->d, prev, next, e);
}

static void op_detach(void *ctx, const struct ipg_config *prev,
		      const struct ipg_config *next)
{
	if (!((struct change_ctx *)ctx)->d->detached)
		detach_gone(prev, next);
}

static int op_apply(void *ctx, const struct ipg_config *prev,
		    struct ipg_config *next, struct ipg_error *e)
{
	struct daemon *d = ((struct change_ctx *)ctx)->d;
	int r = ipg_fault("apply", e);

	/* The rollback applies the running config back. */
	return r ? r : apply_config(d, prev, next, next == &d->cfg, e);
}

static int op_audit(void *ctx, const char *action, const char *before,
		    const char *after, struct ipg_error *e)
{
	struct change_ctx *c = ctx;
	struct ipg_buf why = { 0 };
	int r = ipg_fault("audit", e);

	if (r)
		return r;
	/* A rollback's record says why: {"reason": ..., the rest}; the
	 * store's which revision: {"revision": N, the rest}. */
	if ((c->reason || c->revision) && after && *after == '{') {
		if (c->reason) {
			ipg_buf_printf(&why, "{\"reason\":");
			ipg_buf_json_str(&why, c->reason);
		} else {
			ipg_buf_printf(&why, "{\"revision\":%s", c->revision);
		}
		ipg_buf_printf(&why, "%s%s", strcmp(after, "{}") ? "," : "",
			       after + 1);
		if (why.oom) {
			ipg_buf_free(&why);
			return ipg_fail(e, -ENOMEM, "out of memory");
		}
		after = why.s;
	}
	r = ipg_audit_append_lists(&c->d->audit, c->who, action, c->lists,
				   c->n_lists, before, after, e);
	ipg_buf_free(&why);
	return r;
}

static void op_warn(void *ctx, const char *msg)
{
	(void)ctx;
	pr_warn("%s", msg);
}

static const struct ipg_change_ops change_ops = {
	.save = op_save,
	.attach = op_attach,
	.detach = op_detach,
	.apply = op_apply,
	.audit = op_audit,
	.warn = op_warn,
};

/* In store mode: no --confirm for the store's lists, and the store's own
 * settings change at a restart only. */
static int store_refuse(struct req *q, const struct ipg_config *next)
{
	if (!store_mode(q->d))
		return 0;
	if (store_writes(q->d, next) && ipg_ctl_get(q->m, "confirm"))
		return reply_err(q, -EINVAL,
				 "--confirm is for this host's own lists: a "
				 "change to the fleet's store is made on every "
				 "host at once");
	if (strcmp(next->store.prefix, q->d->cfg.store.prefix) ||
	    next->store.n_endpoints != q->d->cfg.store.n_endpoints ||
	    memcmp(next->store.endpoints, q->d->cfg.store.endpoints,
		   sizeof(next->store.endpoints)))
		return reply_err(q, -EINVAL,
				 "the store's settings change at a restart: "
				 "systemctl restart ipgated");
	return 0;
}

/* Makes @next the running config: docs/design.md, "The change pipeline", after the
 * candidate is built. @persist says whether the file must be written (not
 * for a reload, which read it). Takes @next over on success. */
static int commit(struct req *q, struct ipg_config *next, const char *action,
		  int persist)
{
	struct daemon *d = q->d;
	struct change_ctx ctx = { d, &q->who, NULL, 0 };
	struct ipg_config_diff diff;
	struct ipg_error e = { { 0 } };
	bool rollback = !strcmp(action, "rollback");
	/* The store's revisions run whatever waits here: the fleet's lists
	 * are the store's, not this host's. */
	bool from_store = !strcmp(action, "store");
	uint32_t confirm_s;
	int r;

	r = pending_parse(q, &confirm_s);
	if (!r && !rollback && !from_store)
		r = pending_refuse(q);
	if (!r && !from_store)
		r = store_refuse(q, next);
	if (r) {
		d->changes_refused++;
		ipg_config_free(next);
		return r;
	}
	r = ipg_config_diff(&d->cfg, next, &diff);
	if (r) {
		ipg_config_free(next);
		return reply_err(q, r, "out of memory");
	}
	if (!diff.changes) {
		ipg_config_diff_free(&diff);
		ipg_buf_printf(&q->out, "nothing to change\n");
		ipg_config_free(next);
		return 0;
	}
	r = guard(q, &d->cfg, next);
	if (r) {
		d->changes_refused++;
		goto out;
	}
	if (ipg_ctl_flag(q->m, "dry-run")) {
		ipg_buf_printf(&q->out,
			       "%svalid: %u of %u entries; nothing "
			       "applied (dry run)\n",
			       diff.text.s, next->policy.n_entries,
			       next->policy.max_entries);
		ipg_config_free(next);
		goto out;
	}
	/* The store's lists: one transaction, answered once this host runs
	 * its revision (the watch brings it through commit_store()). */
	if (!from_store && store_writes(d, next)) {
		r = next->dirty ? reply_err(q, -EINVAL,
					    "a change writes either this "
					    "host's file or the fleet's store, "
					    "not both") :
				  store_write(q, next, &diff);
		/* Sent (or not): the store's answer comes through the watch. */
		ipg_config_free(next);
		if (r && r != -EINPROGRESS)
			d->changes_refused++;
		goto out_store;
	}
	ctx.lists = diff.lists;
	ctx.n_lists = diff.n_lists;
	ctx.reason = rollback ? ipg_ctl_get(q->m, "reason") : NULL;
	ctx.revision = from_store ? ipg_ctl_get(q->m, "revision") : NULL;
	/* --confirm: the files as they are now are kept first. */
	if (confirm_s && (r = pending_begin(d, &q->who, action, diff.lists,
					    diff.n_lists, confirm_s, &e))) {
		reply_err(q, r, e.msg);
		goto out;
	}
	r = ipg_change_run(&change_ops, &ctx, &d->cfg, next, persist, action,
			   &diff, &e);
	if (r) {
		if (confirm_s)
			pending_abort(d);
		d->changes_refused++;
		reply_err(q, r, e.msg);
		goto out;
	}
	if (confirm_s) {
		char left[32];

		format_duration(confirm_s, left, sizeof(left));
		ipg_buf_printf(&q->out,
			       "unconfirmed: rolled back in %s unless `ipgate "
			       "confirm` comes first\n",
			       left);
	}
	d->changes_ok++;
	if (from_store)
		log_event(d, IPG_LOG_INFO, action,
			  (const char *const *)diff.lists, diff.n_lists,
			  "store: applied revision %s: %d change(s) to %d "
			  "list(s)",
			  ctx.revision, diff.changes, diff.n_lists);
	else
		log_event(d, IPG_LOG_INFO, action,
			  (const char *const *)diff.lists, diff.n_lists,
			  "%s by %s (uid %u): %d change(s), %u entries", action,
			  q->who.user, (unsigned)q->who.uid, diff.changes,
			  next->policy.n_entries);
	ipg_buf_printf(&q->out, "%s", diff.text.s);
	for (int i = 0; i < next->n_warnings; i++)
		ipg_buf_printf(&q->out, "note: %s\n", next->warnings[i]);
	{
		struct ipg_buf note = { 0 };

		ephemeral_note(next, &note);
		if (note.s) {
			ipg_buf_printf(&q->out, "note: %s\n", note.s);
			pr_warn("%s", note.s);
		}
		ipg_buf_free(&note);
	}
	/* Lists the change removed go now that it is audited. */
	if (close_gone(d, &d->cfg, next, &e))
		pr_warn("%s; the list stays in the kernel, guarding no address",
			e.msg);
	ipg_config_free(&d->cfg);
	d->cfg = *next;
	memset(next, 0, sizeof(*next));
	if (ipg_datapath_set_blocked_budget(d->dp, d->cfg.blocked_budget))
		pr_warn("cannot set the blocked-source log's budget");
	if (d->epfd >= 0) {
		knock_listen(d);
		watch_includes(d);
		if (http_apply(d, &e))
			pr_warn("%s; the API stays as it was", e.msg);
	}
	if (persist)
		files_restamp(d, ctx.wrote, ctx.n_wrote);
out:
	free(ctx.wrote);
	ipg_config_diff_free(&diff);
	if (r)
		ipg_config_free(next);
	return r;
out_store:
	ipg_config_diff_free(&diff);
	return r;
}

int commit_rollback(struct req *q, struct ipg_config *prev)
{
	return commit(q, prev, "rollback", 1);
}

int commit_store(struct req *q, struct ipg_config *next)
{
	return commit(q, next, "store", 0);
}

/* The list a request edits: "list", or the default one. */
static const char *list_arg(struct req *q)
{
	const char *n = ipg_ctl_get(q->m, "list");

	return n && *n ? n : "default";
}

/* A candidate: a copy of the running config to edit the request's list
 * in, sharing the lists of other files (ipg_config_cow()). */
static int candidate(struct req *q, struct ipg_config *c)
{
	struct ipg_error e;
	int r = ipg_config_cow(c, &q->d->cfg, list_arg(q), &e);

	return r ? reply_err(q, r, e.msg) : 0;
}

/* A config to build a candidate in (large: on the heap), or NULL with the
 * reply set. */
static struct ipg_config *config_new(struct req *q)
{
	struct ipg_config *c = calloc(1, sizeof(*c));

	if (!c)
		reply_err(q, -ENOMEM, "out of memory");
	return c;
}

/* An edit of a copy of the running config; 0, or an error in @e. */
typedef int (*edit_fn)(struct req *q, struct ipg_config *c,
		       struct ipg_error *e);

/* Runs @edit on a candidate and commits the result as @action. */
static int change_by(struct req *q, edit_fn edit, const char *action)
{
	struct ipg_config *next = config_new(q);
	struct ipg_error e = { { 0 } };
	int r;

	if (!next)
		return -ENOMEM;
	r = candidate(q, next);
	if (!r) {
		r = edit(q, next, &e);
		if (r) {
			q->d->changes_refused++;
			ipg_config_free(next);
			reply_err(q, r, e.msg);
		} else {
			r = commit(q, next, action, 1);
		}
	}
	free(next);
	return r;
}

static int cidr_arg(struct req *q, struct ipg_prefix *p, struct ipg_error *e)
{
	const char *s = ipg_ctl_get(q->m, "cidr");

	if (!s)
		return ipg_fail(e, -EINVAL, "missing the address or CIDR");
	return ipg_prefix_parse(s, p, e) ? -EINVAL : 0;
}

/* The expiry a request asks for: "expires" (an RFC 3339 time) or "for"
 * (a duration from now), at most one of them; 0 when neither. A time that
 * is not in the future is refused: the entry would never pass. */
static int expiry_arg(struct req *q, int64_t *out, struct ipg_error *e)
{
	const char *until = ipg_ctl_get(q->m, "expires");
	const char *dur = ipg_ctl_get(q->m, "for");
	int64_t now = (int64_t)time(NULL);
	uint32_t secs;
	int r;

	*out = 0;
	if (until && dur)
		return ipg_fail(e, -EINVAL,
				"give either an expiry time or a duration, "
				"not both");
	if (dur) {
		if (ipg_duration_parse(dur, &secs))
			return ipg_fail(e, -EINVAL,
					"\"%s\" is not a duration such as 30m, "
					"8h or 7d",
					dur);
		*out = now + secs;
	} else if (until) {
		r = ipg_time_parse(until, out);
		if (r)
			return ipg_fail(e, -EINVAL, "expiry \"%s\" %s", until,
					ipg_time_error(r));
		if (*out <= now)
			return ipg_fail(e, -EINVAL,
					"expiry %s is not in the future",
					until);
	}
	return 0;
}

static int edit_add(struct req *q, struct ipg_config *c, struct ipg_error *e)
{
	struct ipg_prefix p;
	int64_t expires;

	return cidr_arg(q, &p, e)		  ?:
		       expiry_arg(q, &expires, e) ?:
		       ipg_config_list_add(c, list_arg(q), &p,
					   ipg_ctl_get(q->m, "label"), expires,
					   e);
}

static int edit_remove(struct req *q, struct ipg_config *c, struct ipg_error *e)
{
	struct ipg_prefix p;

	return cidr_arg(q, &p, e) ?:
				    ipg_config_list_remove(c, list_arg(q), &p, e);
}

static int edit_enable(struct req *q, struct ipg_config *c, struct ipg_error *e)
{
	return ipg_config_list_set_enabled(c, list_arg(q), 1, e);
}

static int edit_disable(struct req *q, struct ipg_config *c,
			struct ipg_error *e)
{
	return ipg_config_list_set_enabled(c, list_arg(q), 0, e);
}

int do_add(struct req *q)
{
	return change_by(q, edit_add, "add");
}

int do_remove(struct req *q)
{
	return change_by(q, edit_remove, "remove");
}

/* enable and disable: nothing to do (and no candidate) when already so. */
static int set_enabled(struct req *q, int on)
{
	const char *name = list_arg(q);
	const struct ipg_policy_spec *s = ipg_config_policy(&q->d->cfg, name);

	if (!s)
		return reply_errf(q, -ENOENT, "no list named \"%s\"", name);
	if (!!s->kern.enabled == on) {
		if (strcmp(name, "default"))
			ipg_buf_printf(&q->out, "list %s: ", name);
		ipg_buf_printf(&q->out, "already %s\n",
			       on ? "enabled" : "disabled");
		return 0;
	}
	return change_by(q, on ? edit_enable : edit_disable,
			 on ? "enable" : "disable");
}

int do_enable(struct req *q)
{
	return set_enabled(q, 1);
}

int do_disable(struct req *q)
{
	return set_enabled(q, 0);
}

/* save: list @list's entries become those of "entries" (one "CIDR" or
 * "CIDR LABEL" per line, then a tab and the Unix time it expires, if it
 * does) and, when "enabled" is sent, its toggle that:
 * the settings page's Save. Entries kept keep their lines; removed and
 * relabelled ones go, new ones are added at the end; one change. */
static int edit_save(struct req *q, struct ipg_config *c, struct ipg_error *e)
{
	const char *list = list_arg(q), *en = ipg_ctl_get(q->m, "enabled");
	const char *text = ipg_ctl_get(q->m, "entries");
	const struct ipg_policy_spec *cur = ipg_config_policy(c, list);
	struct ipg_policy_spec *want = calloc(1, sizeof(*want));
	int r = 0, line = 0;

	if (!want)
		return ipg_fail(e, -ENOMEM, "out of memory");
	ipg_policy_init(want);
	want->max_entries = IPG_RULES_MAX;
	for (const char *s = text ? text : ""; *s && !r;) {
		size_t n = strcspn(s, "\n");
		char buf[IPG_PREFIX_STRLEN + IPG_LABEL_MAX + 32], *label, *tab;
		struct ipg_prefix p;
		long long expires = 0;

		line++;
		if (n >= sizeof(buf)) {
			r = ipg_fail(e, -EINVAL, "entry %d: too long", line);
			break;
		}
		memcpy(buf, s, n);
		buf[n] = '\0';
		s += n + (s[n] == '\n');
		tab = strchr(buf, '\t');
		if (tab) {
			char *end;

			*tab++ = '\0';
			expires = strtoll(tab, &end, 10);
			if (*end || expires <= 0)
				r = ipg_fail(e, -EINVAL,
					     "entry %d: bad expiry \"%s\"",
					     line, tab);
		}
		label = strchr(buf, ' ');
		if (label)
			*label++ = '\0';
		r = ipg_prefix_parse(buf, &p, e);
		if (!r && ipg_policy_find(want, &p) >= 0)
			r = ipg_fail(e, -EINVAL, "entry %d: %s is listed twice",
				     line, buf);
		if (!r && label && ipg_label_check(label, e))
			r = -EINVAL;
		if (!r)
			r = ipg_policy_add(want, &p, label, e);
		if (!r)
			want->entries[want->n_entries - 1].expires = expires;
		/* A past expiry only as the list has it already (a page saved
		 * just as an entry ran out): the tick removes that one. */
		if (!r && expires && expires <= (long long)time(NULL)) {
			int k = ipg_policy_find(cur, &p);

			if (k < 0 || cur->entries[k].expires != expires)
				r = ipg_fail(e, -EINVAL,
					     "entry %d: %s expires in the past",
					     line, buf);
		}
		if (r) {
			char msg[sizeof(e->msg)];

			snprintf(msg, sizeof(msg), "%s", e->msg);
			if (strncmp(msg, "entry ", 6))
				ipg_fail(e, -EINVAL, "entry %d: %s", line, msg);
			r = -EINVAL;
		}
	}
	/* Removals first: a full list can still swap entries. */
	for (uint32_t i = 0; !r && i < cur->n_entries;) {
		const struct ipg_entry *ce = &cur->entries[i];
		int k = ipg_policy_find(want, &ce->prefix);

		if (k < 0 || !ipg_entry_same(&want->entries[k], ce)) {
			struct ipg_prefix p = ce->prefix;

			r = ipg_config_list_remove(c, list, &p, e);
			cur = ipg_config_policy(c, list);
		} else {
			i++;
		}
	}
	for (uint32_t i = 0; !r && i < want->n_entries; i++)
		if (ipg_policy_find(cur, &want->entries[i].prefix) < 0) {
			const char *label = want->entries[i].label;

			r = ipg_config_list_add(c, list,
						&want->entries[i].prefix,
						*label ? label : NULL,
						want->entries[i].expires, e);
			cur = ipg_config_policy(c, list);
		}
	if (!r && en) {
		bool on = !strcmp(en, "yes");

		if (!on && strcmp(en, "no"))
			r = ipg_fail(e, -EINVAL,
				     "enabled: \"%s\" is not yes or no", en);
		else if (!!cur->kern.enabled != on)
			r = ipg_config_list_set_enabled(c, list, on, e);
	}
	free(want);
	return r;
}

int do_save(struct req *q)
{
	if (!ipg_ctl_get(q->m, "entries"))
		return reply_err(q, -EINVAL, "missing the entries to save");
	return change_by(q, edit_save, "save");
}

/* Parses a config sent over the socket. Its include lines match only the
 * files the running config has read (as they are now), never the disk:
 * a request may not make the daemon, which runs as root, read a file for
 * a member of the group and echo it back in an error. */
static int parse_sent(struct daemon *d, struct ipg_config *c, const char *text,
		      const char *name, struct ipg_error *e)
{
	struct ipg_config_text *t =
		calloc((size_t)d->cfg.n_files + 1, sizeof(*t));
	int r;

	if (!t)
		return ipg_fail(e, -ENOMEM, "out of memory");
	for (int i = 0; i < d->cfg.n_files; i++) {
		t[i].path = d->cfg.files[i].path;
		t[i].text = ipg_config_render_file(&d->cfg, i);
		if (!t[i].text) {
			r = ipg_fail(e, -ENOMEM, "out of memory");
			goto out;
		}
	}
	/* As the config file it becomes: relative includes resolve there.
	 * With a store, the host's own file with the store's lists (the text
	 * may hold no list of its own). */
	r = store_mode(d) ? store_config(d, text, c, e) :
			    ipg_config_parse_texts(c, text, d->o.config, t,
						   d->cfg.n_files, e);
	if (r) {
		size_t n = strlen(d->o.config);
		char msg[sizeof(e->msg)];

		/* ... but errors in it name the file the user sent. */
		if (!strncmp(e->msg, d->o.config, n) && e->msg[n] == ':') {
			snprintf(msg, sizeof(msg), "%s%s", name, e->msg + n);
			snprintf(e->msg, sizeof(e->msg), "%s", msg);
		}
	}
out:
	for (int i = 0; i < d->cfg.n_files; i++)
		free((char *)t[i].text);
	free(t);
	return r;
}

int do_apply(struct req *q)
{
	const char *text = ipg_ctl_get(q->m, "text");
	const char *name = ipg_ctl_get(q->m, "name"), *list;
	struct ipg_config *next;
	struct ipg_error e;
	size_t len;
	int r;

	if (!text)
		return reply_err(q, -EINVAL, "missing the config text");
	ipg_ctl_getn(q->m, "text", &len);
	if (strlen(text) != len)
		return reply_errf(q, -EINVAL,
				  "%s: contains a NUL byte; not a "
				  "config file; nothing applied",
				  name ? name : "apply");
	list = ipg_ctl_get(q->m, "list");
	if (list && !strcmp(list, "default"))
		return reply_err(q, -EINVAL,
				 "the default list is the top level of the "
				 "config: 'ipgate apply FILE' without --list "
				 "replaces the whole config");
	next = config_new(q);
	if (!next)
		return -ENOMEM;
	/* With --list: FILE is the inside of that list's block. */
	if (list)
		r = ipg_config_list_replace(next, &q->d->cfg, list, text,
					    name ? name : "apply",
					    q->d->o.config, &e);
	else if (!(r = parse_sent(q->d, next, text, name ? name : "apply", &e)))
		next->dirty = true; /* the main file becomes the text */
	if (r) {
		q->d->changes_refused++;
		reply_errf(q, r, "%s; nothing applied", e.msg);
	} else {
		r = commit(q, next, "apply", 1);
	}
	free(next);
	return r;
}

void actor_self(struct ipg_actor *who, const char *user)
{
	*who = (struct ipg_actor){ .uid = getuid(),
				   .pid = getpid(),
				   .user = user };
}

/* A hand edit that does not parse: logged every time, audited once per
 * distinct error, shown by status; the running policy stays. */
static void reload_refused(struct daemon *d, const struct ipg_actor *who,
			   const char *why, const char *msg)
{
	struct ipg_buf after = { 0 };
	struct ipg_error e;

	pr_warn("reload (%s): %s; the running policy stays", why, msg);
	if (!strcmp(d->file_error, msg))
		return;
	snprintf(d->file_error, sizeof(d->file_error), "%s", msg);
	ipg_buf_printf(&after, "{\"error\":");
	ipg_buf_json_str(&after, msg);
	ipg_buf_printf(&after, "}");
	if (ipg_audit_append(&d->audit, who, "rejected-change", NULL, after.s,
			     &e))
		pr_warn("%s", e.msg);
	ipg_buf_free(&after);
}

/* Reads the config file and applies it when its text changed. */
void reload(struct daemon *d, const char *why)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	struct req q = { .d = d, .m = &m, .rep = &rep, .force = 1 };
	struct ipg_config *next = NULL;
	struct ipg_buf text = { 0 };
	struct ipg_error e = { { 0 } };
	int r, told = 0;

	r = ipg_read_file(d->o.config, IPG_CTL_VALUE_MAX, &text);
	if (r) {
		pr_warn("reload (%s): cannot read %s: %s; the running policy "
			"stays",
			why, d->o.config, strerror(-r));
		goto out;
	}
	/* Included files are not in the text: with include lines, they
	 * must be as last read or written too (else parse and compare). */
	/* (With a store the one include line is the store's lists, which
	 * are not files.) */
	if (d->cfg_text && !strcmp(text.s, d->cfg_text) &&
	    (!d->cfg.n_includes || store_mode(d) || files_unchanged(d))) {
		/* Our own save, or a broken edit put back: the file is what
		 * runs. */
		if (*d->file_error)
			pr_info("%s agrees with the running policy again",
				d->o.config);
		d->file_error[0] = '\0';
		goto out;
	}
	/* The service manager hears of a reload only when the file differs
	 * (our own saves are not reloads). */
	notify_reloading(d);
	told = 1;
	snprintf(q.user, sizeof(q.user), "ipgated");
	actor_self(&q.who, "ipgated");
	next = config_new(&q);
	if (!next) {
		pr_warn("reload (%s): out of memory", why);
		goto out;
	}
	r = store_mode(d) ? store_config(d, text.s, next, &e) :
			    ipg_config_parse(next, text.s, d->o.config, &e);
	if (r) {
		reload_refused(d, &q.who, why, e.msg);
		goto out;
	}
	r = commit(&q, next, "reload", 0);
	if (r) {
		pr_warn("reload (%s): %s; the running policy stays", why,
			ipg_ctl_get(&rep, "message"));
		snprintf(d->file_error, sizeof(d->file_error), "%s",
			 ipg_ctl_get(&rep, "message"));
	} else {
		free(d->cfg_text);
		d->cfg_text = text.s;
		text.s = NULL;
		d->file_error[0] = '\0';
		files_stamp(d);
		pr_info("reloaded %s (%s)", d->o.config, why);
	}
out:
	if (told)
		notify_reloaded(d);
	else
		notify_status(d);
	free(next);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	ipg_buf_free(&q.out);
	ipg_buf_free(&text);
}

/* expire: removes from list "list" every entry expired at the tick's
 * time. The program stopped passing them at their deadline already. */
static int edit_expire(struct req *q, struct ipg_config *c, struct ipg_error *e)
{
	const struct ipg_policy_spec *s = ipg_config_policy(c, list_arg(q));
	int64_t now = (int64_t)time(NULL);
	int r = 0;

	for (uint32_t i = 0; s && i < s->n_entries && !r;) {
		struct ipg_prefix p = s->entries[i].prefix;

		if (!ipg_entry_expired(&s->entries[i], now)) {
			i++;
			continue;
		}
		r = ipg_config_list_remove(c, list_arg(q), &p, e);
		s = ipg_config_policy(c, list_arg(q));
	}
	return r;
}

static bool has_expired(const struct ipg_policy_spec *s, int64_t now)
{
	for (uint32_t i = 0; i < s->n_entries; i++)
		if (ipg_entry_expired(&s->entries[i], now))
			return true;
	return false;
}

/* Takes expired entries out of the files, one audited change ("expire")
 * per list, as ipgated. Not while a change awaits confirmation (changes
 * are refused then): the program enforces the deadlines meanwhile, and
 * the first tick after the confirmation or the rollback removes them. */
void expire_check(struct daemon *d)
{
	int64_t now = (int64_t)time(NULL);

	if (d->pending)
		return;
	for (int i = -1; i < d->cfg.n_lists; i++) {
		const char *name = i < 0 ? "default" : d->cfg.lists[i]->name;
		const struct ipg_policy_spec *s =
			i < 0 ? &d->cfg.policy : &d->cfg.lists[i]->policy;
		struct ipg_ctl_msg m = { 0 }, rep = { 0 };
		struct req q = { .d = d, .m = &m, .rep = &rep, .force = 1 };
		char list[IPG_LIST_NAME_MAX + 1];
		int r;

		/* A removal sent to the store is not sent again meanwhile. */
		if (!has_expired(s, now) || store_writing(d, name))
			continue;
		/* The change replaces d->cfg's lists: keep the name. */
		snprintf(list, sizeof(list), "%s", name);
		snprintf(q.user, sizeof(q.user), "ipgated");
		actor_self(&q.who, "ipgated");
		ipg_ctl_set(&m, "list", list);
		r = change_by(&q, edit_expire, "expire");
		/* Once a minute at most: the tick retries every second. */
		if (r && now - d->expire_warned >= 60) {
			d->expire_warned = now;
			pr_warn("list %s: cannot remove expired entries: %s; "
				"they pass no traffic, and the next tick tries "
				"again",
				list, ipg_ctl_get(&rep, "message") ?: "?");
		}
		ipg_buf_free(&q.out);
		ipg_ctl_free(&m);
		ipg_ctl_free(&rep);
	}
}
