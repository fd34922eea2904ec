/* SPDX-License-Identifier: GPL-2.0 */
/* The change pipeline's decisions, apart from the daemon: the guards a
 * change must pass, and the order of its steps with the rollback of a step
 * that fails (docs/design.md, "Every change"). The steps that touch the
 * kernel, the file and the log are behind struct ipg_change_ops, so unit
 * tests run the pipeline against fakes. */
#ifndef IPGATE_CHANGE_H
#define IPGATE_CHANGE_H

#include <stdbool.h>

#include "config.h"
#include "log.h"
#include "prefix.h"

/* Whether @addr may reach protected ports under policy @s (ignoring
 * overrides and grants): the list is disabled, or an entry covers it. */
bool ipg_addr_allowed(const struct ipg_policy_spec *s,
		      const struct ipg_prefix *addr);

/* Who asks for a change, as far as the guards care. */
struct ipg_guard_who {
	const struct ipg_prefix *client; /* the requester's address, or NULL */
	const char *client_text; /* as given, for the message */
	const char *client_source; /* "SSH_CONNECTION", "--client", ... */
	/* The host's address the requester's session came to, or NULL: the
	 * list guarding it must keep letting the requester in. */
	const struct ipg_prefix *server;
	/* The requester's reach depends on @server's list alone (an HTTP
	 * connection, whose two ends are known): other lists' changes do
	 * not lock it out. */
	bool server_only;
	bool force; /* --force: skip the guards */
};

/* The guards, for each list (the default and every named one, paired by
 * name): refuses (-EPERM, with the list, the reason and the way past it) a
 * change from @cur to @next that enables an empty list (unless the list
 * was already enabled and empty), or that makes a list block the
 * requester's own address where it passes today. Returns 0 when the change
 * may go on. */
int ipg_guard_check(const struct ipg_config *cur, const struct ipg_config *next,
		    const struct ipg_guard_who *who, struct ipg_error *e);

/* The steps of a change that touch the world, each returning 0 or a
 * negative errno with a message in @e. */
struct ipg_change_ops {
	/* Writes the files of @c a change touches: those @c marks dirty, and
	 * on a rollback the ones the change wrote. */
	int (*save)(void *ctx, struct ipg_config *c, struct ipg_error *e);
	/* Attaches to the interfaces of @next that @prev lacks; on failure
	 * detaches what it attached. */
	int (*attach)(void *ctx, const struct ipg_config *prev,
		      const struct ipg_config *next, struct ipg_error *e);
	/* Detaches from the interfaces of @prev that @next lacks. */
	void (*detach)(void *ctx, const struct ipg_config *prev,
		       const struct ipg_config *next);
	/* Builds the inactive slot of each list that differs between @prev
	 * and @next from @next and flips it; drops lists @next lacks. Sets
	 * the rule ids of @next's entries to the kernel's. */
	int (*apply)(void *ctx, const struct ipg_config *prev,
		     struct ipg_config *next, struct ipg_error *e);
	/* Appends the audit record. */
	int (*audit)(void *ctx, const char *action, const char *before,
		     const char *after, struct ipg_error *e);
	/* Says that undoing a failed change failed too (kernel, file and log
	 * may disagree now). */
	void (*warn)(void *ctx, const char *msg);
};

/* Makes @next run instead of @cur, after validation and the guards:
 * persist (when @persist; a reload read the file, so it has nothing to
 * write), attach new interfaces, flip, audit, then detach interfaces no
 * longer listed. When a step fails, the steps before it are undone (flip
 * back to @cur, detach what was attached, write @cur back) so that kernel,
 * file and log agree again, and its error is returned. */
int ipg_change_run(const struct ipg_change_ops *ops, void *ctx,
		   struct ipg_config *cur, struct ipg_config *next,
		   bool persist, const char *action,
		   const struct ipg_config_diff *diff, struct ipg_error *e);

#endif
