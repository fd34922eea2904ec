// SPDX-License-Identifier: GPL-2.0
/* The datapath's lifecycle on real interfaces: pinning, adopting a running
 * filter, attaching (and atomically replacing), refusing another tool's
 * program, detaching, and mounting bpffs when it is missing. Runs in its own
 * network namespace with a veth pair, on a bpffs of its own under /run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
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

TEST(test_fresh_open_pins_every_map_and_the_program)
{
	static const char *const names[] = {
		"ipg_active",	"ipg_override", "ipg_policy",	 "ipg_v4_slot0",
		"ipg_v4_slot1", "ipg_v6_slot0", "ipg_v6_slot1",	 "ipg_v4_tries",
		"ipg_v6_tries", "ipg_stats",	"ipg_rule_hits", "ipg_meta",
		"ipgate_xdp",
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
		ipg_datapath_close(dp);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	close(foreign);
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
