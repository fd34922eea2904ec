/* SPDX-License-Identifier: GPL-2.0 */
/* The datapath handle's insides, shared by datapath*.c; not part of
 * libipgate's interface (datapath.h is). */
#ifndef IPGATE_DATAPATH_INT_H
#define IPGATE_DATAPATH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "datapath.h"
#include "ipgate.skel.h"

/* What userspace knows of one list id: a mirror of the kernel's maps,
 * made at open (read back when the maps are adopted) and kept with every
 * change, so that a change to one list reads nothing of the others. */
struct ipg_dp_list {
	char name[IPG_LIST_NAME_MAX + 1]; /* empty: the id is free */
	uint32_t ports[IPG_SLOTS]; /* each slot's port set, or NO_PORTS */
	struct ipg_entry *rules; /* the live slot's (prefix, rule id) */
	uint32_t n_rules;
	/* The grace period that must end before the inactive slot is
	 * written again (0: none pending): see struct ipg_grace. */
	uint64_t flip_seq;
	bool fresh; /* opened and never guarding a destination */
};

/* Grace periods off the request path. After a flip, the retired slot may
 * be written again only once every program that read the old active word
 * has finished: an RCU grace period, which a map-in-map update waits for
 * (several ms). A thread runs them; a flip asks for one (its sequence
 * number), and the next write of that list's inactive slot waits until it
 * has ended. One grace period serves every flip asked for before it. */
struct ipg_grace {
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t requested, completed;
	int err; /* the last wait's error; the waiters fall back to their own */
};
#define IPG_DP_NO_PORTS UINT32_MAX

/* A destination a named list guards. */
struct ipg_dp_dst {
	struct ipg_prefix addr;
	uint32_t id;
};

struct ipg_datapath {
	struct ipgate *skel;
	char pin_dir[256]; /* empty when nothing is pinned */
	bool adopted;
	int ncpus;
	uint64_t *percpu; /* scratch for per-CPU reads */
	int addr_watch; /* netlink socket for host address changes, or -1 */
	struct ipg_meta size; /* the maps' sizes */
	struct ipg_dp_list *lists; /* [size.lists_max] */
	uint8_t *rule_used; /* bitmap of rule ids the live slots use */
	struct ipg_ports *portsets; /* [size.ports_max], as written */
	bool *portset_written; /* [size.ports_max] */
	struct ipg_dp_dst *dsts; /* room for size.dsts_max */
	uint32_t n_dsts;
	uint32_t dst_slots; /* of one destination table */
	uint64_t dsts_flip_seq; /* grace after the last table flip */
	struct ipg_grace grace;
};

#define MAPFD(dp, m) bpf_map__fd((dp)->skel->maps.m)

/* Helpers of datapath_lists.c for datapath_flip.c. */
static inline bool ipg_dp_rule_used(const struct ipg_datapath *dp, uint32_t id)
{
	return dp->rule_used[id >> 3] & (1u << (id & 7));
}
void ipg_dp_rule_mark(struct ipg_datapath *dp, uint32_t id, bool used);
/* An fd for the trie of @family (4 or 6) at outer index @idx; the caller
 * closes it. */
int ipg_dp_trie_fd(struct ipg_datapath *dp, int family, uint32_t idx);
/* ipg_active[@id]. */
int ipg_dp_read_word(struct ipg_datapath *dp, uint32_t id, __u32 *word);
/* Sets (@on) or clears @bit of ipg_active[0]'s IPG_ACTIVE_HINTS; callers
 * set it after writing what it announces and clear it before removing
 * that (or after, when what remains is harmless to look at). */
int ipg_dp_set_hint(struct ipg_datapath *dp, __u32 bit, bool on);
/* Writes deadline @ns (0: none) to ipg_override[@key], setting
 * IPG_ACTIVE_OVERRIDE after a deadline and clearing it once none is left. */
int ipg_dp_write_override(struct ipg_datapath *dp, __u32 key, __u64 ns);
/* Sets every hint from what the maps hold (adopted maps). */
int ipg_dp_sync_hints(struct ipg_datapath *dp);
/* The mirror of list @id, or NULL when the id is free. */
struct ipg_dp_list *ipg_dp_list_at(const struct ipg_datapath *dp, uint32_t id);
int ipg_dp_zero_percpu(struct ipg_datapath *dp, int fd, __u32 key);
/* Writes list @id's name ("" frees the id) to ipg_lists. */
int ipg_dp_write_info(struct ipg_datapath *dp, uint32_t id, const char *name);

/* Reads the kernel's lists, rules, port sets and destinations into the
 * mirror (adopted maps), or starts it for fresh, empty maps. */
int ipg_dp_mirror_init(struct ipg_datapath *dp, struct ipg_error *e);
void ipg_dp_mirror_free(struct ipg_datapath *dp);
/* Stops the grace thread (close). */
void ipg_dp_grace_stop(struct ipg_datapath *dp);
/* Asks for a grace period after a flip; returns its number (0: waited
 * for already). */
uint64_t ipg_dp_grace_request(struct ipg_datapath *dp);
/* Returns once grace period @seq (0: none) has ended. */
int ipg_dp_grace_wait(struct ipg_datapath *dp, uint64_t seq);

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
