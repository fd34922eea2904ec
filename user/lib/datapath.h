/* SPDX-License-Identifier: GPL-2.0 */
/* The datapath: load or adopt the XDP program and its pinned maps, attach
 * it to interfaces, apply a policy by building the inactive slot and
 * flipping, and read counters. */
#ifndef IPGATE_DATAPATH_H
#define IPGATE_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipgate/frame.h"
#include "ipgate/stats.h"
#include "log.h"
#include "policy.h"

#define IPG_PIN_DIR_DEFAULT "/sys/fs/bpf/ipgate"

struct ipg_datapath;

struct ipg_datapath_opts {
	const char *pin_dir; /* NULL: nothing is pinned (tests, benches) */
	uint32_t trie_capacity; /* 0: IPG_TRIE_CAPACITY_DEFAULT */
};

enum ipg_xdp_mode {
	IPG_XDP_AUTO = 0, /* native, falling back to generic with a warning */
	IPG_XDP_NATIVE,
	IPG_XDP_GENERIC,
};

/* Loads the program; with a pin directory, adopts maps pinned there by a
 * compatible earlier run (keeping their policy and counters) or pins new
 * ones. Mounts bpffs at /sys/fs/bpf when it is missing. */
int ipg_datapath_open(struct ipg_datapath **dp,
		      const struct ipg_datapath_opts *opts,
		      struct ipg_error *e);
/* Frees userspace state; pins and attachments stay and keep enforcing. */
void ipg_datapath_close(struct ipg_datapath *dp);

/* Whether open adopted an existing pinned policy. */
bool ipg_datapath_adopted(const struct ipg_datapath *dp);

/* Writes @s into the inactive slot, flips to it with one store, then waits
 * until no running program can still read the old slot. */
int ipg_datapath_apply(struct ipg_datapath *dp, const struct ipg_policy_spec *s,
		       struct ipg_error *e);

/* The live slot's entries (prefix and rule id; no labels) into @out, room
 * for IPG_RULES_MAX; returns how many, or a negative errno. */
int ipg_datapath_rules(struct ipg_datapath *dp, struct ipg_entry *out);
/* Looks @addr up in the live slot's trie as the program does; returns 0
 * and the rule id, or -ENOENT when no entry covers it. */
int ipg_datapath_lookup(struct ipg_datapath *dp, const struct ipg_prefix *addr,
			uint32_t *rule_id);

/* The live slot's settings and generation. */
int ipg_datapath_active(struct ipg_datapath *dp, struct ipg_policy *out);

/* CLOCK_BOOTTIME in ns: the clock the XDP program's override deadline and
 * the meta record use (bpf_ktime_get_boot_ns). */
uint64_t ipg_boot_ns(void);

/* Emergency override deadline in boot-time ns; 0 ends it. */
int ipg_datapath_set_override(struct ipg_datapath *dp, uint64_t deadline_ns);
int ipg_datapath_get_override(struct ipg_datapath *dp, uint64_t *deadline_ns);

/* Break-glass grants: @addr (a /32 or /128) passes until boot-time
 * @expiry_ns, enforced by the XDP program itself. The grant map keeps the
 * key id too, so it is the one record of who made each grant. */
struct ipg_grant {
	struct ipg_prefix addr;
	uint64_t expiry_ns;
	uint32_t list_id; /* 0: every list */
	char key_id[IPG_GRANT_KEY_ID_MAX + 1];
};
/* -EINVAL when @key_id is empty or longer than IPG_GRANT_KEY_ID_MAX. */
int ipg_datapath_grant(struct ipg_datapath *dp, const struct ipg_prefix *addr,
		       uint64_t expiry_ns, const char *key_id);
int ipg_datapath_ungrant(struct ipg_datapath *dp,
			 const struct ipg_prefix *addr);
/* Every grant in the maps, expired ones included; returns how many. */
int ipg_datapath_grants(struct ipg_datapath *dp, struct ipg_grant *out,
			size_t max);

/* Attaches to @ifname, atomically replacing an earlier ipgate program;
 * refuses to replace another tool's program. The interface's link type
 * picks the entry point (ipg_link_frame): Ethernet and loopback devices get
 * ipgate_xdp, header-less IP devices (tun, WireGuard) ipgate_xdp_l3 in
 * generic mode (native mode is refused there; auto means generic); any
 * other link type is refused with -EOPNOTSUPP. @mode_out gets the mode. */
int ipg_datapath_attach(struct ipg_datapath *dp, const char *ifname,
			enum ipg_xdp_mode mode, enum ipg_xdp_mode *mode_out,
			struct ipg_error *e);
/* Detaches ipgate from @ifname; leaves another tool's program alone. */
int ipg_datapath_detach(const char *ifname, struct ipg_error *e);
/* What runs on an interface, as far as ipgate is concerned. */
struct ipg_attachment {
	enum ipg_xdp_mode mode;
	enum ipg_frame frame; /* the frames the attached program judges */
	unsigned link_type; /* ARPHRD_* of the interface */
	bool attached; /* one of ipgate's programs is attached */
	/* ... the one for this link type, in a mode in which it sees the
	 * interface's packets: only then is the interface protected. */
	bool protecting;
};
int ipg_datapath_attachment(const char *ifname, struct ipg_attachment *a);
/* Which mode ipgate protects @ifname in; -ENOENT when it is not attached,
 * -EMEDIUMTYPE when what is attached cannot judge the interface's frames
 * (the wrong entry point for its link type, or native mode on a
 * header-less device). */
int ipg_datapath_attached(const char *ifname, enum ipg_xdp_mode *mode);

/* This host's addresses, which reject mode reads: a SYN gets a reset only
 * when addressed to one of them. Replaces the set with @addrs (/32, /128). */
int ipg_datapath_set_local_addrs(struct ipg_datapath *dp,
				 const struct ipg_prefix *addrs, size_t n);
/* The set as the program sees it; returns how many (at most @max). */
int ipg_datapath_local_addrs(struct ipg_datapath *dp, struct ipg_prefix *out,
			     size_t max);
/* Sets them to the addresses of every interface in the current network
 * namespace, and starts watching for changes (the first time). */
int ipg_datapath_sync_local_addrs(struct ipg_datapath *dp, struct ipg_error *e);
/* Never blocks: when an address was added or removed since the last sync,
 * syncs again and returns 1; returns 0 when nothing changed. */
int ipg_datapath_local_addrs_poll(struct ipg_datapath *dp, struct ipg_error *e);
/* The watch's netlink socket (readable when addresses change), for an
 * event loop that prefers it to polling; -1 before the first sync. */
int ipg_datapath_local_addrs_fd(const struct ipg_datapath *dp);

/* Counters summed over CPUs. */
int ipg_datapath_stats(struct ipg_datapath *dp, uint64_t out[IPG_STAT_MAX]);
int ipg_datapath_rule_hits(struct ipg_datapath *dp, uint32_t rule_id,
			   uint64_t *out);

/* Runs the loaded program on @pkt with BPF_PROG_TEST_RUN. A probe leaves
 * the counters alone. @out (may be NULL) gets the frame as the program left
 * it. Returns 0 and the XDP action in *action. */
int ipg_datapath_run(struct ipg_datapath *dp, const void *pkt, size_t len,
		     bool probe, int *action, void *out, size_t *out_len);
/* The same with the entry point for frames starting at @frame. */
int ipg_datapath_run_frame(struct ipg_datapath *dp, enum ipg_frame frame,
			   const void *pkt, size_t len, bool probe, int *action,
			   void *out, size_t *out_len);

/* The Ethernet entry point's fd (benches). */
int ipg_datapath_prog_fd(const struct ipg_datapath *dp);
/* The map of @name's fd (e.g. "ipg_v4_slot0"), for tests and benches. */
int ipg_datapath_map_fd(const struct ipg_datapath *dp, const char *name);

/* Removes every pin under the directory (the program stays attached where
 * it is until detached). */
int ipg_datapath_unpin(struct ipg_datapath *dp);

#endif
