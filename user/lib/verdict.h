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
	int entry; /* index of the allowing entry, or -1 */
};

/* What besides the policy a decision reads at one moment. */
struct ipg_verdict_env {
	bool override_active; /* an emergency override runs */
	const struct ipg_prefix *grants; /* live break-glass grants */
	size_t n_grants;
	/* This host's addresses: reject mode answers only SYNs to them. */
	const struct ipg_prefix *local;
	size_t n_local;
	/* Where the frame starts (IPG_FRAME_ETH: an Ethernet header), and so
	 * which entry point judges it. */
	enum ipg_frame frame;
};

/* Judges frame @pkt of @len bytes under policy @s and @env (NULL: an
 * Ethernet frame, no override, no grants, no local addresses). */
void ipg_verdict_eval(const struct ipg_policy_spec *s,
		      const struct ipg_verdict_env *env, const uint8_t *pkt,
		      size_t len, struct ipg_verdict *v);

const char *ipg_stat_name(enum ipg_stat stat);
const char *ipg_action_name(int action);

#endif
