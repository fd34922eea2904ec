// SPDX-License-Identifier: GPL-2.0
/* Attaching the program to interfaces, detaching it, and telling what is
 * attached: only ever ipgate's own programs are replaced or removed. */
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_int.h"
#include "link.h"

static __u32 mode_flags(enum ipg_xdp_mode m)
{
	return m == IPG_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

/* Reads what is attached to @ifindex: prog id and mode. */
static int query(int ifindex, __u32 *prog_id, enum ipg_xdp_mode *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return -errno;
	*prog_id = q.prog_id;
	*mode = q.attach_mode == XDP_ATTACHED_SKB ? IPG_XDP_GENERIC :
						    IPG_XDP_NATIVE;
	if (q.attach_mode == XDP_ATTACHED_MULTI ||
	    q.attach_mode == XDP_ATTACHED_HW)
		return -EBUSY;
	return 0;
}

/* Whether program @id is one of ipgate's entry points; *frame (may be
 * NULL) gets the frame start it judges, @name (may be NULL, room for
 * BPF_OBJ_NAME_LEN) the program's name. */
static bool prog_is_ipgate(__u32 id, enum ipg_frame *frame, char *name)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	bool yes = false;
	int fd;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return false;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
		if (name)
			snprintf(name, BPF_OBJ_NAME_LEN, "%s", info.name);
		for (size_t f = 0; f < IPG_N_FRAMES && !yes; f++) {
			yes = !strcmp(info.name, ipg_prog_names[f]);
			if (yes && frame)
				*frame = (enum ipg_frame)f;
		}
	}
	close(fd);
	return yes;
}

/* Detaches program @id, attached to @ifindex in @mode, and nothing else. */
static int detach_prog(int ifindex, __u32 id, enum ipg_xdp_mode mode)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
	int fd, r;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	ao.old_prog_fd = fd;
	r = bpf_xdp_detach(ifindex, XDP_FLAGS_REPLACE | mode_flags(mode), &ao);
	close(fd);
	return r;
}

/* Picks the entry point for @ifname's link type into *frame; for a
 * header-less device, refuses native mode and turns *mode into generic. */
static int pick_entry(const char *ifname, enum ipg_xdp_mode *mode,
		      enum ipg_frame *frame, struct ipg_error *e)
{
	unsigned type;
	int r;

	r = ipg_link_type(ifname, &type);
	if (r)
		return ipg_fail(e, r, "cannot read the link type of %s: %s",
				ifname, strerror(-r));
	r = ipg_link_frame(ifname, type, frame, e);
	if (r || *frame != IPG_FRAME_IP)
		return r;
	/* Native XDP on such a device (tun runs it for tap devices only)
	 * would never see a packet. */
	if (*mode == IPG_XDP_NATIVE)
		return ipg_fail(e, -EOPNOTSUPP,
				"%s (link type %s) takes XDP in generic mode "
				"only: in native mode the program would see "
				"none of its packets; use generic or auto mode",
				ifname, ipg_link_type_name(type));
	*mode = IPG_XDP_GENERIC;
	return 0;
}

/* Reads what runs on @ifname (@ifindex) into *cur and *cur_mode, and
 * refuses what ipgate must not replace: several programs, another tool's
 * program, or ipgate in native mode where @frame needs generic. */
static int check_current(const char *ifname, int ifindex, enum ipg_frame frame,
			 __u32 *cur, enum ipg_xdp_mode *cur_mode,
			 struct ipg_error *e)
{
	int r = query(ifindex, cur, cur_mode);

	if (r == -EBUSY)
		return ipg_fail(e, r,
				"%s has several XDP programs attached; "
				"ipgate will not touch them",
				ifname);
	if (r)
		return ipg_fail(e, r, "cannot query XDP on %s: %s", ifname,
				strerror(-r));
	if (*cur && !prog_is_ipgate(*cur, NULL, NULL))
		return ipg_fail(e, -EBUSY,
				"%s already runs another XDP program "
				"(id %u); ipgate will not replace it, "
				"detach it first",
				ifname, *cur);
	if (*cur && frame == IPG_FRAME_IP && *cur_mode != IPG_XDP_GENERIC)
		return ipg_fail(e, -EOPNOTSUPP,
				"%s runs ipgate in native mode, in which it "
				"sees none of this device's packets; detach "
				"it ('ipgate detach') and attach again",
				ifname);
	return 0;
}

int ipg_datapath_attach(struct ipg_datapath *dp, const char *ifname,
			enum ipg_xdp_mode mode, enum ipg_xdp_mode *mode_out,
			struct ipg_error *e)
{
	int ifindex = (int)if_nametoindex(ifname), prog;
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);
	enum ipg_xdp_mode cur_mode = IPG_XDP_NATIVE;
	enum ipg_frame frame;
	__u32 cur = 0, flags;
	int old_fd = -1, r;

	if (!ifindex)
		return ipg_fail(e, -ENODEV, "no interface named \"%s\"",
				ifname);
	r = pick_entry(ifname, &mode, &frame, e);
	if (!r)
		r = check_current(ifname, ifindex, frame, &cur, &cur_mode, e);
	if (r)
		return r;
	prog = bpf_program__fd(ipg_datapath_prog(dp, frame));
	if (cur) {
		old_fd = bpf_prog_get_fd_by_id(cur);
		if (old_fd < 0)
			return ipg_fail(e, -errno,
					"cannot open the program on %s: %s",
					ifname, strerror(errno));
		/* Replacing keeps the mode: a switch would leave a gap. */
		if (mode != IPG_XDP_AUTO && mode != cur_mode)
			pr_warn("%s: keeping the running %s mode; detach first "
				"to change it",
				ifname,
				cur_mode == IPG_XDP_GENERIC ? "generic" :
							      "native");
		mode = cur_mode;
		ao.old_prog_fd = old_fd;
	}

	flags = old_fd >= 0 ? XDP_FLAGS_REPLACE : XDP_FLAGS_UPDATE_IF_NOEXIST;
	r = bpf_xdp_attach(ifindex, prog,
			   flags | mode_flags(mode == IPG_XDP_AUTO ?
						      IPG_XDP_NATIVE :
						      mode),
			   &ao);
	if (r && mode == IPG_XDP_AUTO && old_fd < 0) {
		pr_warn("%s: native XDP failed (%s); falling back to generic "
			"mode, which is slower",
			ifname, strerror(-r));
		mode = IPG_XDP_GENERIC;
		r = bpf_xdp_attach(ifindex, prog,
				   flags | mode_flags(IPG_XDP_GENERIC), &ao);
	} else if (mode == IPG_XDP_AUTO) {
		mode = IPG_XDP_NATIVE;
	}
	if (old_fd >= 0)
		close(old_fd);
	if (r)
		return ipg_fail(e, r, "cannot attach to %s: %s", ifname,
				strerror(-r));
	if (mode_out)
		*mode_out = mode;
	return 0;
}

int ipg_datapath_attachment(const char *ifname, struct ipg_attachment *a)
{
	int ifindex = (int)if_nametoindex(ifname), r;
	enum ipg_frame want;
	__u32 cur = 0;

	memset(a, 0, sizeof(*a));
	if (!ifindex)
		return -ENODEV;
	r = ipg_link_type(ifname, &a->link_type);
	if (r)
		return r;
	r = query(ifindex, &cur, &a->mode);
	if (r)
		return r;
	a->attached = cur && prog_is_ipgate(cur, &a->frame, a->prog_name);
	a->foreign_id = cur && !a->attached ? cur : 0;
	/* Protecting: the program for this link type's frames, in a mode
	 * in which it sees them. */
	a->protecting = a->attached &&
			!ipg_link_frame(ifname, a->link_type, &want, NULL) &&
			want == a->frame &&
			(want != IPG_FRAME_IP || a->mode == IPG_XDP_GENERIC);
	return 0;
}

int ipg_datapath_attached(const char *ifname, enum ipg_xdp_mode *mode)
{
	struct ipg_attachment a;
	int r = ipg_datapath_attachment(ifname, &a);

	if (r)
		return r;
	*mode = a.mode;
	if (!a.attached)
		return -ENOENT;
	return a.protecting ? 0 : -EMEDIUMTYPE;
}

int ipg_datapath_detach(const char *ifname, struct ipg_error *e)
{
	int ifindex = (int)if_nametoindex(ifname), r;
	enum ipg_xdp_mode mode;
	__u32 cur = 0;

	if (!ifindex)
		return ipg_fail(e, -ENODEV, "no interface named \"%s\"",
				ifname);
	r = query(ifindex, &cur, &mode);
	if (r)
		return ipg_fail(e, r, "cannot query XDP on %s: %s", ifname,
				strerror(-r));
	if (!cur)
		return 0;
	if (!prog_is_ipgate(cur, NULL, NULL))
		return ipg_fail(
			e, -EBUSY,
			"%s runs another XDP program (id %u); leaving it",
			ifname, cur);
	r = detach_prog(ifindex, cur, mode);
	if (r)
		return ipg_fail(e, r, "cannot detach from %s: %s", ifname,
				strerror(-r));
	return 0;
}
