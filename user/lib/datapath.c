// SPDX-License-Identifier: GPL-2.0
/* The datapath's core: load or adopt the program and its pinned maps,
 * apply a policy through the inactive slot, grants, counters and test
 * runs. Attachment: datapath_attach.c; host addresses: datapath_local.c. */
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_int.h"
#include "ipgate/blocked.h"
#include "ipgate/dst.h"

#define BPFFS_ROOT "/sys/fs/bpf"

const char *const ipg_prog_names[IPG_N_FRAMES] = {
	[IPG_FRAME_ETH] = "ipgate_xdp",
	[IPG_FRAME_IP] = "ipgate_xdp_l3",
};

static int in_bpffs_root(const char *dir)
{
	size_t n = strlen(BPFFS_ROOT);

	return !strncmp(dir, BPFFS_ROOT, n) && (dir[n] == '/' || !dir[n]);
}

/* Makes sure @dir can hold pins: it lies on bpffs (mounting the usual one
 * when it is missing) and exists. */
static int ensure_pin_dir(const char *dir, struct ipg_error *e)
{
	char path[PATH_MAX];
	struct statfs st;
	char *slash;

	if (dir[0] != '/' ||
	    strlen(dir) >= sizeof(((struct ipg_datapath *)0)->pin_dir))
		return ipg_fail(e, -EINVAL,
				"pin directory \"%s\" must be an absolute path "
				"shorter than 256 characters",
				dir);
	strcpy(path, dir);
	while (statfs(path, &st) < 0) {
		if (errno != ENOENT)
			return ipg_fail(e, -errno, "cannot inspect %s: %s",
					path, strerror(errno));
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			strcpy(path, "/");
		else
			*slash = '\0';
	}
	if ((unsigned long)st.f_type != BPF_FS_MAGIC) {
		if (!in_bpffs_root(dir))
			return ipg_fail(
				e, -ENOTSUP,
				"pin directory %s is not on a bpf "
				"filesystem; mount one first (mount -t "
				"bpf bpf DIR) or use a directory under " BPFFS_ROOT,
				dir);
		if (mount("bpf", BPFFS_ROOT, "bpf", 0, "mode=0700") < 0)
			return ipg_fail(e, -errno,
					"cannot mount bpffs on " BPFFS_ROOT
					": %s",
					strerror(errno));
		pr_info("mounted bpffs on " BPFFS_ROOT);
	}
	/* mkdir -p */
	strcpy(path, dir);
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return ipg_fail(e, -errno, "cannot create %s: %s", path,
					strerror(errno));
		if (!c)
			break;
		*p = c;
	}
	return 0;
}

static int read_pinned_meta(const char *dir, struct ipg_meta *m)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/ipg_meta", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	r = bpf_map_lookup_elem(fd, &zero, m) ? -errno : 0;
	close(fd);
	return r;
}

/* Removes pins of this object's maps and program from the pin dir. */
static void unpin_all(struct ipg_datapath *dp)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	bpf_object__for_each_map(map, dp->skel->obj) {
		if (bpf_map__is_internal(map))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir,
			 bpf_map__name(map));
		unlink(path);
	}
	for (size_t f = 0; f < IPG_N_FRAMES; f++) {
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir,
			 ipg_prog_names[f]);
		unlink(path);
	}
}

uint64_t ipg_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

uint64_t ipg_expiry_boot_ns(int64_t expires)
{
	int64_t left;

	if (!expires)
		return 0;
	/* Seconds left, bounded so that ns cannot overflow (about 292
	 * years); past: 1, a deadline long gone. */
	if (expires > INT64_MAX / 1000000000ll - 1)
		expires = INT64_MAX / 1000000000ll - 1;
	left = expires * 1000000000ll - wall_ns();
	if (left <= 0)
		return 1;
	return ipg_boot_ns() + (uint64_t)left;
}

int64_t ipg_expiry_wall(uint64_t boot_ns)
{
	int64_t left;

	if (!boot_ns)
		return 0;
	left = (int64_t)(boot_ns - ipg_boot_ns());
	/* To the nearest second: deadlines are whole seconds. */
	return (wall_ns() + left + 500000000ll) / 1000000000ll;
}

static int write_meta(struct ipg_datapath *dp)
{
	__u32 zero = 0;

	dp->size.abi_version = IPG_ABI_VERSION;
	dp->size.created_boot_ns = ipg_boot_ns();
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.ipg_meta), &zero,
				&dp->size, BPF_ANY))
		return -errno;
	return 0;
}

/* Whether maps of sizes @have serve a config that asks for @want. */
static bool sizes_fit(const struct ipg_meta *have, const struct ipg_meta *want)
{
	return have->abi_version == IPG_ABI_VERSION &&
	       have->trie_capacity == want->trie_capacity &&
	       have->lists_max >= want->lists_max &&
	       have->rules_max >= want->rules_max &&
	       have->ports_max >= want->ports_max &&
	       have->dsts_max >= want->dsts_max;
}

/* With a pin directory: keeps pins whose meta record says they fit (and
 * takes their sizes), removes the others, so that the load pins new maps
 * instead of adopting them. Without: tells libbpf to pin nothing. */
static void drop_foreign_pins(struct ipg_datapath *dp)
{
	struct ipg_meta meta;
	struct bpf_map *map;
	int r;

	if (!dp->pin_dir[0]) {
		bpf_object__for_each_map(map, dp->skel->obj)
			bpf_map__set_pin_path(map, NULL);
		return;
	}
	r = read_pinned_meta(dp->pin_dir, &meta);
	if (r == 0 && sizes_fit(&meta, &dp->size)) {
		dp->size = meta;
	} else if (r == 0) {
		pr_warn("maps pinned in %s are of ABI %u, %u lists, %u rules, "
			"capacity %u; this ipgate is ABI %u and the config "
			"needs %u lists, %u rules, capacity %u: replacing "
			"them with new, empty maps",
			dp->pin_dir, meta.abi_version, meta.lists_max,
			meta.rules_max, meta.trie_capacity, IPG_ABI_VERSION,
			dp->size.lists_max, dp->size.rules_max,
			dp->size.trie_capacity);
		unpin_all(dp);
	} else if (r != -ENOENT) {
		pr_warn("cannot read %s/ipg_meta (%s): replacing the "
			"pinned maps",
			dp->pin_dir, strerror(-r));
		unpin_all(dp);
	}
}

/* Sizes the maps, sets the probe cookie and loads the program (adopting
 * pinned maps where libbpf finds compatible ones). */
static int load(struct ipg_datapath *dp, struct ipg_error *e)
{
	const struct ipg_meta *z = &dp->size;
	struct {
		struct bpf_map *map;
		uint32_t n;
	} sizes[] = {
		{ dp->skel->maps.ipg_v4_slot0, z->trie_capacity },
		{ dp->skel->maps.ipg_v4_slot1, z->trie_capacity },
		{ dp->skel->maps.ipg_v6_slot0, z->trie_capacity },
		{ dp->skel->maps.ipg_v6_slot1, z->trie_capacity },
		{ dp->skel->maps.ipg_active, z->lists_max },
		{ dp->skel->maps.ipg_lists, z->lists_max },
		{ dp->skel->maps.ipg_override, 1 + z->lists_max },
		{ dp->skel->maps.ipg_blocked_budget, z->lists_max },
		{ dp->skel->maps.ipg_policy, IPG_SLOTS * z->lists_max },
		{ dp->skel->maps.ipg_v4_table, IPG_SLOTS * z->lists_max },
		{ dp->skel->maps.ipg_v4_tries, IPG_SLOTS * z->lists_max },
		{ dp->skel->maps.ipg_v6_tries, IPG_SLOTS * z->lists_max },
		{ dp->skel->maps.ipg_stats, IPG_STAT_MAX * z->lists_max },
		{ dp->skel->maps.ipg_ports, z->ports_max },
		{ dp->skel->maps.ipg_rule_hits, z->rules_max },
		{ dp->skel->maps.ipg_dsts,
		  2 * IPG_DST_SLOTS_PER_DST * z->dsts_max },
	};
	uint64_t cookie = 0;
	int r;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bpf_map__set_max_entries(sizes[i].map, sizes[i].n);
	if (getrandom(&cookie, sizeof(cookie), 0) != sizeof(cookie) || !cookie)
		cookie = 0x1a7e5eed;
	dp->skel->rodata->probe_cookie = cookie;
	dp->dst_slots = IPG_DST_SLOTS_PER_DST * z->dsts_max;
	dp->skel->rodata->dst_slots = dp->dst_slots;

	r = ipgate__load(dp->skel);
	if (r)
		return ipg_fail(e, r < 0 ? r : -EINVAL,
				"cannot load the XDP program: %s (run with -vv "
				"for the verifier's log)",
				strerror(-r));
	return 0;
}

/* After the load: marks the maps adopted when the pinned meta record says
 * so, else writes a new one; then pins both entry points. */
static int adopt_or_init(struct ipg_datapath *dp, struct ipg_error *e)
{
	char path[PATH_MAX];
	struct ipg_meta meta;
	int r;

	if (dp->pin_dir[0] && read_pinned_meta(dp->pin_dir, &meta) == 0 &&
	    sizes_fit(&meta, &dp->size)) {
		dp->adopted = true;
	} else {
		r = write_meta(dp);
		if (r)
			return ipg_fail(e, r,
					"cannot write the meta record: %s",
					strerror(-r));
	}
	r = ipg_dp_mirror_init(dp, e);
	if (r)
		return r;
	/* A daemon stopped between a map write and its hint left it wrong. */
	r = dp->adopted ? ipg_dp_sync_hints(dp) : 0;
	if (r)
		return ipg_fail(e, r, "cannot read the pinned maps: %s",
				strerror(-r));
	for (size_t f = 0; dp->pin_dir[0] && f < IPG_N_FRAMES; f++) {
		snprintf(path, sizeof(path), "%s/%s", dp->pin_dir,
			 ipg_prog_names[f]);
		unlink(path);
		r = bpf_program__pin(ipg_datapath_prog(dp, (enum ipg_frame)f),
				     path);
		if (r)
			return ipg_fail(e, r,
					"cannot pin the program at %s: %s",
					path, strerror(-r));
	}
	return 0;
}

/* The sizes @opts asks for, the least where it says 0. */
static void wanted_sizes(const struct ipg_datapath_opts *opts,
			 struct ipg_meta *m)
{
	struct ipg_datapath_opts least;

	ipg_datapath_size(&least, 0, 0, 0, 0);
	memset(m, 0, sizeof(*m));
	m->abi_version = IPG_ABI_VERSION;
	m->trie_capacity = opts->trie_capacity ? opts->trie_capacity :
						 IPG_TRIE_CAPACITY_DEFAULT;
#define PICK(f) m->f = opts->f > least.f ? opts->f : least.f
	PICK(lists_max);
	PICK(rules_max);
	PICK(ports_max);
	PICK(dsts_max);
#undef PICK
}

int ipg_datapath_open(struct ipg_datapath **out,
		      const struct ipg_datapath_opts *opts, struct ipg_error *e)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct ipg_datapath *dp;
	int r;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return ipg_fail(e, -ENOMEM, "out of memory");
	dp->addr_watch = -1;
	wanted_sizes(opts, &dp->size);
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus <= 0) {
		r = ipg_fail(e, dp->ncpus ? dp->ncpus : -EINVAL,
			     "cannot count possible CPUs");
		goto fail;
	}
	dp->percpu = calloc((size_t)dp->ncpus, sizeof(uint64_t));
	if (!dp->percpu) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto fail;
	}

	if (opts->pin_dir) {
		r = ensure_pin_dir(opts->pin_dir, e);
		if (r)
			goto fail;
		snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", opts->pin_dir);
		oo.pin_root_path = dp->pin_dir;
	}

	dp->skel = ipgate__open_opts(&oo);
	if (!dp->skel) {
		r = ipg_fail(e, -errno, "cannot open the BPF object: %s",
			     strerror(errno));
		goto fail;
	}
	drop_foreign_pins(dp);
	r = load(dp, e);
	if (!r)
		r = adopt_or_init(dp, e);
	if (r)
		goto fail;
	*out = dp;
	return 0;
fail:
	ipg_datapath_close(dp);
	return r;
}

void ipg_datapath_close(struct ipg_datapath *dp)
{
	if (!dp)
		return;
	ipg_dp_grace_stop(dp);
	ipgate__destroy(dp->skel);
	ipg_dp_mirror_free(dp);
	if (dp->addr_watch >= 0)
		close(dp->addr_watch);
	free(dp->percpu);
	free(dp);
}

bool ipg_datapath_adopted(const struct ipg_datapath *dp)
{
	return dp->adopted;
}

int ipg_datapath_prog_fd(const struct ipg_datapath *dp)
{
	return bpf_program__fd(ipg_datapath_prog(dp, IPG_FRAME_ETH));
}

int ipg_datapath_map_fd(const struct ipg_datapath *dp, const char *name)
{
	struct bpf_map *map;

	map = bpf_object__find_map_by_name(dp->skel->obj, name);
	return map ? bpf_map__fd(map) : -ENOENT;
}

int ipg_datapath_unpin(struct ipg_datapath *dp)
{
	if (!dp->pin_dir[0])
		return 0;
	unpin_all(dp);
	if (rmdir(dp->pin_dir) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	return 0;
}

int ipg_dp_set_hint(struct ipg_datapath *dp, __u32 bit, bool on)
{
	__u32 zero = 0, word;
	int r = ipg_dp_read_word(dp, 0, &word);

	if (r)
		return r;
	if (!(word & bit) == !on)
		return 0;
	word = on ? word | bit : word & ~bit;
	return bpf_map_update_elem(MAPFD(dp, ipg_active), &zero, &word,
				   BPF_ANY) ?
		       -errno :
		       0;
}

/* Whether ipg_override holds a deadline; *@any is left alone on error. */
static int any_override(struct ipg_datapath *dp, bool *any)
{
	int fd = MAPFD(dp, ipg_override);

	for (__u32 k = 0; k <= dp->size.lists_max; k++) {
		__u64 ns;

		if (bpf_map_lookup_elem(fd, &k, &ns))
			return -errno;
		if (ns) {
			*any = true;
			return 0;
		}
	}
	*any = false;
	return 0;
}

int ipg_dp_write_override(struct ipg_datapath *dp, __u32 key, __u64 ns)
{
	int fd = MAPFD(dp, ipg_override), r;
	__u64 old = 0;
	bool any;

	if (bpf_map_lookup_elem(fd, &key, &old))
		return -errno;
	if (bpf_map_update_elem(fd, &key, &ns, BPF_ANY))
		return -errno;
	if (ns)
		return ipg_dp_set_hint(dp, IPG_ACTIVE_OVERRIDE, true);
	if (!old) /* nothing ended */
		return 0;
	r = any_override(dp, &any);
	return r ? r : ipg_dp_set_hint(dp, IPG_ACTIVE_OVERRIDE, any);
}

int ipg_dp_sync_hints(struct ipg_datapath *dp)
{
	struct ipg_blocked_cfg cfg = { 0 };
	struct ipg_grant_key k;
	__u32 zero = 0, prog;
	bool any = false;
	int r = any_override(dp, &any);

	if (!r)
		r = ipg_dp_set_hint(dp, IPG_ACTIVE_OVERRIDE, any);
	if (!r)
		r = ipg_dp_set_hint(dp, IPG_ACTIVE_GRANTS,
				    !bpf_map_get_next_key(MAPFD(dp, ipg_grants),
							  NULL, &k));
	if (!r && bpf_map_lookup_elem(MAPFD(dp, ipg_blocked_cfg), &zero, &cfg))
		r = -errno;
	if (!r)
		r = ipg_dp_set_hint(dp, IPG_ACTIVE_BLOCKED, cfg.budget != 0);
	if (!r)
		r = ipg_dp_set_hint(dp, IPG_ACTIVE_CHAIN,
				    !bpf_map_lookup_elem(MAPFD(dp, ipg_chain),
							 &zero, &prog));
	return r;
}

int ipg_datapath_set_override(struct ipg_datapath *dp, uint64_t deadline_ns)
{
	return ipg_dp_write_override(dp, 0, deadline_ns);
}

int ipg_datapath_set_chain(struct ipg_datapath *dp, const char *path,
			   struct ipg_error *e)
{
	int map = bpf_map__fd(dp->skel->maps.ipg_chain), fd, r = 0;
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), zero = 0;

	if (!path || !*path) {
		/* The hint first: from then on frames pass unchained, as
		 * they would with the slot empty. */
		r = ipg_dp_set_hint(dp, IPG_ACTIVE_CHAIN, false);
		if (r || (bpf_map_delete_elem(map, &zero) && errno != ENOENT))
			return ipg_fail(e, r ? r : -errno, "cannot unchain: %s",
					strerror(r ? -r : errno));
		return 0;
	}
	fd = bpf_obj_get(path);
	if (fd < 0)
		return ipg_fail(e, -errno,
				"chain %s: no pinned program there (%s); pin "
				"the XDP program to chain first, e.g. bpftool "
				"prog load PROG.o %s",
				path, strerror(errno), path);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		r = ipg_fail(e, -EINVAL, "chain %s: not a BPF program (%s)",
			     path, strerror(errno));
	else if (info.type != BPF_PROG_TYPE_XDP)
		r = ipg_fail(e, -EINVAL,
			     "chain %s: program %s is not an XDP program "
			     "(type %u)",
			     path, info.name, info.type);
	else if (bpf_map_update_elem(map, &zero, &fd, BPF_ANY))
		r = ipg_fail(e, -errno,
			     "chain %s: program %s cannot be tail-called from "
			     "ipgate (%s): it must be XDP declared with "
			     "multi-buffer support, SEC(\"xdp.frags\"), as "
			     "ipgate's are",
			     path, info.name, strerror(errno));
	else if ((r = ipg_dp_set_hint(dp, IPG_ACTIVE_CHAIN, true)))
		ipg_fail(e, r, "chain %s: cannot mark it chained: %s", path,
			 strerror(-r));
	close(fd);
	return r;
}

int ipg_datapath_blocked_fd(const struct ipg_datapath *dp)
{
	return bpf_map__fd(dp->skel->maps.ipg_blocked);
}

int ipg_datapath_set_blocked_budget(struct ipg_datapath *dp, uint32_t n)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_blocked_cfg);
	struct ipg_blocked_cfg c = { 0 };
	__u32 zero = 0;

	bpf_map_lookup_elem(fd, &zero, &c);
	c.budget = n;
	if (bpf_map_update_elem(fd, &zero, &c, BPF_ANY))
		return -errno;
	return ipg_dp_set_hint(dp, IPG_ACTIVE_BLOCKED, n != 0);
}

int ipg_datapath_blocked_tick(struct ipg_datapath *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_blocked_cfg);
	struct ipg_blocked_cfg c = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &c))
		return -errno;
	c.epoch++;
	if (bpf_map_update_elem(fd, &zero, &c, BPF_ANY))
		return -errno;
	return 0;
}

int ipg_datapath_chain(struct ipg_datapath *dp, uint32_t *id, char name[16])
{
	int map = bpf_map__fd(dp->skel->maps.ipg_chain), fd;
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), zero = 0;

	*id = 0;
	name[0] = '\0';
	if (bpf_map_lookup_elem(map, &zero, id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_prog_get_fd_by_id(*id);
	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(name, 16, "%s", info.name);
		close(fd);
	}
	return 0;
}

int ipg_datapath_get_override(struct ipg_datapath *dp, uint64_t *deadline_ns)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.ipg_override), &zero,
				deadline_ns))
		return -errno;
	return 0;
}

int ipg_datapath_rule_hits(struct ipg_datapath *dp, uint32_t rule_id,
			   uint64_t *out)
{
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.ipg_rule_hits),
				&rule_id, dp->percpu))
		return -errno;
	*out = 0;
	for (int c = 0; c < dp->ncpus; c++)
		*out += dp->percpu[c];
	return 0;
}

int ipg_datapath_run(struct ipg_datapath *dp, const void *pkt, size_t len,
		     bool probe, int *action, void *out, size_t *out_len)
{
	return ipg_datapath_run_frame(dp, IPG_FRAME_ETH, pkt, len, probe,
				      action, out, out_len);
}

int ipg_datapath_run_frame(struct ipg_datapath *dp, enum ipg_frame frame,
			   const void *pkt, size_t len, bool probe, int *action,
			   void *out, size_t *out_len)
{
	struct ipg_probe_meta meta = { .cookie =
					       dp->skel->rodata->probe_cookie };
	/* Up to a jumbo frame: the kernel hands one over a page in
	 * several buffers, as a driver at MTU 9000 does. */
	static __thread uint8_t in[9216 + sizeof(meta)],
		res[9216 + sizeof(meta)];
	size_t off = probe ? sizeof(meta) : 0;
	struct xdp_md ctx = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o);
	int r;

	if (len + off > sizeof(in))
		return -EMSGSIZE;
	memcpy(in, &meta, off);
	memcpy(in + off, pkt, len);
	o.data_in = in;
	o.data_size_in = (__u32)(len + off);
	o.data_out = res;
	o.data_size_out = sizeof(res);
	o.repeat = 1;
	if (probe) {
		ctx.data = (__u32)off;
		ctx.data_end = (__u32)(len + off);
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	r = bpf_prog_test_run_opts(
		bpf_program__fd(ipg_datapath_prog(dp, frame)), &o);
	if (r)
		return -errno;
	*action = (int)o.retval;
	if (out && out_len) {
		size_t n = o.data_size_out >= off ? o.data_size_out - off : 0;

		if (n > *out_len)
			n = *out_len;
		memcpy(out, res + off, n);
		*out_len = n;
	}
	return 0;
}

static void grant_key(const struct ipg_prefix *addr, uint32_t list_id,
		      struct ipg_grant_key *k)
{
	memset(k, 0, sizeof(*k));
	k->list_id = list_id;
	k->family = addr->family;
	memcpy(k->addr, addr->addr, addr->family == 4 ? 4 : 16);
}

/* Writes the number of grants ipg_grants holds to ipg_bg_count, and
 * whether there is any to ipg_active[0], which the program reads before
 * it looks a source up. */
static int grants_recount(struct ipg_datapath *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_grants);
	struct ipg_grant_key k, *prev = NULL;
	__u32 zero = 0, count = 0;

	for (; bpf_map_get_next_key(fd, prev, &k) == 0; prev = &k)
		count++;
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.ipg_bg_count), &zero,
				&count, BPF_ANY))
		return -errno;
	return ipg_dp_set_hint(dp, IPG_ACTIVE_GRANTS, count != 0);
}

int ipg_datapath_grant(struct ipg_datapath *dp, const struct ipg_prefix *addr,
		       uint32_t list_id, uint64_t expiry_ns, const char *key_id)
{
	struct ipg_grant_value v = { .expires_ns = expiry_ns };
	size_t idlen = key_id ? strlen(key_id) : 0;
	struct ipg_grant_key k;

	if (idlen < 1 || idlen > IPG_GRANT_KEY_ID_MAX)
		return -EINVAL;
	memcpy(v.key_id, key_id, idlen);
	grant_key(addr, list_id, &k);
	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.ipg_grants), &k, &v,
				BPF_ANY))
		return -errno;
	return grants_recount(dp);
}

int ipg_datapath_ungrant(struct ipg_datapath *dp, const struct ipg_prefix *addr,
			 uint32_t list_id)
{
	struct ipg_grant_key k;

	grant_key(addr, list_id, &k);
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.ipg_grants), &k))
		return -errno;
	return grants_recount(dp);
}

int ipg_datapath_grants(struct ipg_datapath *dp, struct ipg_grant *out,
			size_t max)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_grants);
	struct ipg_grant_key k, *prev = NULL;
	struct ipg_grant_value v;
	size_t n = 0;

	while (n < max && bpf_map_get_next_key(fd, prev, &k) == 0) {
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &v) ||
		    (k.family != 4 && k.family != 6))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].addr.family = k.family;
		out[n].addr.len = k.family == 4 ? 32 : 128;
		memcpy(out[n].addr.addr, k.addr, k.family == 4 ? 4 : 16);
		out[n].expiry_ns = v.expires_ns;
		out[n].list_id = k.list_id;
		/* The kernel's copy is not trusted to be terminated. */
		memcpy(out[n].key_id, v.key_id, IPG_GRANT_KEY_ID_MAX);
		n++;
	}
	return (int)n;
}
