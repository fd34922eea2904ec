/* SPDX-License-Identifier: GPL-2.0 */
/* The reference model: the verdict the XDP program must reach for a frame,
 * written as plain C from DESIGN.md's decision, for tests and `ipgate test`. */
#ifndef IPGATE_VERDICT_H
#define IPGATE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipgate/stats.h"
#include "policy.h"

struct ipg_verdict {
	int action;         /* XDP_PASS, XDP_DROP or XDP_TX */
	enum ipg_stat stat; /* the counter the program moves */
	int entry;          /* index of the allowing entry, or -1 */
};

/* Judges frame @pkt of @len bytes under policy @s; @override_active says
 * whether an emergency override is running. */
void ipg_verdict_eval(const struct ipg_policy_spec *s, bool override_active,
		      const uint8_t *pkt, size_t len, struct ipg_verdict *v);

const char *ipg_stat_name(enum ipg_stat stat);
const char *ipg_action_name(int action);

#endif
