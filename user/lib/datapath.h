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
#include "ipgate/table.h"
#include "log.h"
#include "policy.h"

#define IPG_PIN_DIR_DEFAULT "/sys/fs/bpf/ipgate"

struct ipg_datapath;

struct ipg_datapath_opts {
	const char *pin_dir; /* NULL: nothing is pinned (tests, benches) */
	uint32_t trie_capacity; /* 0: IPG_TRIE_CAPACITY_DEFAULT */
	/* Map sizes (0: the least, limits.h); ipg_datapath_size() makes
	 * them from what a config holds. Pinned maps are adopted when they
	 * are at least this large. */
	uint32_t lists_max; /* lists, the default one included */
	uint32_t rules_max; /* rule ids: entries of all lists together */
	uint32_t ports_max; /* protected-port sets in use at once */
	uint32_t dsts_max; /* destination addresses of each family */
};

/* Sizes @o's maps for a config of @lists lists (the default included)
 * whose max-entries add up to @entries, with @portsets distinct protected
 * port sets and @dsts destination addresses: twice that, at least the
 * least, so that a config can grow to twice its size without a restart. */
void ipg_datapath_size(struct ipg_datapath_opts *o, uint32_t lists,
		       uint32_t entries, uint32_t portsets, uint32_t dsts);

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

/* Writes @s into the default list's inactive slot, flips to it with one
 * store, then waits until no running program can still read the old slot.
 * Gives each entry of @s its rule id: the one its prefix has in the live
 * slot, else one no list uses. */
int ipg_datapath_apply(struct ipg_datapath *dp, struct ipg_policy_spec *s,
		       struct ipg_error *e);

/* Named lists. Ids are kept in the kernel (ipg_lists) with the name, so
 * a restart that adopts the maps finds each list under its old id. */
/* The id of list @name ("default": 0), making one (empty, disabled,
 * guarding no destination) when there is none; -ENOSPC when the maps hold
 * no more lists. */
int ipg_datapath_list_open(struct ipg_datapath *dp, const char *name,
			   uint32_t *id, struct ipg_error *e);
/* The same for @n lists at once (@ids gets each one's id): the new lists'
 * tries reach the kernel in one batch, so opening 1,000 lists waits for
 * one grace period, not thousands. Refuses before any change when the
 * maps have no room for all. */
int ipg_datapath_lists_open(struct ipg_datapath *dp, const char *const *names,
			    int n, uint32_t *ids, struct ipg_error *e);
/* The id of list @name, or -ENOENT. */
int ipg_datapath_list_id(const struct ipg_datapath *dp, const char *name,
			 uint32_t *id);
/* The name of list @id, or NULL when the id is free. */
const char *ipg_datapath_list_name(const struct ipg_datapath *dp, uint32_t id);
/* Every list's id in use (the default first); returns how many. */
int ipg_datapath_list_ids(const struct ipg_datapath *dp, uint32_t *out,
			  int max);
/* Removes named list @id: its destinations go back to the default list
 * first, then its tries, policy, override and name are dropped and its
 * rule ids freed. */
int ipg_datapath_list_close(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_error *e);
/* ipg_datapath_apply() for list @id. */
int ipg_datapath_apply_list(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_policy_spec *s, struct ipg_error *e);
/* Makes @addrs (/32 or /128 each) the destinations list @id guards:
 * each is pointed at @id (taking it from any other list), then those
 * that pointed at @id and are not in @addrs go back to the default. */
int ipg_datapath_set_dsts(struct ipg_datapath *dp, uint32_t id,
			  const struct ipg_prefix *addrs, int n,
			  struct ipg_error *e);
/* Makes the @n destinations @addrs, each guarded by list @ids[k], all the
 * named lists' destinations at once: one flip of the destination table,
 * so that an address moving between lists, or a list renamed, is never
 * judged by the default list meanwhile. Nothing changes when they are
 * already so. */
int ipg_datapath_set_all_dsts(struct ipg_datapath *dp, const uint32_t *ids,
			      const struct ipg_prefix *addrs, int n,
			      struct ipg_error *e);
/* The list destination @addr belongs to, as the program finds it (an
 * IPv4-mapped address as IPv4); 0 for the default list. */
uint32_t ipg_datapath_dst_list(const struct ipg_datapath *dp,
			       const struct ipg_prefix *addr);
/* List @id's live protected ports; -ENOENT when unknown. */
int ipg_datapath_list_ports(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_ports *out);
/* The destinations list @id guards; returns how many (at most @max). */
int ipg_datapath_list_dsts(const struct ipg_datapath *dp, uint32_t id,
			   struct ipg_prefix *out, int max);
/* The map sizes in effect, and the kernel memory all maps take (the
 * "memlock" the kernel reports for each, named lists' tries included). */
void ipg_datapath_sizes(const struct ipg_datapath *dp,
			struct ipg_datapath_opts *out);
int ipg_datapath_memory(struct ipg_datapath *dp, uint64_t *bytes);

/* The default list's live slot's entries (prefix and rule id; no labels)
 * into @out, room for IPG_RULES_MAX; returns how many, or a negative
 * errno. */
int ipg_datapath_rules(struct ipg_datapath *dp, struct ipg_entry *out);
/* Looks @addr up in the default list's live trie as the program does;
 * returns 0 and the rule id, or -ENOENT when no entry covers it. */
int ipg_datapath_lookup(struct ipg_datapath *dp, const struct ipg_prefix *addr,
			uint32_t *rule_id);
/* The default list's live slot's settings and generation. */
int ipg_datapath_active(struct ipg_datapath *dp, struct ipg_policy *out);
/* The same three for list @id. */
int ipg_datapath_list_rules(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_entry *out);
int ipg_datapath_list_lookup(struct ipg_datapath *dp, uint32_t id,
			     const struct ipg_prefix *addr, uint32_t *rule_id);
int ipg_datapath_list_active(struct ipg_datapath *dp, uint32_t id,
			     struct ipg_policy *out);

/* Flattens the IPv4 entries of @entries (@n, rule ids given) into range
 * table @t, longest match first as the trie answers; an entry that
 * expires is marked for the program to ask the trie. Returns how many
 * ranges it holds, or -E2BIG when they do not fit (the slot then keeps to
 * its trie). */
int ipg_v4_table_build(const struct ipg_entry *entries, uint32_t n,
		       struct ipg_v4_table *t);

/* CLOCK_BOOTTIME in ns: the clock the XDP program's override deadline and
 * the meta record use (bpf_ktime_get_boot_ns). */
uint64_t ipg_boot_ns(void);

/* An entry's expiry (Unix time in s; 0: never) as the boot-time ns the
 * XDP program compares (a time already past: 1), and back. The clocks are
 * paired when the entry is written: a later step of the wall clock moves
 * the kernel's deadline no more than it moves the override's. */
uint64_t ipg_expiry_boot_ns(int64_t expires);
int64_t ipg_expiry_wall(uint64_t boot_ns);

/* Emergency override deadline in boot-time ns; 0 ends it. For every list
 * (the host-wide emergency), or for list @id alone. */
int ipg_datapath_set_override(struct ipg_datapath *dp, uint64_t deadline_ns);

/* Chains the XDP program pinned at @path (NULL or "": none) after ipgate:
 * it gets every frame ipgate passes. Refuses, saying why and changing
 * nothing, a path with no program, a program that is not XDP, or one that
 * cannot be tail-called from ipgate's (it must declare xdp.frags too). */
int ipg_datapath_set_chain(struct ipg_datapath *dp, const char *path,
			   struct ipg_error *e);
/* The blocked-source log's ring buffer (struct ipg_blocked_event), and
 * its budget: reports a second per list and CPU (0: off). */
int ipg_datapath_blocked_fd(const struct ipg_datapath *dp);
int ipg_datapath_set_blocked_budget(struct ipg_datapath *dp, uint32_t n);
/* A new second for the budget: ipgated calls it once a second. */
int ipg_datapath_blocked_tick(struct ipg_datapath *dp);
/* The chained program's id and name (id 0: none). */
int ipg_datapath_chain(struct ipg_datapath *dp, uint32_t *id, char name[16]);
int ipg_datapath_get_override(struct ipg_datapath *dp, uint64_t *deadline_ns);
int ipg_datapath_set_list_override(struct ipg_datapath *dp, uint32_t id,
				   uint64_t deadline_ns);
int ipg_datapath_get_list_override(struct ipg_datapath *dp, uint32_t id,
				   uint64_t *deadline_ns);

/* Break-glass grants: @addr (a /32 or /128) passes until boot-time
 * @expiry_ns, enforced by the XDP program itself. The grant map keeps the
 * key id too, so it is the one record of who made each grant. */
struct ipg_grant {
	struct ipg_prefix addr;
	uint64_t expiry_ns;
	uint32_t list_id; /* the list it opens; IPG_LIST_ANY: every list */
	char key_id[IPG_GRANT_KEY_ID_MAX + 1];
};
/* -EINVAL when @key_id is empty or longer than IPG_GRANT_KEY_ID_MAX. */
int ipg_datapath_grant(struct ipg_datapath *dp, const struct ipg_prefix *addr,
		       uint32_t list_id, uint64_t expiry_ns,
		       const char *key_id);
int ipg_datapath_ungrant(struct ipg_datapath *dp, const struct ipg_prefix *addr,
			 uint32_t list_id);
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
	/* Another tool's program is attached instead: its id (0: none) and
	 * name (of whichever program is attached). */
	uint32_t foreign_id;
	char prog_name[16];
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

/* Counters summed over CPUs: of every list together, or of list @id. */
int ipg_datapath_stats(struct ipg_datapath *dp, uint64_t out[IPG_STAT_MAX]);
int ipg_datapath_list_stats(struct ipg_datapath *dp, uint32_t id,
			    uint64_t out[IPG_STAT_MAX]);
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
