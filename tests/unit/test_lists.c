// SPDX-License-Identifier: GPL-2.0
/* Named lists in the config (issue 11, step 1): list blocks and include
 * lines, inheritance from the top level, the per-list limit, destinations
 * claimed once, errors naming file, line and column with nothing applied,
 * exact round trips, edits that land in the list's own file, and diffs
 * naming the list. No root needed. */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "harness.h"

/* The issue's example, with one customer in an included file. */
static const char example[] =
	"# the top-level list (\"default\") guards every destination no "
	"named list claims\n"
	"enabled yes\n"
	"protect tcp/443 tcp/8443\n"
	"allow 198.51.100.0/24 ops\n"
	"\n"
	"include /etc/ipgate/lists.d/*.conf   # optional: one file per "
	"customer\n"
	"\n"
	"list acme {\n"
	"    address 192.0.2.10 2001:db8:a::10   # destinations this list "
	"guards\n"
	"    enabled yes\n"
	"    max-entries 50\n"
	"    allow 203.0.113.0/24 \"Acme office\"\n"
	"    allow 2001:db8:beef::/48\n"
	"}\n";

static const char globex[] = "# Globex, managed by the customer team\n"
			     "list globex {\n"
			     "\taddress 192.0.2.20\n"
			     "\tallow 203.0.113.77   hq  # the one office\n"
			     "}  # globex\n"
			     "\n"
			     "list initech {\n"
			     "\taddress 2001:db8:c::1\n"
			     "\tenabled no\n"
			     "}\n";

static const struct ipg_config_text globex_file[] = {
	{ "/etc/ipgate/lists.d/globex.conf", globex },
	/* Not matched by the pattern: another directory, a dot file. */
	{ "/etc/ipgate/other/x.conf", "garbage\n" },
	{ "/etc/ipgate/lists.d/.hidden.conf", "garbage\n" },
};

static struct ipg_config c;

static int parse_example(struct ipg_config *cfg, struct ipg_error *e)
{
	return ipg_config_parse_texts(cfg, example, "/etc/ipgate/ipgate.conf",
				      globex_file, 3, e);
}

static struct ipg_prefix pfx(const char *s)
{
	struct ipg_prefix p = { 0 };

	if (ipg_prefix_parse(s, &p, NULL))
		abort();
	return p;
}

TEST(test_lists_issue_example_parses)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix dst = pfx("192.0.2.10");
	const struct ipg_config_list *acme, *g;
	char a[IPG_PREFIX_STRLEN];

	ASSERT_OK(parse_example(&c, &e));
	/* The top level is the default list, as before. */
	ASSERT_EQ(c.policy.kern.enabled, 1);
	ASSERT_EQ(c.policy.n_entries, 1);
	ASSERT_STR(c.policy.entries[0].label, "ops");
	ASSERT_EQ(c.n_lists, 3);
	ASSERT_EQ(c.n_files, 1);
	ASSERT_STR(c.files[0].path, "/etc/ipgate/lists.d/globex.conf");
	/* Document order: the include line's files where it stands. */
	ASSERT_STR(c.lists[0]->name, "globex");
	ASSERT_STR(c.lists[1]->name, "initech");
	ASSERT_STR(c.lists[2]->name, "acme");
	acme = ipg_config_list_find(&c, "acme");
	ASSERT_TRUE(acme == c.lists[2]);
	ASSERT_EQ(acme->file, -1);
	ASSERT_EQ(acme->line, 8);
	ASSERT_EQ(acme->n_addrs, 2);
	ipg_prefix_format(&acme->addrs[1], a, sizeof(a));
	ASSERT_STR(a, "2001:db8:a::10");
	ASSERT_EQ(acme->policy.kern.enabled, 1);
	ASSERT_EQ(acme->policy.max_entries, 50);
	ASSERT_EQ(acme->policy.n_entries, 2);
	ASSERT_STR(acme->policy.entries[0].label, "Acme office");
	ASSERT_TRUE(ipg_policy_port_protected(&acme->policy.ports, IPPROTO_TCP,
					      8443));
	g = ipg_config_list_find(&c, "globex");
	ASSERT_EQ(g->file, 0);
	ASSERT_EQ(g->line, 2);
	ASSERT_EQ(c.lists[1]->line, 7);
	ASSERT_STR(ipg_config_list_file(&c, g, "main"),
		   "/etc/ipgate/lists.d/globex.conf");
	ASSERT_STR(ipg_config_list_file(&c, acme, "main"), "main");
	/* Destinations find their list; others the top level. */
	ASSERT_TRUE(ipg_config_list_for(&c, &dst) == acme);
	dst = pfx("2001:db8:c::1");
	ASSERT_TRUE(ipg_config_list_for(&c, &dst) == c.lists[1]);
	dst = pfx("192.0.2.11");
	ASSERT_TRUE(ipg_config_list_for(&c, &dst) == NULL);
	ASSERT_TRUE(ipg_config_policy(&c, "default") == &c.policy);
	ASSERT_TRUE(ipg_config_policy(&c, NULL) == &c.policy);
	ASSERT_TRUE(ipg_config_policy(&c, "globex") == &g->policy);
	ASSERT_TRUE(ipg_config_policy(&c, "nobody") == NULL);
	ASSERT_TRUE(ipg_config_list_find(&c, "default") == NULL);
	ASSERT_EQ(c.n_warnings, 0);
	ipg_config_free(&c);
}

TEST(test_lists_inherit_what_they_do_not_set)
{
	struct ipg_error e = { { 0 } };

	ASSERT_OK(
		ipg_config_parse(&c,
				 "enabled yes\n"
				 "list a {\n"
				 "  address 192.0.2.1\n"
				 "}\n"
				 "list b {\n"
				 "  address 192.0.2.2\n"
				 "  enabled yes\n"
				 "  protect udp/53\n"
				 "  mode drop\n"
				 "  max-entries 10\n"
				 "  override-max 30m\n"
				 "}\n"
				 "# top-level settings may follow the blocks\n"
				 "protect tcp/443\n"
				 "mode reject\n"
				 "max-entries 3\n"
				 "override-max 2h\n",
				 "ipgate.conf", &e));
	/* a: everything from the top level but enabled, which is its own
	 * and "no" when absent. b: its own; its protect replaces the top
	 * level's, not adds to it. The top level: untouched by the blocks. */
	static const struct {
		const char *list;
		unsigned set;
		int enabled, mode, max, override_s, tcp443, udp53;
	} want[] = {
		{ "a", 0, 0, IPG_MODE_REJECT, 3, 7200, 1, 0 },
		{ "b", 0x1f, 1, IPG_MODE_DROP, 10, 1800, 0, 1 },
		{ "default", 0, 1, IPG_MODE_REJECT, 3, 7200, 1, 0 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ipg_policy_spec *s =
			ipg_config_policy(&c, want[i].list);
		const struct ipg_config_list *l =
			ipg_config_list_find(&c, want[i].list);

		ASSERT_EQ(l ? l->set : 0, want[i].set);
		ASSERT_EQ(s->kern.enabled, want[i].enabled);
		ASSERT_EQ(s->kern.mode, want[i].mode);
		ASSERT_EQ(s->max_entries, want[i].max);
		ASSERT_EQ(l ? l->override_max_s : c.override_max_s,
			  want[i].override_s);
		ASSERT_EQ(ipg_policy_port_protected(&s->ports, IPPROTO_TCP,
						    443),
			  want[i].tcp443);
		ASSERT_EQ(ipg_policy_port_protected(&s->ports, IPPROTO_UDP, 53),
			  want[i].udp53);
	}
	ASSERT_EQ(IPG_LIST_SET_ENABLED | IPG_LIST_SET_PROTECT |
			  IPG_LIST_SET_MODE | IPG_LIST_SET_MAX_ENTRIES |
			  IPG_LIST_SET_OVERRIDE_MAX,
		  0x1f);
	ipg_config_free(&c);
}

/* Parses @text (main file "ipgate.conf", included files @files) and
 * expects a refusal whose message starts with @where and holds @part, and
 * an empty config. */
static void refused_at(const char *file, int line, const char *text,
		       const struct ipg_config_text *files, int n,
		       const char *where, const char *part)
{
	struct ipg_error e = { { 0 } };
	int r = ipg_config_parse_texts(&c, text, "ipgate.conf", files, n, &e);

	if (r != -EINVAL)
		return harness_fail(file, line, "accepted (%d): %s", r, text);
	if (strncmp(e.msg, where, strlen(where)) || !strstr(e.msg, part))
		return harness_fail(file, line,
				    "message \"%s\" lacks \"%s\" or \"%s\"",
				    e.msg, where, part);
	if (c.n_lines || c.policy.n_entries || c.n_lists || c.n_files ||
	    c.lists || c.files)
		return harness_fail(file, line,
				    "config not left empty on error");
}

#define REFUSED(text, where, part) \
	CHECK(refused_at(__FILE__, __LINE__, text, NULL, 0, where, part))
#define REFUSED_WITH(text, files, where, part)                           \
	CHECK(refused_at(__FILE__, __LINE__, text, files,                \
			 (int)(sizeof(files) / sizeof(files[0])), where, \
			 part))

/* "allow 198.18.X.Y" lines, @n of them, each indented by @indent. */
static void allows(char *out, size_t size, int n, const char *indent)
{
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out),
			 "%sallow 198.18.%d.%d\n", indent, i / 200, i % 200);
}

TEST(test_lists_limit_of_50_is_per_list)
{
	static char text[8192], inc[8192];
	static const struct ipg_config_text files[] = {
		{ "lists.d/acme.conf", inc },
	};
	struct ipg_error e = { { 0 } };

	/* 50 at the top level and 50 in a list: each within its limit. */
	allows(text, sizeof(text), 50, "");
	strcat(text, "list acme {\n  address 192.0.2.10\n");
	allows(text, sizeof(text), 50, "  ");
	strcat(text, "}\n");
	ASSERT_OK(ipg_config_parse(&c, text, "ipgate.conf", &e));
	ASSERT_EQ(c.policy.n_entries, 50);
	ASSERT_EQ(c.lists[0]->policy.n_entries, 50);
	ASSERT_EQ(c.lists[0]->policy.max_entries, 50);
	ipg_config_free(&c);
	/* A 51st in the list: refused at its line, naming the list. */
	*strrchr(text, '}') = '\0';
	strcat(text, "  allow 198.19.0.1\n}\n");
	REFUSED(text, "ipgate.conf:103:1:",
		"list acme: 51 entries, more than max-entries (50)");
	/* In an included file: that file is named. */
	strcpy(text, "max-entries 2\ninclude lists.d/*.conf\n");
	strcpy(inc, "list acme {\n  address 192.0.2.10\n");
	allows(inc, sizeof(inc), 3, "  ");
	strcat(inc, "}\n");
	REFUSED_WITH(text, files, "lists.d/acme.conf:5:1:",
		     "list acme: 3 entries, more than max-entries (2)");
	/* Its own max-entries, above the top level's, lets it hold more. */
	strcpy(inc, "list acme {\n  address 192.0.2.10\n  max-entries 3\n");
	allows(inc, sizeof(inc), 3, "  ");
	strcat(inc, "}\n");
	ASSERT_OK(
		ipg_config_parse_texts(&c, text, "ipgate.conf", files, 1, &e));
	ASSERT_EQ(c.lists[0]->policy.n_entries, 3);
	ipg_config_free(&c);
}

TEST(test_lists_destination_claimed_twice_names_both_places)
{
	static const struct ipg_config_text files[] = {
		{ "/etc/ipgate/lists.d/a.conf",
		  "list a {\n  address 192.0.2.10\n}\n" },
		{ "/etc/ipgate/lists.d/b.conf",
		  "# b\nlist b {\n  address 2001:db8::1 192.0.2.10\n}\n" },
	};
	struct ipg_error e = { { 0 } };

	REFUSED("list a {\n  address 192.0.2.10\n}\n"
		"list b {\n  address 192.0.2.11 192.0.2.10\n}\n",
		"ipgate.conf:5:22:",
		"192.0.2.10 is already claimed by list a at ipgate.conf:2; a "
		"destination belongs to one list at most");
	/* Across files: both files named. */
	ASSERT_EQ(ipg_config_parse_texts(&c, "include /etc/ipgate/lists.d/*\n",
					 "/etc/ipgate/ipgate.conf", files, 2,
					 &e),
		  -EINVAL);
	ASSERT_STR(e.msg,
		   "/etc/ipgate/lists.d/b.conf:3:23: 192.0.2.10 is already "
		   "claimed by list a at /etc/ipgate/lists.d/a.conf:2; a "
		   "destination belongs to one list at most");
	/* Twice in one list. */
	REFUSED("list a {\n  address 192.0.2.10\n  address 192.0.2.10\n}\n",
		"ipgate.conf:3:11:",
		"192.0.2.10 is already claimed by list a at ipgate.conf:2");
	/* Not an address a list can guard. */
	REFUSED("list a {\n  address 192.0.2.0/24\n}\n",
		"ipgate.conf:2:11:", "is a CIDR range; give a single address");
	REFUSED("list a {\n  address 0.0.0.0\n}\n",
		"ipgate.conf:2:11:", "not a destination a list can guard");
	REFUSED("list a {\n  address ff02::1\n}\n",
		"ipgate.conf:2:11:", "not a destination a list can guard");
	REFUSED("list a {\n  address 192.0.2.010\n}\n",
		"ipgate.conf:2:11:", "zero-padded");
}

TEST(test_lists_ipv4_mapped_address_is_its_ipv4_claim)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix dst = pfx("192.0.2.10");

	ASSERT_OK(ipg_config_parse(
		&c, "list a {\n  address ::ffff:192.0.2.10\n}\n", "x", &e));
	ASSERT_EQ(c.lists[0]->addrs[0].family, 4);
	ASSERT_TRUE(ipg_prefix_equal(&c.lists[0]->addrs[0], &dst));
	ASSERT_TRUE(ipg_config_list_for(&c, &dst) == c.lists[0]);
	ipg_config_free(&c);
	REFUSED("list a {\n  address 192.0.2.10\n}\n"
		"list b {\n  address ::ffff:192.0.2.10\n}\n",
		"ipgate.conf:5:11:",
		"192.0.2.10 is already claimed by list a at ipgate.conf:2");
}

TEST(test_lists_same_name_twice_names_both_places)
{
	static const struct ipg_config_text files[] = {
		{ "lists.d/1.conf", "list acme {\n  address 192.0.2.1\n}\n" },
		{ "lists.d/2.conf",
		  "\n\nlist  acme {\n  address 192.0.2.2\n}\n" },
	};

	REFUSED("list acme {\n  address 192.0.2.1\n}\n"
		"list acme {\n  address 192.0.2.2\n}\n",
		"ipgate.conf:4:6:",
		"list acme is already defined at ipgate.conf:1; list names "
		"are unique");
	REFUSED_WITH("include lists.d/*.conf\n", files, "lists.d/2.conf:3:7:",
		     "list acme is already defined at lists.d/1.conf:1");
}

/* Files in a temporary directory, for the include lines that read the
 * disk: DIR/ipgate.conf and DIR/lists.d/. Removed by the next test that
 * makes one, and at the end, whether the test passed or not. */
static char dir[64], main_path[96];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void tree_remove(void)
{
	if (*dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	*dir = '\0';
}

static int tree_new(void)
{
	char d[96];

	tree_remove();
	strcpy(dir, "/tmp/ipgate-lists-XXXXXX");
	if (!mkdtemp(dir))
		return -errno;
	snprintf(d, sizeof(d), "%s/lists.d", dir);
	snprintf(main_path, sizeof(main_path), "%s/ipgate.conf", dir);
	return mkdir(d, 0755) ? -errno : 0;
}

static void put(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

TEST(test_lists_broken_included_file_refuses_all)
{
	char d[96], msg[200];
	struct ipg_error e = { { 0 } };

	ASSERT_OK(tree_new());
	put("ipgate.conf", "enabled yes\nallow 198.51.100.0/24\n"
			   "include lists.d/*.conf\n");
	put("lists.d/a.conf", "list a {\n  address 192.0.2.1\n"
			      "  allow 203.0.113.0/24\n}\n");
	put("lists.d/b.conf", "list b {\n  address 192.0.2.2\n"
			      "  allow 203.0.113.7/24\n}\n");
	ASSERT_EQ(ipg_config_load(&c, main_path, &e), -EINVAL);
	snprintf(msg, sizeof(msg),
		 "%s/lists.d/b.conf:3:9: \"203.0.113.7/24\" has host bits set",
		 dir);
	ASSERT_TRUE(!strncmp(e.msg, msg, strlen(msg)));
	/* Nothing of the set: not the main file, not the good file. */
	ASSERT_EQ(c.n_lines, 0);
	ASSERT_EQ(c.policy.n_entries, 0);
	ASSERT_EQ(c.policy.kern.enabled, 0);
	ASSERT_EQ(c.n_lists, 0);
	ASSERT_EQ(c.n_files, 0);
	/* Fixed, the set loads, in byte order of the file names. */
	put("lists.d/b.conf", "list b {\n  address 192.0.2.2\n"
			      "  allow 203.0.113.0/24\n}\n");
	put("lists.d/B.conf", "list c {\n  address 192.0.2.3\n}\n");
	put("lists.d/b.conf.orig", "garbage\n");
	ASSERT_OK(ipg_config_load(&c, main_path, &e));
	ASSERT_EQ(c.n_files, 3);
	ASSERT_STR(c.lists[0]->name, "c");
	ASSERT_STR(c.lists[1]->name, "a");
	ASSERT_STR(c.lists[2]->name, "b");
	ipg_config_free(&c);
	/* A directory the pattern matches is refused, not skipped. */
	snprintf(d, sizeof(d), "%s/lists.d/x.conf", dir);
	ASSERT_OK(mkdir(d, 0755));
	ASSERT_EQ(ipg_config_load(&c, main_path, &e), -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "ipgate.conf:3:9: ") != NULL);
	ASSERT_TRUE(strstr(e.msg, "x.conf is not a regular file") != NULL);
}

TEST(test_lists_include_matching_nothing_is_fine)
{
	struct ipg_error e = { { 0 } };

	ASSERT_OK(tree_new());
	/* An empty lists.d, and a directory that is not there. */
	put("ipgate.conf", "allow 198.51.100.0/24\n"
			   "include lists.d/*.conf\n"
			   "include missing.d/*.conf\n");
	ASSERT_OK(ipg_config_load(&c, main_path, &e));
	ASSERT_EQ(c.n_lists, 0);
	ASSERT_EQ(c.n_files, 0);
	ASSERT_EQ(c.n_warnings, 0);
	ASSERT_EQ(c.policy.n_entries, 1);
	ipg_config_free(&c);
	/* A single file named without a pattern: fine, with a note. */
	put("ipgate.conf", "include acme.conf\n");
	ASSERT_OK(ipg_config_load(&c, main_path, &e));
	ASSERT_EQ(c.n_warnings, 1);
	ASSERT_TRUE(strstr(c.warnings[0], "include acme.conf") != NULL);
	ASSERT_TRUE(strstr(c.warnings[0], "matches no file") != NULL);
	ipg_config_free(&c);
	/* A pattern that matches the main file itself is refused. */
	put("ipgate.conf", "include *.conf\n");
	ASSERT_EQ(ipg_config_load(&c, main_path, &e), -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "matches the main config file") != NULL);
}

TEST(test_lists_top_level_keywords_refused_inside_a_list)
{
	static const struct ipg_config_text top_in_inc[] = {
		{ "lists.d/a.conf",
		  "list a {\n  address 192.0.2.1\n}\nenabled yes\n" },
	};
	static const struct ipg_config_text inc_in_inc[] = {
		{ "lists.d/a.conf", "include other/*.conf\n" },
	};

	REFUSED("list a {\n  address 192.0.2.1\n  interface eth0\n}\n",
		"ipgate.conf:3:3:",
		"interface is not a list setting and cannot stand inside "
		"list a (line 1); put it at the top level of ipgate.conf");
	REFUSED("list a {\n  address 192.0.2.1\n  breakglass-port 9\n}\n",
		"ipgate.conf:3:3:", "breakglass-port is not a list setting");
	REFUSED("list a {\n  address 192.0.2.1\n  include x/*.conf\n}\n",
		"ipgate.conf:3:3:", "include is not a list setting");
	REFUSED("address 192.0.2.1\n",
		"ipgate.conf:1:1:", "address stands only inside a list block");
	REFUSED("list a {\n  address 192.0.2.1\n  frob 1\n}\n",
		"ipgate.conf:3:3:",
		"unknown setting \"frob\"; expected address, enabled, protect, "
		"max-entries, mode, override-max, allow or }");
	REFUSED("list a {\n  address 192.0.2.1\n  enabled yes\n"
		"  enabled no\n}\n",
		"ipgate.conf:4:1:", "enabled is already set on line 3");
	REFUSED_WITH("include lists.d/*.conf\n", top_in_inc,
		     "lists.d/a.conf:4:1:",
		     "enabled cannot stand at the top level of an included "
		     "file, which holds list blocks only; top-level settings "
		     "belong in ipgate.conf");
	REFUSED_WITH("include lists.d/*.conf\n", inc_in_inc,
		     "lists.d/a.conf:1:1:", "includes do not nest");
}

TEST(test_lists_nested_list_refused)
{
	REFUSED("list a {\n  address 192.0.2.1\n  list b {\n"
		"    address 192.0.2.2\n  }\n}\n",
		"ipgate.conf:3:3:",
		"list blocks do not nest: list a (line 1) is still open");
}

TEST(test_lists_malformed_blocks_refused)
{
	static const struct ipg_config_text open_inc[] = {
		{ "lists.d/a.conf", "list a {\n  address 192.0.2.1\n" },
	};

	REFUSED("enabled yes\nlist a {\n  address 192.0.2.1\n",
		"ipgate.conf:2:1:",
		"list a is not closed; expected a line with } before the end "
		"of the file");
	/* An included file closes its own blocks. */
	REFUSED_WITH("include lists.d/*.conf\n", open_inc,
		     "lists.d/a.conf:1:1:", "list a is not closed");
	REFUSED("}\n", "ipgate.conf:1:1:", "} without a list block to close");
	REFUSED("list a\n{\n", "ipgate.conf:1:7:",
		"expected { after the list name, on the same line");
	REFUSED("list a{\n", "ipgate.conf:1:7:",
		"expected a space between the list name and {");
	REFUSED("list a { address 192.0.2.1 }\n",
		"ipgate.conf:1:10:", "unexpected \"address\" after {");
	REFUSED("list a {\n  address 192.0.2.1\n} allow\n",
		"ipgate.conf:3:3:", "unexpected \"allow\"");
	REFUSED("list Acme {\n", "ipgate.conf:1:6:",
		"\"Acme\" is not a list name; expected 1 to 32 of a-z, 0-9, _ "
		"and -");
	REFUSED("list -a {\n", "ipgate.conf:1:6:", "is not a list name");
	REFUSED("list a23456789012345678901234567890123 {\n",
		"ipgate.conf:1:6:", "is not a list name");
	REFUSED("list default {\n",
		"ipgate.conf:1:6:", "\"default\" names the top-level list");
	REFUSED("list\n", "ipgate.conf:1:5:", "expected a list name");
	REFUSED("list a {\n  allow 192.0.2.1\n}\n",
		"ipgate.conf:3:1:", "list a (line 1) has no address line");
	REFUSED("list a {\n  address 192.0.2.1\n  allow 203.0.113.1\n"
		"  allow 203.0.113.1/32\n}\n",
		"ipgate.conf:4:9:", "already allowed on line 3");
	REFUSED("list a {\n  address 192.0.2.1\n  protect udp/62201\n}\n",
		"ipgate.conf:3:1:",
		"list a protects udp/62201, the break-glass port");
}

TEST(test_lists_round_trip_is_exact)
{
	struct ipg_error e = { { 0 } };
	static struct ipg_config copy;
	char *out;

	ASSERT_OK(parse_example(&c, &e));
	out = ipg_config_render(&c);
	ASSERT_STR(out, example);
	free(out);
	out = ipg_config_render_file(&c, 0);
	ASSERT_STR(out, globex);
	free(out);
	ASSERT_TRUE(ipg_config_render_file(&c, 1) == NULL);
	/* A clone is the same documents, read from memory. */
	ASSERT_OK(ipg_config_clone(&copy, &c, &e));
	ASSERT_EQ(copy.n_lists, 3);
	ASSERT_EQ(copy.n_files, 1);
	ASSERT_STR(copy.files[0].path, "/etc/ipgate/lists.d/globex.conf");
	out = ipg_config_render(&copy);
	ASSERT_STR(out, example);
	free(out);
	out = ipg_config_render_file(&copy, 0);
	ASSERT_STR(out, globex);
	free(out);
	ipg_config_free(&copy);
	ipg_config_free(&c);
}

TEST(test_lists_edits_land_in_the_lists_own_file)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = pfx("198.18.0.1");
	static struct ipg_config copy;
	const struct ipg_config_list *g;
	uint32_t hq_id;
	char *out;

	ASSERT_OK(parse_example(&c, &e));
	g = ipg_config_list_find(&c, "globex");
	hq_id = g->policy.entries[0].rule_id;
	ASSERT_OK(ipg_config_list_add(&c, "globex", &p, "new office", 0, &e));
	ASSERT_OK(ipg_config_list_set_enabled(&c, "globex", true, &e));
	ASSERT_OK(ipg_config_list_set_enabled(&c, "initech", true, &e));
	ASSERT_EQ(ipg_config_list_remove(&c, "acme", &p, &e), -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "is not in list acme") != NULL);
	/* The main file did not change; the list's file did. */
	out = ipg_config_render(&c);
	ASSERT_STR(out, example);
	free(out);
	ASSERT_TRUE(!c.dirty);
	ASSERT_TRUE(c.files[0].dirty);
	out = ipg_config_render_file(&c, 0);
	ASSERT_STR(out, "# Globex, managed by the customer team\n"
			"list globex {\n"
			"\taddress 192.0.2.20\n"
			"\tenabled yes\n"
			"\tallow 203.0.113.77   hq  # the one office\n"
			"\tallow 198.18.0.1         \"new office\"\n"
			"}  # globex\n"
			"\n"
			"list initech {\n"
			"\taddress 2001:db8:c::1\n"
			"\tenabled yes\n"
			"}\n");
	free(out);
	ASSERT_EQ(g->policy.kern.enabled, 1);
	ASSERT_EQ(g->policy.n_entries, 2);
	/* Lines below the edit moved down. */
	ASSERT_EQ(c.lists[1]->line, 9);
	/* Errors name the list, and change nothing. */
	ASSERT_EQ(ipg_config_list_add(&c, "globex", &p, NULL, 0, &e), -EEXIST);
	ASSERT_TRUE(strstr(e.msg, "list globex: 198.18.0.1 is already") !=
		    NULL);
	ASSERT_EQ(ipg_config_list_add(&c, "nobody", &p, NULL, 0, &e), -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "no list named \"nobody\"") != NULL);
	/* The top level, by name, edits the main file. */
	ASSERT_OK(ipg_config_list_add(&c, "default", &p, NULL, 0, &e));
	ASSERT_TRUE(c.dirty);
	out = ipg_config_render(&c);
	ASSERT_TRUE(strstr(out, "allow 198.51.100.0/24 ops\nallow 198.18.0.1\n"
				"\ninclude") != NULL);
	free(out);
	/* A clone keeps rule ids per list, and the marks. */
	ASSERT_OK(ipg_config_clone(&copy, &c, &e));
	ASSERT_EQ(
		ipg_config_list_find(&copy, "globex")->policy.entries[0].rule_id,
		hq_id);
	ASSERT_TRUE(copy.dirty && copy.files[0].dirty);
	ASSERT_OK(ipg_config_list_remove(&copy, "globex", &p, &e));
	ASSERT_EQ(ipg_config_list_find(&copy, "globex")->policy.n_entries, 1);
	ipg_config_free(&copy);
	ipg_config_free(&c);
}

/* Top-level lines a change adds go above the blocks, not below the last
 * one, where they would read as part of a customer's list. */
TEST(test_lists_top_level_edits_stay_above_the_blocks)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = pfx("198.18.0.1");
	char *out;

	ASSERT_OK(ipg_config_parse(&c,
				   "# header\nprotect tcp/443\n\n# acme\n"
				   "list acme {\n  address 192.0.2.1\n}\n",
				   "x", &e));
	ASSERT_OK(ipg_config_set_enabled(&c, true, &e));
	ASSERT_OK(ipg_config_add(&c, &p, NULL, 0, &e));
	out = ipg_config_render(&c);
	ASSERT_STR(out, "# header\nprotect tcp/443\nenabled yes\n"
			"allow 198.18.0.1\n\n# acme\n"
			"list acme {\n  address 192.0.2.1\n}\n");
	free(out);
	ASSERT_EQ(c.lists[0]->line, 7);
	ipg_config_free(&c);
}

TEST(test_lists_full_list_refuses_an_add)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = pfx("198.18.0.3");

	ASSERT_OK(
		ipg_config_parse(&c,
				 "max-entries 2\n"
				 "list a {\n  address 192.0.2.1\n"
				 "  allow 198.18.0.1\n  allow 198.18.0.2\n}\n",
				 "x", &e));
	ASSERT_EQ(ipg_config_list_add(&c, "a", &p, NULL, 0, &e), -ENOSPC);
	ASSERT_TRUE(strstr(e.msg, "list a: cannot add 198.18.0.3") != NULL);
	ASSERT_TRUE(strstr(e.msg, "2 of 2") != NULL);
	/* The top level has room of its own. */
	ASSERT_OK(ipg_config_add(&c, &p, NULL, 0, &e));
	ipg_config_free(&c);
}

TEST(test_lists_save_all_writes_the_edited_files_only)
{
	char inc[128], link_[128];
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = pfx("198.18.0.1");
	static struct ipg_config back;
	struct stat st0, st1;
	struct ipg_buf b = { 0 };

	ASSERT_OK(tree_new());
	snprintf(link_, sizeof(link_), "%s/link.conf", dir);
	snprintf(inc, sizeof(inc), "%s/lists.d/globex.conf", dir);
	put("ipgate.conf", "include lists.d/*.conf  # customers\n");
	put("lists.d/globex.conf", globex);
	ASSERT_OK(chmod(inc, 0640));
	ASSERT_OK(ipg_config_load(&c, main_path, &e));
	ASSERT_OK(stat(main_path, &st0));
	ASSERT_OK(ipg_config_list_add(&c, "initech", &p, "x y", 0, &e));
	ASSERT_OK(ipg_config_save_all(&c, main_path, &e));
	ASSERT_TRUE(!c.files[0].dirty);
	ASSERT_OK(stat(main_path, &st1));
	ASSERT_EQ(st1.st_ino, st0.st_ino); /* not rewritten */
	ASSERT_OK(stat(inc, &st1));
	ASSERT_EQ(st1.st_mode & 07777, 0640);
	ASSERT_OK(ipg_read_file(inc, 1 << 20, &b));
	ASSERT_TRUE(strstr(b.s, "\tenabled no\n\tallow 198.18.0.1         "
				"\"x y\"\n}\n") != NULL);
	ipg_buf_free(&b);
	ASSERT_OK(ipg_config_load(&back, main_path, &e));
	ASSERT_EQ(ipg_config_list_find(&back, "initech")->policy.n_entries, 1);
	ipg_config_free(&back);
	/* A file that cannot be written: refused before anything is. */
	ASSERT_OK(ipg_config_list_remove(&c, "initech", &p, &e));
	ASSERT_OK(ipg_config_set_enabled(&c, true, &e));
	ASSERT_OK(symlink("elsewhere", link_));
	free(c.files[0].path);
	c.files[0].path = strdup(link_);
	ASSERT_EQ(ipg_config_save_all(&c, main_path, &e), -EROFS);
	ASSERT_TRUE(strstr(e.msg, "symbolic link") != NULL);
	ASSERT_OK(stat(main_path, &st1));
	ASSERT_EQ(st1.st_ino, st0.st_ino);
	ipg_config_free(&c);
}

TEST(test_lists_diff_names_the_list)
{
	static struct ipg_config a, b;
	static const struct ipg_config_text changed[] = {
		{ "/etc/ipgate/lists.d/globex.conf",
		  "list globex {\n"
		  "\taddress 192.0.2.20 192.0.2.21\n"
		  "\tenabled yes\n"
		  "\tallow 203.0.113.77 hq\n"
		  "\tallow 198.18.0.0/24\n"
		  "}\n"
		  "list hooli {\n"
		  "\taddress 192.0.2.30\n"
		  "\tallow 203.0.113.1 \"Hooli HQ\"\n"
		  "}\n" },
	};
	struct ipg_config_diff d;
	struct ipg_error e = { { 0 } };

	ASSERT_OK(parse_example(&a, &e));
	ASSERT_OK(ipg_config_parse_texts(&b, example, "/etc/ipgate/ipgate.conf",
					 changed, 1, &e));
	ASSERT_OK(ipg_config_diff(&a, &b, &d));
	ASSERT_TRUE(strstr(d.text.s,
			   "~ list globex: address: 192.0.2.20 -> 192.0.2.20 "
			   "192.0.2.21\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "~ list globex: enabled: false -> "
				     "true\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "+ list globex: allow 198.18.0.0/24\n") !=
		    NULL);
	ASSERT_TRUE(strstr(d.text.s, "- list initech: address 2001:db8:c::1; "
				     "enabled no; 0 entries\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "+ list hooli: address 192.0.2.30; "
				     "enabled no; 1 entry\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "+ list hooli: allow 203.0.113.1") !=
		    NULL);
	/* acme and the top level did not change: not named. */
	ASSERT_TRUE(strstr(d.text.s, "acme") == NULL);
	ASSERT_TRUE(strstr(d.text.s, "\n~ enabled") == NULL);
	ASSERT_EQ(d.lists_changed, 3);
	ASSERT_TRUE(strstr(d.before.s,
			   "\"count\":1,\"lists\":[{\"list\":\"globex\","
			   "\"address\":[\"192.0.2.20\"],\"enabled\":false,"
			   "\"entries\":[],\"count\":1},") != NULL);
	ASSERT_TRUE(strstr(d.after.s,
			   "{\"list\":\"globex\",\"address\":[\"192.0.2.20\","
			   "\"192.0.2.21\"],\"enabled\":true,\"entries\":[{"
			   "\"cidr\":\"198.18.0.0/24\",\"label\":\"\"}],"
			   "\"count\":2}") != NULL);
	ASSERT_TRUE(strstr(d.before.s,
			   "{\"list\":\"hooli\",\"exists\":false}") != NULL);
	ASSERT_TRUE(strstr(d.after.s,
			   "{\"list\":\"hooli\",\"address\":[\"192.0.2.30\"],"
			   "\"enabled\":false,\"mode\":\"drop\","
			   "\"max-entries\":50,\"override-max\":86400,"
			   "\"protect\":\"tcp/443 tcp/8443\",\"entries\":[{"
			   "\"cidr\":\"203.0.113.1\",\"label\":\"Hooli HQ\"}],"
			   "\"count\":1}") != NULL);
	ASSERT_TRUE(strstr(d.after.s,
			   "{\"list\":\"initech\",\"exists\":false}") != NULL);
	ipg_config_diff_free(&d);
	/* A top-level setting a list inherits: one line, at the top level;
	 * the list counts as changed. */
	ipg_config_free(&b);
	ASSERT_OK(ipg_config_clone(&b, &a, &e));
	b.policy.kern.mode = IPG_MODE_REJECT;
	b.lists[0]->policy.kern.mode = IPG_MODE_REJECT;
	ASSERT_OK(ipg_config_diff(&a, &b, &d));
	ASSERT_STR(d.text.s, "~ mode: drop -> reject\n");
	ASSERT_EQ(d.lists_changed, 1);
	ASSERT_TRUE(strstr(d.after.s, "\"lists\"") == NULL);
	ipg_config_diff_free(&d);
	/* No change, no lines. */
	ASSERT_OK(ipg_config_diff(&a, &a, &d));
	ASSERT_EQ(d.changes, 0);
	ASSERT_EQ(d.lists_changed, 0);
	ASSERT_STR(d.text.s, "");
	ipg_config_diff_free(&d);
	ipg_config_free(&a);
	ipg_config_free(&b);
}

TEST(test_lists_absent_keep_the_grammar_of_today)
{
	struct ipg_error e = { { 0 } };
	static const char text[] = "enabled yes\nallow 192.0.2.1\n";
	struct ipg_config_diff d;
	static struct ipg_config b;

	/* No list: nothing new in the model, the diff's JSON as before. */
	ASSERT_OK(ipg_config_parse(&c, text, "x", &e));
	ASSERT_EQ(c.n_lists, 0);
	ASSERT_EQ(c.n_files, 0);
	ASSERT_OK(
		ipg_config_parse(&b, "enabled no\nallow 192.0.2.1\n", "x", &e));
	ASSERT_OK(ipg_config_diff(&c, &b, &d));
	ASSERT_STR(d.before.s, "{\"enabled\":true,\"entries\":[],\"count\":1}");
	ASSERT_STR(d.after.s, "{\"enabled\":false,\"entries\":[],\"count\":1}");
	ipg_config_diff_free(&d);
	ipg_config_free(&b);
	ipg_config_free(&c);
}

int main(int argc, char **argv)
{
	return harness_main("unit/lists", argc, argv, NULL, tree_remove);
}

/* "Save" of one list: its block replaced from a body, in its own file,
 * the rest of the document as it was; a bad body changes nothing and the
 * error points at the body's own line. */
TEST(test_lists_replace_saves_one_list_in_its_own_file)
{
	static struct ipg_config next;
	struct ipg_error e = { { 0 } };
	const struct ipg_config_list *g;
	char *out;

	ASSERT_OK(parse_example(&c, &e));
	ASSERT_OK(ipg_config_list_replace(&next, &c, "globex",
					  "address 192.0.2.20\n"
					  "enabled yes\n"
					  "allow 203.0.113.77 hq\n"
					  "allow 198.18.0.9 \"new\"\n",
					  "globex.body",
					  "/etc/ipgate/ipgate.conf", &e));
	g = ipg_config_list_find(&next, "globex");
	ASSERT_TRUE(g != NULL);
	ASSERT_EQ(g->policy.n_entries, 2);
	ASSERT_EQ(g->policy.kern.enabled, 1);
	/* Inherited from the top level, as any list. */
	ASSERT_TRUE(
		ipg_policy_port_protected(&g->policy.ports, IPPROTO_TCP, 8443));
	ASSERT_TRUE(!next.dirty);
	ASSERT_TRUE(next.files[0].dirty);
	out = ipg_config_render(&next);
	ASSERT_STR(out, example);
	free(out);
	out = ipg_config_render_file(&next, 0);
	ASSERT_TRUE(strstr(out, "# Globex, managed by the customer team\n"
				"list globex {\naddress 192.0.2.20\n") == out);
	ASSERT_TRUE(strstr(out, "list initech {\n") != NULL);
	free(out);
	ipg_config_free(&next);

	/* A bad line: the error names the body's file and line. */
	ASSERT_EQ(ipg_config_list_replace(&next, &c, "globex",
					  "address 192.0.2.20\n"
					  "allow 203.0.113.0/33\n",
					  "globex.body",
					  "/etc/ipgate/ipgate.conf", &e),
		  -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "globex.body:2:") == e.msg);
	/* A claim of another list's address: refused as the whole config. */
	ASSERT_TRUE(ipg_config_list_replace(&next, &c, "globex",
					    "enabled yes\naddress 192.0.2.10\n",
					    "b", "/etc/ipgate/ipgate.conf",
					    &e) < 0);
	ASSERT_TRUE(strstr(e.msg, "192.0.2.10") != NULL);
	/* The body's claim is said at its own line, where the user wrote
	 * it, not at a line of the rendered config. */
	if (!strstr(e.msg, "by list globex at b:2;"))
		FAIL("claim refused at: %s", e.msg);
	/* A "}" would end the block early; unknown lists are named. */
	ASSERT_EQ(ipg_config_list_replace(&next, &c, "globex",
					  "enabled no\n}\nlist x {\n", "b",
					  "/etc/ipgate/ipgate.conf", &e),
		  -EINVAL);
	ASSERT_EQ(ipg_config_list_replace(&next, &c, "nobody", "", "b",
					  "/etc/ipgate/ipgate.conf", &e),
		  -ENOENT);
	/* 51 entries where the limit is 50. */
	{
		struct ipg_buf body = { 0 };

		ipg_buf_printf(&body, "address 192.0.2.20\n");
		for (int i = 0; i < 51; i++)
			ipg_buf_printf(&body, "allow 198.18.1.%d\n", i);
		ASSERT_TRUE(ipg_config_list_replace(
				    &next, &c, "globex", body.s, "b",
				    "/etc/ipgate/ipgate.conf", &e) < 0);
		if (!strstr(e.msg, "more than max-entries") ||
		    strstr(e.msg, "b:52:") != e.msg)
			FAIL("51 entries: %s", e.msg);
		ipg_buf_free(&body);
	}
	ipg_config_free(&c);
}

/* A copy to edit one list in shares the lists of other files and leaves
 * the original as it was; both free cleanly in either order (ASan). */
TEST(test_lists_cow_copies_only_the_edited_file)
{
	static struct ipg_config a, b;
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p = pfx("198.18.0.1");
	char *before, *after;

	ASSERT_OK(parse_example(&c, &e));
	before = ipg_config_render_file(&c, 0);
	/* globex lives in the included file: acme (main file) is shared. */
	ASSERT_OK(ipg_config_cow(&a, &c, "globex", &e));
	ASSERT_TRUE(ipg_config_list_find(&a, "acme") ==
		    ipg_config_list_find(&c, "acme"));
	ASSERT_TRUE(ipg_config_list_find(&a, "globex") !=
		    ipg_config_list_find(&c, "globex"));
	ASSERT_OK(ipg_config_list_add(&a, "globex", &p, "x", 0, &e));
	ASSERT_EQ(ipg_config_list_find(&a, "globex")->policy.n_entries, 2);
	ASSERT_EQ(ipg_config_list_find(&c, "globex")->policy.n_entries, 1);
	after = ipg_config_render_file(&c, 0);
	ASSERT_STR(after, before);
	free(after);
	ASSERT_TRUE(a.files[0].dirty && !c.files[0].dirty);
	/* The top level: the main file's lists (acme) are copied. */
	ASSERT_OK(ipg_config_cow(&b, &a, "default", &e));
	ASSERT_TRUE(ipg_config_list_find(&b, "acme") !=
		    ipg_config_list_find(&a, "acme"));
	ASSERT_TRUE(ipg_config_list_find(&b, "globex") ==
		    ipg_config_list_find(&a, "globex"));
	ASSERT_OK(ipg_config_list_add(&b, "default", &p, NULL, 0, &e));
	ASSERT_EQ(a.policy.n_entries, 1);
	ASSERT_EQ(b.policy.n_entries, 2);
	ASSERT_EQ(ipg_config_cow(&b, &a, "nobody", &e), -ENOENT);
	ipg_config_free(&c); /* the original first: the copies live on */
	after = ipg_config_render_file(&a, 0);
	ASSERT_TRUE(strstr(after, "198.18.0.1") != NULL);
	free(after);
	ipg_config_free(&a);
	ipg_config_free(&b);
	free(before);
}

/* A list's Save cannot reach past its block: a "}" however indented, a
 * top-level setting, another list, an include. */
TEST(test_lists_replace_body_cannot_leave_its_block)
{
	static struct ipg_config next;
	static const char *const bad[] = {
		"address 192.0.2.20\n }\nallow 0.0.0.0/0 x\n",
		"address 192.0.2.20\n\t}  # end\n",
		"address 192.0.2.20\nprotect tcp/22\n}\nlist zz {\n",
		"address 192.0.2.20\ninterface eth9\n",
		"address 192.0.2.20\ninclude /etc/shadow\n",
		"address 192.0.2.20\nlist zz {\n",
		"address 192.0.2.20\nbreakglass-port 1\n",
	};
	struct ipg_error e = { { 0 } };
	char *before;

	ASSERT_OK(parse_example(&c, &e));
	before = ipg_config_render(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&next, 0, sizeof(next));
		if (ipg_config_list_replace(&next, &c, "globex", bad[i], "b",
					    "/etc/ipgate/ipgate.conf",
					    &e) != -EINVAL)
			FAIL("body %zu accepted: %s", i, bad[i]);
		if (strstr(e.msg, "b:") != e.msg)
			FAIL("body %zu: error not at its line: %s", i, e.msg);
	}
	/* The running config is as it was. */
	{
		char *after = ipg_config_render(&c);

		ASSERT_STR(after, before);
		free(after);
	}
	free(before);
	ipg_config_free(&c);
}
