/* SPDX-License-Identifier: GPL-2.0 */
/* The datapath handle's insides, shared by datapath*.c; not part of
 * libipgate's interface (datapath.h is). */
#ifndef IPGATE_DATAPATH_INT_H
#define IPGATE_DATAPATH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"
#include "ipgate.skel.h"

struct ipg_datapath {
	struct ipgate *skel;
	char pin_dir[256]; /* empty when nothing is pinned */
	bool adopted;
	int ncpus;
	int trie[2][IPG_SLOTS]; /* [v4, v6][slot] */
	uint64_t *percpu; /* scratch for per-CPU reads */
	int addr_watch; /* netlink socket for host address changes, or -1 */
};

/* The program's entry points by enum ipg_frame: each is pinned under, and
 * reported by the kernel with, this name. */
#define IPG_N_FRAMES 2
extern const char *const ipg_prog_names[IPG_N_FRAMES];

static inline struct bpf_program *
ipg_datapath_prog(const struct ipg_datapath *dp, enum ipg_frame f)
{
	return f == IPG_FRAME_IP ? dp->skel->progs.ipgate_xdp_l3 :
				   dp->skel->progs.ipgate_xdp;
}

#endif
