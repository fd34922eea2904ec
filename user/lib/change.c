// SPDX-License-Identifier: GPL-2.0
/* The guards and the change pipeline's order and rollback; see change.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "change.h"

bool ipg_addr_allowed(const struct ipg_policy_spec *s,
		      const struct ipg_prefix *addr)
{
	return !s->kern.enabled || s->kern.mode == IPG_MODE_SHADOW ||
	       ipg_policy_match(s, addr, (int64_t)time(NULL)) >= 0;
}

/* The guards for one list: @name's policy going from @cur (NULL: the list
 * is new) to @p. */
static int guard_list(const char *name, const struct ipg_policy_spec *cur,
		      const struct ipg_policy_spec *p,
		      const struct ipg_guard_who *who, struct ipg_error *e)
{
	char who_list[IPG_LIST_NAME_MAX + 16] = "";

	if (strcmp(name, "default"))
		snprintf(who_list, sizeof(who_list), "list %s: ", name);
	/* (In shadow mode an empty list blocks nothing.) */
	if (p->kern.enabled && !p->n_entries &&
	    p->kern.mode != IPG_MODE_SHADOW &&
	    !(cur && cur->kern.enabled && !cur->n_entries &&
	      cur->kern.mode != IPG_MODE_SHADOW)) {
		struct ipg_buf ports = { 0 };

		ipg_config_ports(&p->ports, &ports);
		ipg_fail(e, -EPERM,
			 "refused: %san enabled, empty allowlist blocks every "
			 "source on %s; add entries first, or repeat with "
			 "--force",
			 who_list, ports.s ? ports.s : "");
		ipg_buf_free(&ports);
		return -EPERM;
	}
	if (who->client && !who->server_only && cur &&
	    ipg_addr_allowed(cur, who->client) &&
	    !ipg_addr_allowed(p, who->client))
		return ipg_fail(
			e, -EPERM,
			"refused: %sthis change would block your own "
			"address %s (from %s); add an entry that "
			"covers it first, or repeat with --force",
			who_list, who->client_text ? who->client_text : "?",
			who->client_source ? who->client_source : "--client");
	return 0;
}

int ipg_guard_check(const struct ipg_config *cur, const struct ipg_config *next,
		    const struct ipg_guard_who *who, struct ipg_error *e)
{
	int r;

	if (who->force)
		return 0;
	/* The list the session's own address is in, before and after: a
	 * change of which list guards it counts too. */
	if (who->client && who->server) {
		const struct ipg_config_list *a = ipg_config_list_for(
						     cur, who->server),
					     *b = ipg_config_list_for(
						     next, who->server);
		const struct ipg_policy_spec *pa = a ? &a->policy :
						       &cur->policy,
					     *pb = b ? &b->policy :
						       &next->policy;

		if (ipg_addr_allowed(pa, who->client) &&
		    !ipg_addr_allowed(pb, who->client))
			return ipg_fail(
				e, -EPERM,
				"refused: after this change list %s guards "
				"this host's address your session came to, "
				"and blocks your own address %s (from %s); "
				"add an entry that covers it first, or repeat "
				"with --force",
				b ? b->name : "default",
				who->client_text ? who->client_text : "?",
				who->client_source ? who->client_source :
						     "--client");
	}
	r = guard_list("default", &cur->policy, &next->policy, who, e);
	for (int i = 0; i < next->n_lists && !r; i++) {
		const struct ipg_config_list *l = next->lists[i];

		if (i < cur->n_lists && cur->lists[i] == l)
			continue; /* shared: unchanged */
		r = guard_list(l->name, ipg_config_policy(cur, l->name),
			       &l->policy, who, e);
	}
	return r;
}

/* Puts @cur back after a failed change to @next: flip back, detach what
 * the change attached, and (when it was written) the file. */
static void undo(const struct ipg_change_ops *ops, void *ctx,
		 struct ipg_config *cur, const struct ipg_config *next,
		 bool persist)
{
	struct ipg_error e = { { 0 } };
	char msg[sizeof(e.msg) + 16];

	if (ops->apply(ctx, next, cur, &e)) {
		snprintf(msg, sizeof(msg), "rollback: %s", e.msg);
		ops->warn(ctx, msg);
	}
	ops->detach(ctx, next, cur);
	if (persist && ops->save(ctx, cur, &e)) {
		snprintf(msg, sizeof(msg), "rollback: %s", e.msg);
		ops->warn(ctx, msg);
	}
}

int ipg_change_run(const struct ipg_change_ops *ops, void *ctx,
		   struct ipg_config *cur, struct ipg_config *next,
		   bool persist, const char *action,
		   const struct ipg_config_diff *diff, struct ipg_error *e)
{
	struct ipg_error step = { { 0 } };
	int r;

	if (persist) {
		r = ops->save(ctx, next, e);
		if (r)
			return r; /* nothing was done yet */
	}
	r = ops->attach(ctx, cur, next, e);
	if (!r)
		r = ops->apply(ctx, cur, next, e);
	if (!r) {
		r = ops->audit(ctx, action, diff->before.s, diff->after.s,
			       &step);
		if (r)
			ipg_fail(e, r, "%s; the change was undone", step.msg);
	}
	if (r) {
		undo(ops, ctx, cur, next, persist);
		return r;
	}
	ops->detach(ctx, cur, next);
	return 0;
}
