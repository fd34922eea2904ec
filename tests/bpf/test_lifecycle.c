// SPDX-License-Identifier: GPL-2.0
/* The datapath's lifecycle on real interfaces: pinning, adopting a running
 * filter, attaching (and atomically replacing), refusing another tool's
 * program, detaching, and mounting bpffs when it is missing. Runs in its own
 * network namespace with a veth pair, on a bpffs of its own under /run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "harness.h"
#include "testbpf.h"
#include "testpkt.h"

#define NS "ipgt-lifecycle"
#define BPFFS "/run/ipgate-test-lifecycle"
#define PINS BPFFS "/pins"

static struct ipg_policy_spec pol;

static int sh(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static struct ipg_datapath *open_pinned(void)
{
	struct ipg_datapath_opts o = { .pin_dir = PINS };
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp = NULL;

	if (ipg_datapath_open(&dp, &o, &e))
		harness_fail(__FILE__, __LINE__, "open: %s", e.msg);
	return dp;
}

static __u32 attached_id(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query((int)if_nametoindex(ifname), 0, &q))
		return 0;
	return q.prog_id;
}

static void fresh_pins(void)
{
	sh("rm -rf " PINS);
}

TEST(test_fresh_open_pins_every_map_and_both_programs)
{
	static const char *const names[] = {
		"ipg_active",	"ipg_override", "ipg_policy",	"ipg_ports",
		"ipg_lists",	"ipg_dsts",	"ipg_v4_slot0", "ipg_v4_slot1",
		"ipg_v6_slot0", "ipg_v6_slot1", "ipg_v4_tries", "ipg_v6_tries",
		"ipg_grants",	"ipg_bg_count", "ipg_stats",	"ipg_rule_hits",
		"ipg_meta",	"ipg_local",	"ipgate_xdp",	"ipgate_xdp_l3",
	};
	struct ipg_datapath *dp;
	char path[256];
	struct stat st;

	fresh_pins();
	CHECK(dp = open_pinned());
	ASSERT_TRUE(!ipg_datapath_adopted(dp));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), PINS "/%s", names[i]);
		if (stat(path, &st)) {
			ipg_datapath_close(dp);
			FAIL("%s is not pinned", path);
		}
	}
	ipg_datapath_close(dp);
}

TEST(test_reopen_adopts_policy_and_counters)
{
	struct ipg_policy live = { 0 };
	uint64_t st1[IPG_STAT_MAX], st2[IPG_STAT_MAX];
	struct ipg_datapath *dp;
	struct ipg_error e;
	int action;

	fresh_pins();
	CHECK(dp = open_pinned());
	policy_standard(&pol);
	ASSERT_OK(ipg_datapath_apply(dp, &pol, &e));
	ASSERT_OK(ipg_datapath_apply(dp, &pol, &e));
	struct frame f = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);

	ASSERT_OK(ipg_datapath_run(dp, f.b, f.len, false, &action, NULL, NULL));
	ASSERT_EQ(action, XDP_DROP);
	ASSERT_OK(ipg_datapath_stats(dp, st1));
	ipg_datapath_close(dp);

	CHECK(dp = open_pinned());
	ASSERT_TRUE(ipg_datapath_adopted(dp));
	ASSERT_OK(ipg_datapath_active(dp, &live));
	ASSERT_EQ(live.generation, 2);
	ASSERT_EQ(live.enabled, 1);
	ASSERT_OK(ipg_datapath_stats(dp, st2));
	ASSERT_TRUE(!memcmp(st1, st2, sizeof(st1)));
	/* The adopted policy is enforced by the new program too. */
	ASSERT_OK(ipg_datapath_run(dp, f.b, f.len, false, &action, NULL, NULL));
	ASSERT_EQ(action, XDP_DROP);
	ipg_datapath_close(dp);
}

TEST(test_abi_mismatch_replaces_pinned_maps)
{
	struct ipg_policy live = { 0 };
	struct ipg_meta m = { 0 };
	struct ipg_datapath *dp;
	struct ipg_error e;
	__u32 zero = 0;
	int fd;

	fresh_pins();
	CHECK(dp = open_pinned());
	policy_standard(&pol);
	ASSERT_OK(ipg_datapath_apply(dp, &pol, &e));
	ipg_datapath_close(dp);
	fd = bpf_obj_get(PINS "/ipg_meta");
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(bpf_map_lookup_elem(fd, &zero, &m));
	m.abi_version = 999;
	ASSERT_OK(bpf_map_update_elem(fd, &zero, &m, BPF_ANY));
	close(fd);

	CHECK(dp = open_pinned());
	ASSERT_TRUE(!ipg_datapath_adopted(dp));
	ASSERT_OK(ipg_datapath_active(dp, &live));
	ASSERT_EQ(live.generation, 0);
	ipg_datapath_close(dp);
}

TEST(test_attach_then_restart_replaces_program_in_place)
{
	enum ipg_xdp_mode mode = IPG_XDP_AUTO;
	struct ipg_datapath *dp1, *dp2;
	struct ipg_error e = { { 0 } };
	__u32 id1, id2;

	fresh_pins();
	CHECK(dp1 = open_pinned());
	ASSERT_OK(ipg_datapath_attach(dp1, "veth0", IPG_XDP_AUTO, &mode, &e));
	ASSERT_EQ(mode, IPG_XDP_NATIVE);
	id1 = attached_id("veth0");
	ASSERT_TRUE(id1 != 0);
	ipg_datapath_close(dp1);
	/* Closed: the filter stays attached. */
	ASSERT_EQ(attached_id("veth0"), id1);

	CHECK(dp2 = open_pinned());
	ASSERT_OK(ipg_datapath_attach(dp2, "veth0", IPG_XDP_AUTO, &mode, &e));
	id2 = attached_id("veth0");
	ASSERT_TRUE(id2 != 0 && id2 != id1);
	ASSERT_EQ(ipg_datapath_attached("veth0", &mode), 0);
	ASSERT_EQ(mode, IPG_XDP_NATIVE);
	ASSERT_OK(ipg_datapath_detach("veth0", &e));
	ASSERT_EQ(attached_id("veth0"), 0);
	ASSERT_EQ(ipg_datapath_attached("veth0", &mode), -ENOENT);
	ipg_datapath_close(dp2);
}

TEST(test_attach_generic_mode_on_request)
{
	enum ipg_xdp_mode mode = IPG_XDP_AUTO;
	struct ipg_datapath *dp;
	struct ipg_error e = { { 0 } };

	fresh_pins();
	CHECK(dp = open_pinned());
	ASSERT_OK(ipg_datapath_attach(dp, "veth0", IPG_XDP_GENERIC, &mode, &e));
	ASSERT_EQ(mode, IPG_XDP_GENERIC);
	ASSERT_EQ(ipg_datapath_attached("veth0", &mode), 0);
	ASSERT_EQ(mode, IPG_XDP_GENERIC);
	ASSERT_OK(ipg_datapath_detach("veth0", &e));
	ipg_datapath_close(dp);
}

TEST(test_attach_refuses_another_tools_program)
{
	struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = 0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int foreign = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign", "GPL", pass,
				    2, NULL);
	int ifindex = (int)if_nametoindex("veth0");
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp;
	__u32 id;

	ASSERT_TRUE(foreign >= 0);
	ASSERT_OK(bpf_xdp_attach(ifindex, foreign, XDP_FLAGS_DRV_MODE, NULL));
	id = attached_id("veth0");
	fresh_pins();
	dp = open_pinned();
	if (dp) {
		int r = ipg_datapath_attach(dp, "veth0", IPG_XDP_AUTO, NULL,
					    &e);

		if (r != -EBUSY || !strstr(e.msg, "another XDP program"))
			harness_fail(__FILE__, __LINE__,
				     "attach over a foreign program: %d %s", r,
				     e.msg);
		else if (attached_id("veth0") != id)
			harness_fail(__FILE__, __LINE__,
				     "the foreign program was replaced");
		else if (ipg_datapath_detach("veth0", &e) != -EBUSY ||
			 attached_id("veth0") != id)
			harness_fail(__FILE__, __LINE__,
				     "detach touched the foreign program");
		/* status names it. */
		struct ipg_attachment at;

		if (ipg_datapath_attachment("veth0", &at) || at.attached ||
		    at.foreign_id != id || strcmp(at.prog_name, "foreign"))
			harness_fail(__FILE__, __LINE__,
				     "the foreign program is not named: id "
				     "%u (want %u), name \"%s\"",
				     at.foreign_id, id, at.prog_name);
		ipg_datapath_close(dp);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	close(foreign);
}

/* ---- devices without an Ethernet header ---- */

/* Opens (creating it) tun device @name, IFF_TUN without packet info; with
 * @link_type set, changes its link type first (TUNSETLINK, while down). */
static int tun_open(const char *name, int link_type)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) ||
	    (link_type >= 0 &&
	     ioctl(fd, TUNSETLINK, (unsigned long)link_type))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* A tun device up, with 198.18.9.1/24 and 2001:db8:9::1/64. */
static int tun_up(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "ip link set %s up && ip addr add 198.18.9.1/24 dev %s && "
		 "ip addr add 2001:db8:9::1/64 dev %s nodad",
		 name, name, name);
	return sh(cmd);
}

/* Sums counter @stat, waiting (up to 5 s) until it reaches @want: the
 * stack may judge a written packet after write() returns. */
static uint64_t stat_reaches(struct ipg_datapath *dp, int stat, uint64_t want)
{
	uint64_t st[IPG_STAT_MAX] = { 0 };

	for (int i = 0; i < 500; i++) {
		if (ipg_datapath_stats(dp, st) || st[stat] >= want)
			break;
		usleep(10000);
	}
	return st[stat];
}

/* Whether the stack answers on tun @fd within @ms (a RST or SYN-ACK). */
static int answered(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t buf[2048];
	int got = 0;

	while (poll(&p, 1, ms) == 1 && read(fd, buf, sizeof(buf)) > 0) {
		/* Only TCP counts: the stack may send its own IPv6 chatter. */
		if ((buf[0] >> 4 == 4 && buf[9] == IPPROTO_TCP) ||
		    (buf[0] >> 4 == 6 && buf[6] == IPPROTO_TCP))
			got = 1;
		if (got)
			break;
	}
	return got;
}

/* A SYN from @src to @dst tcp/443 as a tun device receives it. */
static struct frame tun_syn(const char *src, const char *dst)
{
	struct ipg_pkt_spec s = as_ip_frame(pkt_spec(src, IPPROTO_TCP, 443));

	inet_pton(s.family == 4 ? AF_INET : AF_INET6, dst, s.dst);
	s.payload_len = 0;
	return pkt_build(&s);
}

TEST(test_tun_outsider_to_protected_port_dropped_member_answered)
{
	enum ipg_xdp_mode mode = IPG_XDP_NATIVE;
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp;
	uint64_t dropped, allowed;
	int fd;

	fresh_pins();
	fd = tun_open("tun0", -1);
	ASSERT_TRUE(fd >= 0);
	dp = open_pinned();
	if (!dp) {
		close(fd);
		return;
	}
	policy_standard(&pol);
	policy_allow(&pol, "198.18.9.2");
	policy_allow(&pol, "2001:db8:9::2");
	if (tun_up("tun0") || ipg_datapath_apply(dp, &pol, &e) ||
	    ipg_datapath_attach(dp, "tun0", IPG_XDP_AUTO, &mode, &e)) {
		harness_fail(__FILE__, __LINE__, "set up tun0: %s", e.msg);
		goto out;
	}
	dropped = stat_reaches(dp, IPG_STAT_DROP_DENIED, 0);
	allowed = stat_reaches(dp, IPG_STAT_PASS_ALLOWED, 0);
	for (int fam = 4; fam <= 6; fam += 2) {
		struct frame o =
			tun_syn(fam == 4 ? "198.18.9.3" : "2001:db8:9::3",
				fam == 4 ? "198.18.9.1" : "2001:db8:9::1");
		struct frame a =
			tun_syn(fam == 4 ? "198.18.9.2" : "2001:db8:9::2",
				fam == 4 ? "198.18.9.1" : "2001:db8:9::1");

		if (write(fd, o.b, o.len) != (ssize_t)o.len) {
			harness_fail(__FILE__, __LINE__, "write: %s",
				     strerror(errno));
			goto out;
		}
		if (stat_reaches(dp, IPG_STAT_DROP_DENIED, dropped + 1) !=
		    dropped + 1) {
			harness_fail(__FILE__, __LINE__,
				     "IPv%d outsider SYN to tcp/443 on tun0 "
				     "was not dropped",
				     fam);
			goto out;
		}
		dropped++;
		if (answered(fd, 300)) {
			harness_fail(__FILE__, __LINE__,
				     "the stack answered a dropped SYN");
			goto out;
		}
		if (write(fd, a.b, a.len) != (ssize_t)a.len ||
		    stat_reaches(dp, IPG_STAT_PASS_ALLOWED, allowed + 1) !=
			    allowed + 1 ||
		    !answered(fd, 5000)) {
			harness_fail(__FILE__, __LINE__,
				     "IPv%d member SYN on tun0 was not passed "
				     "and answered",
				     fam);
			goto out;
		}
		allowed++;
	}
	if (mode != IPG_XDP_GENERIC)
		harness_fail(__FILE__, __LINE__, "tun0 attached in %s mode",
			     mode == IPG_XDP_NATIVE ? "native" : "auto");
out:
	ipg_datapath_detach("tun0", &e);
	ipg_datapath_close(dp);
	close(fd);
}

/* A restart (a new load adopting the pins) replaces the IP program on
 * tun1 in place, as it does the Ethernet one on veth0. */
static void restart_keeps_tun1_protected(struct ipg_datapath **dp)
{
	struct ipg_error e = { { 0 } };
	enum ipg_xdp_mode mode;
	__u32 id1 = attached_id("tun1"), id2;

	ipg_datapath_close(*dp);
	*dp = open_pinned();
	if (!*dp)
		return;
	ASSERT_TRUE(ipg_datapath_adopted(*dp));
	ASSERT_OK(ipg_datapath_attach(*dp, "tun1", IPG_XDP_AUTO, &mode, &e));
	id2 = attached_id("tun1");
	ASSERT_TRUE(id2 && id2 != id1);
	ASSERT_EQ(mode, IPG_XDP_GENERIC);
	ASSERT_OK(ipg_datapath_attached("tun1", &mode));
}

TEST(test_tun_gets_the_ip_program_in_generic_mode_only)
{
	struct ipg_error e = { { 0 } };
	struct ipg_attachment a;
	struct ipg_datapath *dp;
	enum ipg_xdp_mode mode;
	int fd, r;

	fresh_pins();
	fd = tun_open("tun1", -1);
	ASSERT_TRUE(fd >= 0);
	dp = open_pinned();
	if (!dp) {
		close(fd);
		return;
	}
	r = ipg_datapath_attach(dp, "tun1", IPG_XDP_NATIVE, &mode, &e);
	if (r != -EOPNOTSUPP || !strstr(e.msg, "tun1") ||
	    !strstr(e.msg, "generic"))
		harness_fail(__FILE__, __LINE__, "native on tun1: %d %s", r,
			     e.msg);
	else if (attached_id("tun1"))
		harness_fail(__FILE__, __LINE__, "something got attached");
	else if (ipg_datapath_attach(dp, "tun1", IPG_XDP_AUTO, &mode, &e) ||
		 mode != IPG_XDP_GENERIC)
		harness_fail(__FILE__, __LINE__, "auto on tun1: %s", e.msg);
	else if (ipg_datapath_attachment("tun1", &a) || !a.attached ||
		 !a.protecting || a.frame != IPG_FRAME_IP ||
		 a.link_type != ARPHRD_NONE || a.mode != IPG_XDP_GENERIC)
		harness_fail(__FILE__, __LINE__,
			     "tun1: attached %d protecting %d frame %d link %u",
			     a.attached, a.protecting, a.frame, a.link_type);
	else if (ipg_datapath_attached("tun1", &mode) ||
		 ipg_datapath_attached("veth0", &mode) != -ENOENT)
		harness_fail(__FILE__, __LINE__, "attached() disagrees");
	else
		CHECK(restart_keeps_tun1_protected(&dp));
	ipg_datapath_detach("tun1", &e);
	ipg_datapath_close(dp);
	close(fd);
}

/* An earlier ipgate put the Ethernet program on a tun device (native mode
 * failing, in generic mode), where it misreads every packet: status must
 * not call that protected, and an attach puts the right program in. */
TEST(test_tun_with_the_ethernet_program_is_not_protected_until_replaced)
{
	struct ipg_error e = { { 0 } };
	struct ipg_attachment a;
	struct ipg_datapath *dp;
	enum ipg_xdp_mode mode;
	int fd;

	fresh_pins();
	fd = tun_open("tun2", -1);
	ASSERT_TRUE(fd >= 0);
	dp = open_pinned();
	if (!dp) {
		close(fd);
		return;
	}
	if (bpf_xdp_attach((int)if_nametoindex("tun2"),
			   ipg_datapath_prog_fd(dp), XDP_FLAGS_SKB_MODE, NULL))
		harness_fail(__FILE__, __LINE__,
			     "attach the Ethernet program: %s",
			     strerror(errno));
	else if (ipg_datapath_attached("tun2", &mode) != -EMEDIUMTYPE ||
		 ipg_datapath_attachment("tun2", &a) || !a.attached ||
		 a.protecting || a.frame != IPG_FRAME_ETH)
		harness_fail(__FILE__, __LINE__,
			     "the Ethernet program on tun2 counts as "
			     "protecting it");
	else if (ipg_datapath_attach(dp, "tun2", IPG_XDP_AUTO, &mode, &e) ||
		 mode != IPG_XDP_GENERIC ||
		 ipg_datapath_attached("tun2", &mode) ||
		 ipg_datapath_attachment("tun2", &a) || a.frame != IPG_FRAME_IP)
		harness_fail(__FILE__, __LINE__, "replace on tun2: %s", e.msg);
	ipg_datapath_detach("tun2", &e);
	ipg_datapath_close(dp);
	close(fd);
}

TEST(test_attach_refuses_an_unsupported_link_type)
{
	static const int types[] = { ARPHRD_PPP, ARPHRD_TUNNEL, ARPHRD_IPGRE,
				     ARPHRD_SIT };
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp;
	enum ipg_xdp_mode mode;

	fresh_pins();
	CHECK(dp = open_pinned());
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int fd = tun_open("odd0", types[i]), r;

		if (fd < 0) {
			harness_fail(__FILE__, __LINE__,
				     "tun with link type %d: %s", types[i],
				     strerror(-fd));
			break;
		}
		r = ipg_datapath_attach(dp, "odd0", IPG_XDP_AUTO, &mode, &e);
		if (r != -EOPNOTSUPP || !strstr(e.msg, "odd0") ||
		    !strstr(e.msg, "link type") || attached_id("odd0")) {
			harness_fail(__FILE__, __LINE__,
				     "link type %d: attach gave %d (%s)",
				     types[i], r, e.msg);
			ipg_datapath_detach("odd0", &e);
			close(fd);
			break;
		}
		close(fd);
	}
	ipg_datapath_close(dp);
}

/* Whether @want (an address) is among this host's addresses as the
 * program's map holds them. */
static int local_has(struct ipg_datapath *dp, const char *want)
{
	struct ipg_prefix got[64], w;
	int n = ipg_datapath_local_addrs(dp, got, 64);

	if (ipg_addr_parse(want, &w, NULL))
		return 0;
	for (int i = 0; i < n; i++)
		if (ipg_prefix_equal(&got[i], &w))
			return 1;
	return 0;
}

/* Reject mode answers SYNs to this host's addresses: the map follows
 * addresses added and removed, as netlink reports them. */
TEST(test_local_addresses_follow_address_changes)
{
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp;

	fresh_pins();
	CHECK(dp = open_pinned());
	sh("ip addr add 198.18.7.1/24 dev veth0");
	if (ipg_datapath_sync_local_addrs(dp, &e) ||
	    ipg_datapath_local_addrs_fd(dp) < 0 || !local_has(dp, "198.18.7.1"))
		harness_fail(__FILE__, __LINE__, "first sync: %s", e.msg);
	else if (sh("ip addr add 2001:db8:7::1/64 dev veth0 nodad && "
		    "ip addr del 198.18.7.1/24 dev veth0") ||
		 ipg_datapath_local_addrs_poll(dp, &e) != 1 ||
		 !local_has(dp, "2001:db8:7::1") || local_has(dp, "198.18.7.1"))
		harness_fail(__FILE__, __LINE__,
			     "after an add and a delete: %s", e.msg);
	sh("ip addr flush dev veth0");
	ipg_datapath_close(dp);
}

TEST(test_attach_unknown_interface_names_it)
{
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp;
	int r;

	fresh_pins();
	CHECK(dp = open_pinned());
	r = ipg_datapath_attach(dp, "nosuch0", IPG_XDP_AUTO, NULL, &e);
	ipg_datapath_close(dp);
	ASSERT_EQ(r, -ENODEV);
	ASSERT_TRUE(strstr(e.msg, "nosuch0") != NULL);
}

TEST(test_pin_dir_off_bpffs_refused)
{
	struct ipg_datapath_opts o = { .pin_dir =
					       "/run/ipgate-test-notbpf/pins" };
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *dp = NULL;

	ASSERT_EQ(ipg_datapath_open(&dp, &o, &e), -ENOTSUP);
	ASSERT_TRUE(strstr(e.msg, "not on a bpf filesystem") != NULL);
}

TEST(test_bpffs_mounted_when_missing)
{
	pid_t pid = fork();
	int status;

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		/* A private mount namespace without /sys/fs/bpf mounted. */
		struct ipg_datapath_opts o = { .pin_dir =
						       "/sys/fs/bpf/ipgate-t" };
		struct ipg_error e = { { 0 } };
		struct ipg_datapath *dp = NULL;
		struct statfs st;

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(10);
		while (umount2("/sys/fs/bpf", MNT_DETACH) == 0)
			;
		if (statfs("/sys/fs/bpf", &st) || st.f_type == BPF_FS_MAGIC)
			_exit(11);
		if (ipg_datapath_open(&dp, &o, &e)) {
			fprintf(stderr, "open: %s\n", e.msg);
			_exit(12);
		}
		if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC)
			_exit(13);
		ipg_datapath_unpin(dp);
		ipg_datapath_close(dp);
		_exit(0);
	}
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

static void teardown(void)
{
	sh("ip netns del " NS " 2>/dev/null");
	sh("umount " BPFFS " 2>/dev/null; rm -rf " BPFFS
	   " /run/ipgate-test-notbpf");
}

static int setup(void)
{
	int fd;

	if (geteuid() != 0) {
		fprintf(stderr,
			"test_lifecycle: needs root (namespaces, XDP)\n");
		return -1;
	}
	ipg_log_set_level(getenv("IPGATE_TEST_VERBOSE") ? 2 : 0);
	teardown(); /* leftovers of an earlier run that died */
	if (sh("ip netns add " NS) ||
	    sh("ip -n " NS " link add veth0 type veth peer name veth1") ||
	    sh("ip -n " NS " link set veth0 up && ip -n " NS
	       " link set veth1 up") ||
	    sh("mkdir -p " BPFFS
	       " /run/ipgate-test-notbpf && mount -t bpf bpf " BPFFS)) {
		teardown();
		return -1;
	}
	fd = open("/run/netns/" NS, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		perror("setns");
		teardown();
		return -1;
	}
	close(fd);
	atexit(teardown);
	return 0;
}

int main(int argc, char **argv)
{
	return harness_main("bpf/lifecycle", argc, argv, setup, teardown);
}
