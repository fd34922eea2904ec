// SPDX-License-Identifier: GPL-2.0
/* Emergency overrides: a boot-time deadline in the kernel (for every list,
 * or for one list), its record in the state dir, and its end. The host-wide
 * record is STATE_DIR/override; a list's is STATE_DIR/override.NAME. */
#include "daemon.h"

static void ovr_path(const struct daemon *d, const struct ovr *o, char *out,
		     size_t size)
{
	int n = *o->list ? snprintf(out, size, "%s.%s", d->ovr_path, o->list) :
			   snprintf(out, size, "%s", d->ovr_path);

	if (n < 0 || (size_t)n >= size)
		out[0] = '\0'; /* cannot happen: the state dir is short */
}

static int ovr_save(struct daemon *d, const struct ovr *o)
{
	char text[512], path[PATH_MAX];
	int n;

	ovr_path(d, o, path, sizeof(path));
	if (!o->active)
		return unlink(path) && errno != ENOENT ? -errno : 0;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n%lld\n%s\n%s\n",
		     o->deadline_ns, (long long)o->until, o->user, o->reason);
	return ipg_write_atomic(path, text, (size_t)n, 0600);
}

static void ovr_read(const char *path, struct ovr *o)
{
	FILE *f = fopen(path, "re");
	long long until = 0;

	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 "\n%lld\n%63[^\n]\n%255[^\n]", &o->deadline_ns,
		   &until, o->user, o->reason) >= 2) {
		o->active = 1;
		o->until = (time_t)until;
	}
	fclose(f);
}

/* The record of list @name ("" for every list), made when @make. */
static struct ovr *ovr_find(struct daemon *d, const char *name, bool make)
{
	struct ovr *v;

	if (!*name)
		return &d->ovr;
	for (int i = 0; i < d->n_lovr; i++)
		if (!strcmp(d->lovr[i].list, name))
			return &d->lovr[i];
	if (!make)
		return NULL;
	v = realloc(d->lovr, sizeof(*v) * (size_t)(d->n_lovr + 1));
	if (!v)
		return NULL;
	d->lovr = v;
	v = &d->lovr[d->n_lovr++];
	memset(v, 0, sizeof(*v));
	snprintf(v->list, sizeof(v->list), "%s", name);
	return v;
}

const struct ovr *ovr_of(const struct daemon *d, const char *name)
{
	const struct ovr *o = ovr_find((struct daemon *)d, name, false);

	return o && o->active ? o : NULL;
}

void ovr_load(struct daemon *d)
{
	char dir[PATH_MAX], *base, *slash;
	struct dirent *de;
	size_t blen;
	DIR *dh;

	memset(&d->ovr, 0, sizeof(d->ovr));
	ovr_read(d->ovr_path, &d->ovr);
	snprintf(dir, sizeof(dir), "%s", d->ovr_path);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	base = slash + 1;
	blen = strlen(base);
	dh = opendir(dir);
	while (dh && (de = readdir(dh))) {
		const char *name = de->d_name + blen + 1;
		char path[PATH_MAX];
		struct ovr *o;

		if (strncmp(de->d_name, base, blen) ||
		    de->d_name[blen] != '.' || !*name ||
		    strlen(name) > IPG_LIST_NAME_MAX || strchr(name, '.'))
			continue;
		o = ovr_find(d, name, true);
		if (!o)
			break;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path))
			ovr_read(path, o);
	}
	if (dh)
		closedir(dh);
}

/* The deadline the kernel holds for @o's scope, or 0 when its list is not
 * in the kernel (any more). */
static uint64_t kernel_deadline(struct daemon *d, const struct ovr *o)
{
	uint64_t deadline = 0;
	uint32_t id;

	if (!*o->list)
		ipg_datapath_get_override(d->dp, &deadline);
	else if (!ipg_datapath_list_id(d->dp, o->list, &id))
		ipg_datapath_get_list_override(d->dp, id, &deadline);
	return deadline;
}

static int set_kernel_deadline(struct daemon *d, const struct ovr *o,
			       uint64_t deadline)
{
	uint32_t id;

	if (!*o->list)
		return ipg_datapath_set_override(d->dp, deadline);
	if (ipg_datapath_list_id(d->dp, o->list, &id))
		return deadline ? -ENOENT : 0;
	return ipg_datapath_set_list_override(d->dp, id, deadline);
}

static void json_override(struct ipg_buf *b, const struct ovr *o)
{
	struct ipg_print p;
	char when[64];

	ipg_print_init(&p, b, true);
	ipg_print_open_object(&p, NULL);
	if (*o->list)
		ipg_print_string(&p, IPG_PR_JSON, "list", NULL, o->list);
	if (o->active) {
		format_utc(o->until, when, sizeof(when));
		ipg_print_open_object(&p, "override");
		ipg_print_string(&p, IPG_PR_JSON, "until", NULL, when);
		ipg_print_string(&p, IPG_PR_JSON, "by", NULL, o->user);
		ipg_print_string(&p, IPG_PR_JSON, "reason", NULL, o->reason);
		ipg_print_close_object(&p);
	} else {
		ipg_print_null(&p, "override");
	}
	ipg_print_close_object(&p);
}

/* Ends override @o in the kernel and the state dir, and audits how. */
static int ovr_end(struct daemon *d, struct ovr *o, const struct ipg_actor *who,
		   const char *how, struct ipg_error *e)
{
	struct ipg_buf before = { 0 }, after = { 0 };
	int r;

	json_override(&before, o);
	ipg_buf_printf(&after, "{");
	if (*o->list) {
		ipg_buf_printf(&after, "\"list\":");
		ipg_buf_json_str(&after, o->list);
		ipg_buf_printf(&after, ",");
	}
	ipg_buf_printf(&after, "\"override\":null,\"how\":\"%s\"}", how);
	r = set_kernel_deadline(d, o, 0);
	if (r) {
		ipg_fail(e, r, "cannot end the override: %s", strerror(-r));
		goto out;
	}
	o->active = 0;
	ovr_save(d, o);
	r = ipg_audit_append_list(&d->audit, who, "override-end", o->list,
				  before.s, after.s, e);
	log_event(d, IPG_LOG_INFO, "override-end",
		  (const char *const[]){ o->list }, *o->list ? 1 : 0,
		  "emergency override%s%s ended (%s)",
		  *o->list ? " of list " : "", o->list, how);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

/* Checks an override request's duration and reason against the longest
 * override @cap_s allows; 0 and *secs, or the refusal (already in the
 * reply). */
static int override_args(struct req *q, uint32_t cap_s, uint32_t *secs)
{
	const char *dur = ipg_ctl_get(q->m, "for"),
		   *reason = ipg_ctl_get(q->m, "reason");
	struct ipg_error e;
	char cap[32];

	format_duration(cap_s, cap, sizeof(cap));
	if (!dur || ipg_duration_parse(dur, secs) || !*secs)
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a duration; expected "
				  "e.g. 30m, 2h, 24h (at most %s)",
				  dur ? dur : "", cap);
	if (*secs > cap_s)
		return reply_errf(q, -EINVAL,
				  "an override of %s is longer than "
				  "override-max (%s); ask for less, or raise "
				  "override-max in the config",
				  dur, cap);
	if (!reason || !*reason)
		return reply_err(q, -EINVAL,
				 "an override needs --reason TEXT "
				 "(it goes to the audit log)");
	if (ipg_label_check(reason, &e))
		return reply_errf(q, -EINVAL, "--reason %s", e.msg);
	if (strlen(reason) >= sizeof(q->d->ovr.reason))
		return reply_errf(q, -EINVAL,
				  "--reason is longer than %zu "
				  "characters",
				  sizeof(q->d->ovr.reason) - 1);
	return 0;
}

/* Starts override @o of @secs: record in the state dir, deadline in the
 * kernel, audit. A step that fails puts back what ran before: the kernel's
 * deadline, the daemon's record and the state file. */
static int override_start(struct req *q, struct ovr *o, uint32_t secs)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e = { { 0 } };
	uint64_t prev_deadline = kernel_deadline(d, o);
	struct ovr prev = *o;
	char when[64], len[32];
	int r;

	json_override(&before, o);
	o->active = 1;
	o->deadline_ns = ipg_boot_ns() + (uint64_t)secs * 1000000000ull;
	o->until = time(NULL) + secs;
	snprintf(o->user, sizeof(o->user), "%s", q->who.user);
	snprintf(o->reason, sizeof(o->reason), "%s",
		 ipg_ctl_get(q->m, "reason"));
	json_override(&after, o);
	r = ovr_save(d, o);
	if (r) {
		reply_errf(q, r,
			   "cannot record the override in the state "
			   "directory: %s",
			   strerror(-r));
		goto undo;
	}
	r = set_kernel_deadline(d, o, o->deadline_ns);
	if (r) {
		reply_errf(q, r, "cannot start the override: %s", strerror(-r));
		goto undo;
	}
	r = ipg_fault("override-audit", &e);
	if (!r)
		r = ipg_audit_append_list(&d->audit, &q->who, "override-start",
					  o->list, before.s, after.s, &e);
	if (r) {
		reply_errf(q, r, "%s; the override was not started", e.msg);
		goto undo;
	}
	format_utc(o->until, when, sizeof(when));
	format_duration(secs, len, sizeof(len));
	if (*o->list)
		ipg_buf_printf(&q->out,
			       "emergency override of list %s: every source "
			       "passes to its addresses until %s (%s); "
			       "'ipgate override --list %s --cancel' ends it "
			       "early\n",
			       o->list, when, len, o->list);
	else
		ipg_buf_printf(&q->out,
			       "emergency override: every source passes%s "
			       "until %s (%s); 'ipgate override --cancel' ends "
			       "it early\n",
			       d->cfg.n_lists ? " to every list" : "", when,
			       len);
	log_event(d, IPG_LOG_INFO, "override-start",
		  (const char *const[]){ o->list }, *o->list ? 1 : 0,
		  "emergency override%s%s started by %s for %s: %s",
		  *o->list ? " of list " : "", o->list, q->who.user, len,
		  o->reason);
	goto out;
undo:
	set_kernel_deadline(d, o, prev_deadline);
	*o = prev;
	if (ovr_save(d, o))
		pr_warn("cannot put back the override record after a failed "
			"override");
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

int do_override(struct req *q)
{
	struct daemon *d = q->d;
	const char *name = ipg_ctl_get(q->m, "list");
	const struct ipg_config_list *l = NULL;
	struct ipg_error e = { { 0 } };
	uint32_t secs, id;
	struct ovr *o;
	int r;

	/* No list: every list (the host-wide emergency). */
	if (name && *name) {
		const char *n;

		if (req_list(q, &n, &id))
			return -ENOENT;
		l = ipg_config_list_find(&d->cfg, name);
	} else {
		name = "";
	}
	if (ipg_ctl_flag(q->m, "cancel")) {
		o = ovr_find(d, name, false);
		if (!o || (!o->active && !kernel_deadline(d, o))) {
			ipg_buf_printf(&q->out, "no override is running%s%s\n",
				       *name ? " on list " : "", name);
			return 0;
		}
		r = ovr_end(d, o, &q->who, "cancelled", &e);
		if (r)
			return reply_err(q, r, e.msg);
		if (*name)
			ipg_buf_printf(&q->out,
				       "override cancelled: list %s "
				       "is enforced again\n",
				       name);
		else
			ipg_buf_printf(&q->out, "override cancelled: every "
						"list is enforced again\n");
		return 0;
	}
	r = override_args(q, l ? l->override_max_s : d->cfg.override_max_s,
			  &secs);
	if (r)
		return r;
	o = ovr_find(d, name, true);
	if (!o)
		return reply_err(q, -ENOMEM, "out of memory");
	return override_start(q, o, secs);
}

static void ovr_check_one(struct daemon *d, struct ovr *o)
{
	struct ipg_actor who = { .uid = getuid(),
				 .pid = getpid(),
				 .user = "ipgated" };
	struct ipg_error e;
	uint64_t deadline = kernel_deadline(d, o);
	const char *how = "expired";

	if (!o->active || (deadline && deadline > ipg_boot_ns()))
		return;
	if (*o->list && strcmp(o->list, "default") &&
	    !ipg_config_list_find(&d->cfg, o->list))
		how = "list removed";
	if (ovr_end(d, o, &who, how, &e))
		pr_warn("%s", e.msg);
}

/* An override that ran out (the kernel already enforces again) is
 * audited once, also when it ran out while the daemon was down. */
void ovr_check(struct daemon *d)
{
	ovr_check_one(d, &d->ovr);
	for (int i = 0; i < d->n_lovr; i++)
		ovr_check_one(d, &d->lovr[i]);
}
