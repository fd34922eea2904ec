/* SPDX-License-Identifier: GPL-2.0 */
/* The reference model: the verdict the XDP program must reach for a frame,
 * written as plain C from docs/design.md's per-packet decision, for tests
 * and `ipgate test`. */
#ifndef IPGATE_VERDICT_H
#define IPGATE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipgate/frame.h"
#include "ipgate/stats.h"
#include "policy.h"
#include "prefix.h"

struct ipg_verdict {
	int action; /* XDP_PASS, XDP_DROP or XDP_TX */
	enum ipg_stat stat; /* the counter the program moves */
	uint32_t list; /* the id of the list that judged (0: default) */
	/* index of the allowing entry in that list's policy, or -1 */
	int entry;
};

/* A named list as a decision sees it. */
struct ipg_verdict_list {
	uint32_t id; /* 1 and up */
	const struct ipg_policy_spec *policy;
	const struct ipg_prefix *dsts; /* the destinations it guards */
	size_t n_dsts;
	bool override_active; /* its own override runs */
};

/* What besides the policy a decision reads at one moment. */
struct ipg_verdict_env {
	bool override_active; /* the host-wide emergency override runs */
	bool default_override; /* the default list's own override runs */
	const struct ipg_prefix *grants; /* live break-glass grants */
	size_t n_grants;
	/* The list each grant opens (IPG_LIST_ANY: every list); NULL: all
	 * of them open every list. */
	const uint32_t *grant_lists;
	/* Named lists; a destination none of them guards is the default
	 * list's (the policy ipg_verdict_eval() is given). */
	const struct ipg_verdict_list *lists;
	size_t n_lists;
	/* This host's addresses: reject mode answers only SYNs to them. */
	const struct ipg_prefix *local;
	size_t n_local;
	/* Where the frame starts (IPG_FRAME_ETH: an Ethernet header), and so
	 * which entry point judges it. */
	enum ipg_frame frame;
	/* Unix time of the decision: an entry that expired by then matches
	 * nothing (0: none has). */
	int64_t now;
};

/* Judges frame @pkt of @len bytes under default policy @s and @env (NULL:
 * an Ethernet frame, no override, no grants, no local addresses, no named
 * lists). */
void ipg_verdict_eval(const struct ipg_policy_spec *s,
		      const struct ipg_verdict_env *env, const uint8_t *pkt,
		      size_t len, struct ipg_verdict *v);

/* The named list in @env guarding destination @dst (family 4 or 6, a full
 * address; IPv4-mapped IPv6 is taken as IPv4), or NULL for the default. */
const struct ipg_verdict_list *
ipg_verdict_list_for(const struct ipg_verdict_env *env, int family,
		     const uint8_t *dst);

const char *ipg_stat_name(enum ipg_stat stat);
const char *ipg_action_name(int action);

#endif
