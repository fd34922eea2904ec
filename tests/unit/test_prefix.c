// SPDX-License-Identifier: GPL-2.0
/* Entry rules of docs/design.md ("Rules on entries"): forms accepted,
 * canonical form, and the errors for everything else. No root needed. */
#include <errno.h>
#include <netinet/in.h>

#include "harness.h"
#include "policy.h"
#include "prefix.h"
#include "testpkt.h"

static void canon_at(const char *file, int line, const char *in,
		     const char *want)
{
	struct ipg_error e = { { 0 } };
	char buf[IPG_PREFIX_STRLEN];
	struct ipg_prefix p;

	if (ipg_prefix_parse(in, &p, &e))
		return harness_fail(file, line, "\"%s\" refused: %s", in,
				    e.msg);
	ipg_prefix_format(&p, buf, sizeof(buf));
	if (strcmp(buf, want))
		return harness_fail(file, line, "\"%s\": expected %s, got %s",
				    in, want, buf);
}

static void refused_at(const char *file, int line, const char *in,
		       const char *msg_part)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = { 0 }, before;

	before = p;
	if (ipg_prefix_parse(in, &p, &e) != -EINVAL)
		return harness_fail(file, line, "\"%s\" accepted", in);
	if (!strstr(e.msg, msg_part))
		return harness_fail(file, line,
				    "\"%s\": message \"%s\" lacks \"%s\"", in,
				    e.msg, msg_part);
	if (memcmp(&p, &before, sizeof(p)))
		return harness_fail(file, line,
				    "\"%s\": output changed on error", in);
}

#define CANON(in, want) CHECK(canon_at(__FILE__, __LINE__, in, want))
#define REFUSED(in, part) CHECK(refused_at(__FILE__, __LINE__, in, part))

TEST(test_prefix_accepted_forms_are_canonical)
{
	CANON("203.0.113.45", "203.0.113.45");
	CANON("203.0.113.45/32", "203.0.113.45");
	CANON("203.0.113.0/24", "203.0.113.0/24");
	CANON("0.0.0.0/0", "0.0.0.0/0");
	CANON("2001:db8::1", "2001:db8::1");
	CANON("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	CANON("2001:db8::/32", "2001:db8::/32");
	CANON("2001:db8::1/128", "2001:db8::1");
	CANON("::/0", "::/0");
}

TEST(test_prefix_ipv4_mapped_stored_as_ipv4)
{
	CANON("::ffff:203.0.113.7", "203.0.113.7");
	CANON("::ffff:203.0.113.0/120", "203.0.113.0/24");
	CANON("::ffff:cb00:7100/120", "203.0.113.0/24");
	/* Shorter than the mapped /96: stays IPv6. */
	CANON("::/95", "::/95");
}

TEST(test_prefix_ipv4_mapped_every_length_from_96_is_ipv4)
{
	/* The mapped /96 is all of IPv4, and each length past it the IPv4
	 * prefix 96 shorter. */
	CANON("::ffff:0.0.0.0/96", "0.0.0.0/0");
	CANON("::ffff:0:0/96", "0.0.0.0/0");
	CANON("::ffff:128.0.0.0/97", "128.0.0.0/1");
	CANON("::ffff:192.0.0.0/100", "192.0.0.0/4");
	CANON("::ffff:192.0.2.0/120", "192.0.2.0/24");
	CANON("::ffff:192.0.2.128/121", "192.0.2.128/25");
	CANON("::ffff:192.0.2.2/127", "192.0.2.2/31");
	CANON("::ffff:192.0.2.1/128", "192.0.2.1");
	/* One bit short of the mapped prefix: IPv6, and its last bit is a
	 * host bit. */
	REFUSED("::ffff:0.0.0.0/95", "did you mean ::fffe:0:0/95?");
	CANON("::fffe:0:0/95", "::fffe:0:0/95");
}

TEST(test_prefix_host_bits_name_canonical_form)
{
	REFUSED("203.0.113.7/24", "did you mean 203.0.113.0/24?");
	REFUSED("2001:db8::1/32", "did you mean 2001:db8::/32?");
	REFUSED("::ffff:203.0.113.7/120", "did you mean 203.0.113.0/24?");
}

TEST(test_prefix_host_bits_inside_an_octet_refused)
{
	/* Lengths that end inside an octet: the bits after the length in
	 * that octet are host bits too. */
	REFUSED("192.0.2.192/25", "did you mean 192.0.2.128/25?");
	REFUSED("192.0.2.1/31", "did you mean 192.0.2.0/31?");
	REFUSED("198.51.100.7/30", "did you mean 198.51.100.4/30?");
	REFUSED("203.0.113.129/26", "did you mean 203.0.113.128/26?");
	REFUSED("198.18.0.0/14", "did you mean 198.16.0.0/14?");
	REFUSED("192.0.0.0/1", "did you mean 128.0.0.0/1?");
	REFUSED("2001:db8::3/127", "did you mean 2001:db8::2/127?");
	REFUSED("2001:db8:0:ffff::/57", "did you mean 2001:db8:0:ff80::/57?");
	REFUSED("2001:db8:ffff::/33", "did you mean 2001:db8:8000::/33?");
	REFUSED("2001:db9::/31", "did you mean 2001:db8::/31?");
	REFUSED("2001:db8::/1", "did you mean ::/1?");
	REFUSED("::ffff:192.0.2.192/121", "did you mean 192.0.2.128/25?");
	/* The same lengths without host bits are canonical. */
	CANON("192.0.2.128/25", "192.0.2.128/25");
	CANON("192.0.2.0/31", "192.0.2.0/31");
	CANON("198.16.0.0/14", "198.16.0.0/14");
	CANON("128.0.0.0/1", "128.0.0.0/1");
	CANON("2001:db8::2/127", "2001:db8::2/127");
	CANON("2001:db8:0:ff80::/57", "2001:db8:0:ff80::/57");
	CANON("2001:db8:8000::/33", "2001:db8:8000::/33");
}

TEST(test_prefix_wildcards_ranges_padding_refused)
{
	REFUSED("*", "wildcard");
	REFUSED("203.0.113.*", "wildcard");
	REFUSED("203.0.113.1-203.0.113.9", "range");
	REFUSED("010.0.0.1", "did you mean 10.0.0.1?");
	REFUSED("203.0.113.010/32", "did you mean 203.0.113.10/32?");
	/* Two digits with a leading zero are padding as much as three. */
	REFUSED("01.2.3.4", "did you mean 1.2.3.4?");
	REFUSED("203.0.113.07", "did you mean 203.0.113.7?");
	REFUSED("192.0.02.0/24", "did you mean 192.0.2.0/24?");
	REFUSED("00.0.0.0/0", "did you mean 0.0.0.0/0?");
	REFUSED("fe80::1%eth0", "zone");
	REFUSED("203.0.113.1 ", "white space");
	REFUSED("", "empty");
}

TEST(test_prefix_malformed_refused_with_accepted_forms)
{
	static const char *const bad[] = {
		"203.0.113",   "203.0.113.256", "203.0.113.1.1", "1.2.3.4.",
		".1.2.3",      "0x7f.0.0.1",	"localhost",	 "2001:db8:::1",
		"2001:db8::g", "::1::",		"1111.2.3.4",	 "/24",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		REFUSED(bad[i], "203.0.113.0/24");
	REFUSED("203.0.113.0/33", "0 to 32");
	REFUSED("2001:db8::/129", "0 to 128");
	REFUSED("203.0.113.0/024", "prefix length");
	REFUSED("203.0.113.0/", "prefix length");
	REFUSED("203.0.113.0/+1", "prefix length");
}

TEST(test_addr_parse_refuses_ranges)
{
	struct ipg_prefix p;
	struct ipg_error e;

	ASSERT_EQ(ipg_addr_parse("203.0.113.0/24", &p, &e), -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "single address") != NULL);
	ASSERT_OK(ipg_addr_parse("2001:db8::5", &p, &e));
	ASSERT_EQ(p.len, 128);
}

TEST(test_prefix_contains_and_order)
{
	struct ipg_prefix a, b, c;

	ASSERT_OK(ipg_prefix_parse("192.0.2.0/24", &a, NULL));
	ASSERT_OK(ipg_prefix_parse("192.0.2.128/25", &b, NULL));
	ASSERT_OK(ipg_prefix_parse("192.0.3.0/25", &c, NULL));
	ASSERT_TRUE(ipg_prefix_contains(&a, &b));
	ASSERT_TRUE(!ipg_prefix_contains(&b, &a));
	ASSERT_TRUE(!ipg_prefix_contains(&a, &c));
	ASSERT_TRUE(ipg_prefix_cmp(&a, &b) < 0);
	ASSERT_TRUE(ipg_prefix_cmp(&b, &c) < 0);
}

TEST(test_policy_limit_duplicates_and_rule_ids)
{
	static struct ipg_policy_spec s;
	struct ipg_error e;
	struct ipg_prefix p;
	char buf[32];

	ipg_policy_init(&s);
	for (int i = 0; i < IPG_ENTRIES_DEFAULT; i++) {
		snprintf(buf, sizeof(buf), "198.18.0.%d", i);
		ASSERT_OK(ipg_prefix_parse(buf, &p, NULL));
		ASSERT_OK(ipg_policy_add(&s, &p, NULL, &e));
		ASSERT_EQ(s.entries[i].rule_id, i);
	}
	ASSERT_OK(ipg_prefix_parse("198.18.1.0/24", &p, NULL));
	ASSERT_EQ(ipg_policy_add(&s, &p, NULL, &e), -ENOSPC);
	ASSERT_TRUE(strstr(e.msg, "50 of 50") != NULL);
	ASSERT_EQ(s.n_entries, IPG_ENTRIES_DEFAULT);
	s.max_entries = 60;
	ASSERT_OK(ipg_prefix_parse("198.18.0.3", &p, NULL));
	ASSERT_EQ(ipg_policy_add(&s, &p, NULL, &e), -EEXIST);
	/* The lowest free id is reused. */
	s.entries[7].rule_id = 999;
	ASSERT_OK(ipg_prefix_parse("198.18.2.0/24", &p, NULL));
	ASSERT_OK(ipg_policy_add(&s, &p, "x", &e));
	ASSERT_EQ(s.entries[s.n_entries - 1].rule_id, 7);
}

TEST(test_policy_match_is_longest_prefix)
{
	static struct ipg_policy_spec s;
	struct ipg_prefix a;

	policy_standard(&s);
	ASSERT_OK(ipg_addr_parse("192.0.2.201", &a, NULL));
	ASSERT_EQ(ipg_policy_match(&s, &a, 0), 3);
	ASSERT_OK(ipg_addr_parse("192.0.2.200", &a, NULL));
	ASSERT_EQ(ipg_policy_match(&s, &a, 0), 4);
	ASSERT_OK(ipg_addr_parse("192.0.2.1", &a, NULL));
	ASSERT_EQ(ipg_policy_match(&s, &a, 0), 2);
	ASSERT_OK(ipg_addr_parse("198.18.0.1", &a, NULL));
	ASSERT_EQ(ipg_policy_match(&s, &a, 0), -1);
	ASSERT_TRUE(ipg_policy_port_protected(&s.ports, IPPROTO_UDP, 443));
	ASSERT_TRUE(!ipg_policy_port_protected(&s.ports, IPPROTO_UDP, 8443));
}

int main(int argc, char **argv)
{
	return harness_main("unit/prefix", argc, argv, NULL, NULL);
}
