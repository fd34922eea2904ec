// SPDX-License-Identifier: GPL-2.0
/* The emergency override: a boot-time deadline in the kernel, its record in
 * the state dir, and its end. */
#include "daemon.h"

static int ovr_save(struct daemon *d)
{
	char text[512];
	int n;

	if (!d->ovr.active)
		return unlink(d->ovr_path) && errno != ENOENT ? -errno : 0;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n%lld\n%s\n%s\n",
		     d->ovr.deadline_ns, (long long)d->ovr.until, d->ovr.user,
		     d->ovr.reason);
	return ipg_write_atomic(d->ovr_path, text, (size_t)n, 0600);
}

void ovr_load(struct daemon *d)
{
	FILE *f = fopen(d->ovr_path, "re");
	long long until = 0;

	memset(&d->ovr, 0, sizeof(d->ovr));
	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 "\n%lld\n%63[^\n]\n%255[^\n]",
		   &d->ovr.deadline_ns, &until, d->ovr.user,
		   d->ovr.reason) >= 2) {
		d->ovr.active = 1;
		d->ovr.until = (time_t)until;
	}
	fclose(f);
}

static void json_override(struct ipg_buf *b, struct daemon *d)
{
	struct ipg_print p;
	char when[64];

	ipg_print_init(&p, b, true);
	ipg_print_open_object(&p, NULL);
	if (d->ovr.active) {
		format_utc(d->ovr.until, when, sizeof(when));
		ipg_print_open_object(&p, "override");
		ipg_print_string(&p, IPG_PR_JSON, "until", NULL, when);
		ipg_print_string(&p, IPG_PR_JSON, "by", NULL, d->ovr.user);
		ipg_print_string(&p, IPG_PR_JSON, "reason", NULL,
				 d->ovr.reason);
		ipg_print_close_object(&p);
	} else {
		ipg_print_null(&p, "override");
	}
	ipg_print_close_object(&p);
}

/* Ends the override in the kernel and the state dir, and audits how. */
static int ovr_end(struct daemon *d, const struct ipg_actor *who,
		   const char *how, struct ipg_error *e)
{
	struct ipg_buf before = { 0 }, after = { 0 };
	int r;

	json_override(&before, d);
	ipg_buf_printf(&after, "{\"override\":null,\"how\":\"%s\"}", how);
	r = ipg_datapath_set_override(d->dp, 0);
	if (r) {
		ipg_fail(e, r, "cannot end the override: %s", strerror(-r));
		goto out;
	}
	d->ovr.active = 0;
	ovr_save(d);
	r = ipg_audit_append(&d->audit, who, "override-end", before.s, after.s,
			     e);
	pr_info("emergency override ended (%s)", how);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

/* Checks an override request's duration and reason; 0 and *secs, or the
 * refusal (already in the reply). */
static int override_args(struct req *q, uint32_t *secs)
{
	struct daemon *d = q->d;
	const char *dur = ipg_ctl_get(q->m, "for"),
		   *reason = ipg_ctl_get(q->m, "reason");
	struct ipg_error e;
	char cap[32];

	format_duration(d->cfg.override_max_s, cap, sizeof(cap));
	if (!dur || ipg_duration_parse(dur, secs) || !*secs)
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a duration; expected "
				  "e.g. 30m, 2h, 24h (at most %s)",
				  dur ? dur : "", cap);
	if (*secs > d->cfg.override_max_s)
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
	if (strlen(reason) >= sizeof(d->ovr.reason))
		return reply_errf(q, -EINVAL,
				  "--reason is longer than %zu "
				  "characters",
				  sizeof(d->ovr.reason) - 1);
	return 0;
}

/* Starts an override of @secs: record in the state dir, deadline in the
 * kernel, audit. A step that fails puts back what ran before: the kernel's
 * deadline, the daemon's record and the state file. */
static int override_start(struct req *q, uint32_t secs)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e = { { 0 } };
	uint64_t prev_deadline = 0;
	__typeof__(d->ovr) prev = d->ovr;
	char when[64], len[32];
	int r;

	ipg_datapath_get_override(d->dp, &prev_deadline);
	json_override(&before, d);
	d->ovr.active = 1;
	d->ovr.deadline_ns = ipg_boot_ns() + (uint64_t)secs * 1000000000ull;
	d->ovr.until = time(NULL) + secs;
	snprintf(d->ovr.user, sizeof(d->ovr.user), "%s", q->who.user);
	snprintf(d->ovr.reason, sizeof(d->ovr.reason), "%s",
		 ipg_ctl_get(q->m, "reason"));
	json_override(&after, d);
	r = ovr_save(d);
	if (r) {
		reply_errf(q, r, "cannot record the override in %s: %s",
			   d->ovr_path, strerror(-r));
		goto undo;
	}
	r = ipg_datapath_set_override(d->dp, d->ovr.deadline_ns);
	if (r) {
		reply_errf(q, r, "cannot start the override: %s", strerror(-r));
		goto undo;
	}
	r = ipg_fault("override-audit", &e);
	if (!r)
		r = ipg_audit_append(&d->audit, &q->who, "override-start",
				     before.s, after.s, &e);
	if (r) {
		reply_errf(q, r, "%s; the override was not started", e.msg);
		goto undo;
	}
	format_utc(d->ovr.until, when, sizeof(when));
	format_duration(secs, len, sizeof(len));
	ipg_buf_printf(&q->out,
		       "emergency override: every source passes until "
		       "%s (%s); 'ipgate override --cancel' ends it early\n",
		       when, len);
	pr_info("emergency override started by %s for %s: %s", q->who.user, len,
		d->ovr.reason);
	goto out;
undo:
	ipg_datapath_set_override(d->dp, prev_deadline);
	d->ovr = prev;
	if (ovr_save(d))
		pr_warn("cannot put back %s after a failed override",
			d->ovr_path);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

int do_override(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_error e = { { 0 } };
	uint32_t secs;
	int r;

	if (ipg_ctl_flag(q->m, "cancel")) {
		if (!d->ovr.active && !override_left(d)) {
			ipg_buf_printf(&q->out, "no override is running\n");
			return 0;
		}
		r = ovr_end(d, &q->who, "cancelled", &e);
		if (r)
			return reply_err(q, r, e.msg);
		ipg_buf_printf(&q->out, "override cancelled: the allowlist is "
					"enforced again\n");
		return 0;
	}
	r = override_args(q, &secs);
	return r ? r : override_start(q, secs);
}

/* An override that ran out (the kernel already enforces again) is
 * audited once, also when it ran out while the daemon was down. */
void ovr_check(struct daemon *d)
{
	struct ipg_actor who = { .uid = getuid(),
				 .pid = getpid(),
				 .user = "ipgated" };
	struct ipg_error e;

	if (d->ovr.active && !override_left(d) &&
	    ovr_end(d, &who, "expired", &e))
		pr_warn("%s", e.msg);
}
