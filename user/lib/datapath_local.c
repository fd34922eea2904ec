// SPDX-License-Identifier: GPL-2.0
/* This host's addresses in the ipg_local map, which reject mode reads, and
 * keeping them in step with the interfaces' addresses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_int.h"
#include "hostaddr.h"
#include "ipgate/host.h"

static void local_key(const struct ipg_prefix *a, struct ipg_local_addr *k)
{
	memset(k, 0, sizeof(*k));
	k->family = a->family;
	memcpy(k->addr, a->addr, a->family == 4 ? 4 : 16);
}

static int local_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct ipg_local_addr));
}

int ipg_datapath_set_local_addrs(struct ipg_datapath *dp,
				 const struct ipg_prefix *addrs, size_t n)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_local), r = 0;
	struct ipg_local_addr *want, *stale, k;
	size_t n_want = 0, n_stale = 0;
	void *prev = NULL;
	__u32 one = 1;

	want = calloc(n + 1, sizeof(*want));
	stale = calloc(IPG_LOCAL_ADDRS_MAX, sizeof(*stale));
	if (!want || !stale) {
		r = -ENOMEM;
		goto out;
	}
	/* Add first, then remove: an address that stays is never missing. */
	for (size_t i = 0; i < n; i++) {
		local_key(&addrs[i], &want[n_want]);
		if (bpf_map_update_elem(fd, &want[n_want], &one, BPF_ANY)) {
			if (errno != E2BIG && errno != ENOSPC) {
				r = -errno;
				goto out;
			}
			continue; /* full: SYNs to it are dropped unanswered */
		}
		n_want++;
	}
	qsort(want, n_want, sizeof(*want), local_cmp);
	while (n_stale < IPG_LOCAL_ADDRS_MAX &&
	       bpf_map_get_next_key(fd, prev, &k) == 0) {
		if (!bsearch(&k, want, n_want, sizeof(*want), local_cmp))
			stale[n_stale++] = k;
		prev = &k;
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT) {
			r = -errno;
			goto out;
		}
	if (n_want < n)
		pr_warn("this host has more than %d addresses; reject mode "
			"drops SYNs to the rest without an answer",
			IPG_LOCAL_ADDRS_MAX);
out:
	free(want);
	free(stale);
	return r;
}

int ipg_datapath_local_addrs(struct ipg_datapath *dp, struct ipg_prefix *out,
			     size_t max)
{
	int fd = bpf_map__fd(dp->skel->maps.ipg_local);
	struct ipg_local_addr k;
	void *prev = NULL;
	size_t n = 0;

	while (n < max && bpf_map_get_next_key(fd, prev, &k) == 0) {
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = k.family;
		out[n].len = k.family == 4 ? 32 : 128;
		memcpy(out[n].addr, k.addr, k.family == 4 ? 4 : 16);
		n++;
		prev = &k;
	}
	return (int)n;
}

int ipg_datapath_sync_local_addrs(struct ipg_datapath *dp, struct ipg_error *e)
{
	struct ipg_prefix *addrs;
	int n, r;

	/* Watch before reading, so that no change falls in between. */
	if (dp->addr_watch < 0) {
		r = ipg_host_addrs_watch();
		if (r < 0)
			return ipg_fail(e, r,
					"cannot watch this host's addresses "
					"(netlink): %s",
					strerror(-r));
		dp->addr_watch = r;
	}
	addrs = calloc(IPG_LOCAL_ADDRS_MAX + 1, sizeof(*addrs));
	if (!addrs)
		return ipg_fail(e, -ENOMEM, "out of memory");
	n = ipg_host_addrs(addrs, IPG_LOCAL_ADDRS_MAX + 1);
	r = n < 0 ? n : ipg_datapath_set_local_addrs(dp, addrs, (size_t)n);
	free(addrs);
	if (r)
		return ipg_fail(e, r,
				"cannot record this host's addresses for "
				"reject mode: %s",
				strerror(-r));
	return 0;
}

int ipg_datapath_local_addrs_poll(struct ipg_datapath *dp, struct ipg_error *e)
{
	int r;

	if (dp->addr_watch < 0)
		return 0;
	r = ipg_host_addrs_changed(dp->addr_watch);
	if (r < 0)
		return ipg_fail(e, r,
				"cannot read address changes (netlink): %s",
				strerror(-r));
	if (!r)
		return 0;
	r = ipg_datapath_sync_local_addrs(dp, e);
	return r ? r : 1;
}

int ipg_datapath_local_addrs_fd(const struct ipg_datapath *dp)
{
	return dp->addr_watch;
}
