// SPDX-License-Identifier: GPL-2.0
/* The config file: grammar, errors with file/line/column, round trips that
 * keep comments and labels, edits, and atomic saves. No root needed. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"

static const char example[] =
	"# ipgate for the API hosts\n"
	"interface eth0              # one or more lines\n"
	"interface eth1 eth2\n"
	"enabled yes\n"
	"protect tcp/443 udp/443     # REST API (and HTTP/3)\n"
	"protect tcp/8443            # MCP server\n"
	"max-entries 50\n"
	"mode drop                   # or reject\n"
	"\n"
	"allow 203.0.113.45      office-gateway\n"
	"allow 203.0.113.0/24    \"VPN egress\"\n"
	"allow 2001:db8::/32\n"
	"allow 192.0.2.0/24 \"a \\\"quoted\\\" # label\"  # and a comment\n";

static struct ipg_config c;

TEST(test_config_example_parses)
{
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_config_parse(&c, example, "ipgate.conf", &e));
	ASSERT_EQ(c.n_interfaces, 3);
	ASSERT_STR(c.interfaces[2], "eth2");
	ASSERT_EQ(c.policy.kern.enabled, 1);
	ASSERT_EQ(c.policy.kern.mode, IPG_MODE_DROP);
	ASSERT_EQ(c.policy.max_entries, 50);
	ASSERT_TRUE(
		ipg_policy_port_protected(&c.policy.ports, IPPROTO_TCP, 443));
	ASSERT_TRUE(
		ipg_policy_port_protected(&c.policy.ports, IPPROTO_UDP, 443));
	ASSERT_TRUE(
		ipg_policy_port_protected(&c.policy.ports, IPPROTO_TCP, 8443));
	ASSERT_TRUE(
		!ipg_policy_port_protected(&c.policy.ports, IPPROTO_UDP, 8443));
	ASSERT_EQ(c.policy.n_entries, 4);
	ASSERT_STR(c.policy.entries[0].label, "office-gateway");
	ASSERT_STR(c.policy.entries[1].label, "VPN egress");
	ASSERT_STR(c.policy.entries[2].label, "");
	ASSERT_STR(c.policy.entries[3].label, "a \"quoted\" # label");
	ASSERT_EQ(c.override_max_s, 24 * 3600);
	/* 203.0.113.45 lies inside 203.0.113.0/24: reported, not refused. */
	ASSERT_EQ(c.n_warnings, 1);
	ASSERT_TRUE(strstr(c.warnings[0],
			   "203.0.113.45 lies inside 203.0.113.0/24") != NULL);
	ipg_config_free(&c);
}

TEST(test_config_round_trip_is_exact)
{
	char *out;

	ASSERT_OK(ipg_config_parse(&c, example, "x", NULL));
	out = ipg_config_render(&c);
	ASSERT_TRUE(out != NULL);
	ASSERT_STR(out, example);
	free(out);
	ipg_config_free(&c);
}

TEST(test_config_edits_keep_comments_and_labels)
{
	struct ipg_config back;
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p;
	char *out;

	ASSERT_OK(ipg_config_parse(&c, example, "x", NULL));
	ASSERT_OK(ipg_config_set_enabled(&c, false, &e));
	ASSERT_OK(ipg_prefix_parse("198.51.100.0/24", &p, NULL));
	ASSERT_OK(ipg_config_add(&c, &p, "new office", 0, &e));
	ASSERT_OK(ipg_prefix_parse("203.0.113.45", &p, NULL));
	ASSERT_OK(ipg_config_remove(&c, &p, &e));
	out = ipg_config_render(&c);
	ASSERT_TRUE(strstr(out, "# ipgate for the API hosts\n") != NULL);
	ASSERT_TRUE(strstr(out, "enabled no\n") != NULL);
	ASSERT_TRUE(strstr(out, "protect tcp/8443            # MCP server\n") !=
		    NULL);
	ASSERT_TRUE(strstr(out, "\"VPN egress\"") != NULL);
	ASSERT_TRUE(strstr(out, "office-gateway") == NULL);
	ASSERT_TRUE(strstr(out, "allow 198.51.100.0/24    \"new office\"\n") !=
		    NULL);
	/* What was written reads back as the same policy. */
	ASSERT_OK(ipg_config_parse(&back, out, "x", &e));
	ASSERT_EQ(back.policy.kern.enabled, 0);
	ASSERT_EQ(back.policy.n_entries, 4);
	ASSERT_STR(back.policy.entries[3].label, "new office");
	free(out);
	ipg_config_free(&back);
	ipg_config_free(&c);
}

TEST(test_config_edits_refuse_and_change_nothing)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p;
	char *before, *after;
	char buf[32];

	ASSERT_OK(ipg_config_parse(&c, "max-entries 3\nallow 192.0.2.1\n", "x",
				   NULL));
	ASSERT_OK(ipg_prefix_parse("192.0.2.1", &p, NULL));
	before = ipg_config_render(&c);
	ASSERT_EQ(ipg_config_add(&c, &p, NULL, 0, &e), -EEXIST);
	ASSERT_OK(ipg_prefix_parse("192.0.2.9", &p, NULL));
	ASSERT_EQ(ipg_config_remove(&c, &p, &e), -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "192.0.2.9 is not in the list") != NULL);
	ASSERT_EQ(ipg_config_add(&c, &p, "bad\nlabel", 0, &e), -EINVAL);
	after = ipg_config_render(&c);
	ASSERT_STR(after, before);
	free(after);
	for (int i = 2; i <= 3; i++) {
		snprintf(buf, sizeof(buf), "192.0.2.%d", 10 + i);
		ASSERT_OK(ipg_prefix_parse(buf, &p, NULL));
		ASSERT_OK(ipg_config_add(&c, &p, NULL, 0, &e));
	}
	ASSERT_OK(ipg_prefix_parse("192.0.2.99", &p, NULL));
	ASSERT_EQ(ipg_config_add(&c, &p, NULL, 0, &e), -ENOSPC);
	ASSERT_TRUE(strstr(e.msg, "3 of 3") != NULL);
	ASSERT_EQ(c.policy.n_entries, 3);
	free(before);
	ipg_config_free(&c);
}

static void refused_at(const char *file, int line, const char *text,
		       const char *where, const char *part)
{
	struct ipg_error e = { { 0 } };

	if (ipg_config_parse(&c, text, "ipgate.conf", &e) != -EINVAL)
		return harness_fail(file, line, "accepted: %s", text);
	if (strncmp(e.msg, where, strlen(where)) || !strstr(e.msg, part))
		return harness_fail(file, line,
				    "message \"%s\" lacks \"%s\" or \"%s\"",
				    e.msg, where, part);
	if (c.n_lines || c.policy.n_entries || c.n_interfaces)
		return harness_fail(file, line,
				    "config not left empty on error");
}

#define REFUSED(text, where, part) \
	CHECK(refused_at(__FILE__, __LINE__, text, where, part))

TEST(test_config_errors_name_file_line_column)
{
	REFUSED("enabled yes\nfrobnicate 1\n",
		"ipgate.conf:2:1:", "unknown setting \"frobnicate\"");
	REFUSED("protect tcp/443 sctp/9\n",
		"ipgate.conf:1:17:", "expected tcp/PORT or udp/PORT");
	REFUSED("protect tcp/0\n", "ipgate.conf:1:13:", "1 to 65535");
	REFUSED("protect tcp/65536\n", "ipgate.conf:1:13:", "1 to 65535");
	REFUSED("  allow 203.0.113.7/24\n",
		"ipgate.conf:1:9:", "did you mean 203.0.113.0/24?");
	REFUSED("allow *\n", "ipgate.conf:1:7:", "wildcard");
	REFUSED("allow 192.0.2.1\nallow 192.0.2.1/32\n",
		"ipgate.conf:2:7:", "already allowed on line 1");
	REFUSED("allow 192.0.2.1 \"unterminated\n",
		"ipgate.conf:1:17:", "closing \"");
	REFUSED("allow 192.0.2.1 two words\n",
		"ipgate.conf:1:21:", "unexpected \"words\"");
	REFUSED("allow\n", "ipgate.conf:1:6:", "expected an address or CIDR");
	REFUSED("enabled yes\nenabled no\n",
		"ipgate.conf:2:1:", "already set on line 1");
	REFUSED("enabled maybe\n", "ipgate.conf:1:9:", "not yes or no");
	REFUSED("mode tarpit\n",
		"ipgate.conf:1:6:", "expected drop, reject or shadow");
	REFUSED("max-entries 0\n", "ipgate.conf:1:13:", "expected 1 to 1024");
	REFUSED("max-entries 2\nallow 192.0.2.1\nallow 192.0.2.2\nallow 192.0.2.3\n",
		"ipgate.conf:4:1:", "more than max-entries (2)");
	REFUSED("interface eth0 eth0\n", "ipgate.conf:1:16:", "listed twice");
	REFUSED("override-max 8d\n", "ipgate.conf:1:14:", "up to 7d");
}

/* Labels reach root's terminal through `ipgate list`: no escape sequence
 * may enter by any path, quoted or not, file or CLI. */
TEST(test_config_labels_refuse_terminal_escapes)
{
	struct ipg_error e = { { 0 } };
	struct ipg_buf b = { 0 };
	struct ipg_prefix p;

	REFUSED("allow 192.0.2.1 \"x\033[2Jy\"\n",
		"ipgate.conf:1:19:", "control character in a quoted string");
	REFUSED("allow 192.0.2.1 \"tab\there\"\n",
		"ipgate.conf:1:21:", "control character");
	REFUSED("allow 192.0.2.1 \"csi\xc2\x9b"
		"2J\"\n",
		"ipgate.conf:1:17:", "U+009B");
	REFUSED("allow 192.0.2.1 bad\xff\n",
		"ipgate.conf:1:17:", "not valid UTF-8");
	REFUSED("allow 192.0.2.1 \"over\xc0\xafong\"\n",
		"ipgate.conf:1:17:", "not valid UTF-8");
	ASSERT_OK(ipg_config_parse(
		&c, "allow 192.0.2.1 \"Caf\xc3\xa9 \xe2\x82\xac\"\n", "x", &e));
	ASSERT_STR(c.policy.entries[0].label, "Caf\xc3\xa9 \xe2\x82\xac");
	ASSERT_OK(ipg_prefix_parse("192.0.2.2", &p, NULL));
	ASSERT_EQ(ipg_config_add(&c, &p, "\x1b]0;pwned\x07", 0, &e), -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "control character") != NULL);
	ASSERT_EQ(ipg_config_add(&c, &p, "x\xc2\x85y", 0, &e), -EINVAL);
	ASSERT_EQ(c.policy.n_entries, 1);
	ipg_config_free(&c);

	ipg_buf_text_safe(&b, "a\x1b[31mb\\c\xc2\x9b"
			      "d\xff"
			      "e\xc3\xa9");
	ASSERT_STR(b.s, "a\\x1b[31mb\\x5cc\\xc2\\x9bd\\xffe\xc3\xa9");
	ipg_buf_free(&b);
	ipg_buf_json_str(&b, "\x1b\xc2\x9b\xc3\xa9");
	ASSERT_STR(b.s, "\"\\u001b\\u009b\xc3\xa9\"");
	ipg_buf_free(&b);
}

TEST(test_config_default_limit_is_50)
{
	char text[64 * 52] = "";

	for (int i = 0; i < 51; i++)
		snprintf(text + strlen(text), 64, "allow 198.18.0.%d\n", i);
	REFUSED(text, "ipgate.conf:51:1:", "more than max-entries (50)");
	*strrchr(text, 'a') = '\0';
	ASSERT_OK(ipg_config_parse(&c, text, "x", NULL));
	ASSERT_EQ(c.policy.n_entries, 50);
	ipg_config_free(&c);
}

TEST(test_config_save_is_atomic_and_reads_back)
{
	char dir[] = "/tmp/ipgate-config-XXXXXX", path[64], bad[96];
	struct ipg_error e = { { 0 } };
	struct ipg_config back;
	struct stat st;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ipgate.conf", dir);
	ASSERT_OK(ipg_config_parse(&c, example, "x", NULL));
	ASSERT_OK(ipg_config_save(&c, path, &e));
	ASSERT_OK(ipg_config_load(&back, path, &e));
	ASSERT_EQ(back.policy.n_entries, c.policy.n_entries);
	ipg_config_free(&back);
	/* A save that cannot happen leaves nothing behind. */
	snprintf(bad, sizeof(bad), "%s/missing/ipgate.conf", dir);
	ASSERT_TRUE(ipg_config_save(&c, bad, &e) < 0);
	ASSERT_TRUE(strstr(e.msg, "missing/ipgate.conf") != NULL);
	ASSERT_TRUE(stat(bad, &st) != 0);
	ipg_config_free(&c);
	unlink(path);
	rmdir(dir);
	ASSERT_EQ(ipg_config_load(&back, path, &e), -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "cannot open") != NULL);
}

/* A ConfigMap-style symlinked config is managed elsewhere: refused for
 * write-back; a rewrite of a plain file keeps its mode, owner and group. */
TEST(test_config_symlink_refused_and_save_keeps_mode)
{
	char dir[] = "/tmp/ipgate-config-XXXXXX", path[64], data[80], link_[80];
	struct ipg_error e = { { 0 } };
	struct stat st;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/ipgate.conf", dir);
	snprintf(data, sizeof(data), "%s/data.conf", dir);
	snprintf(link_, sizeof(link_), "%s/linked.conf", dir);
	ASSERT_OK(ipg_config_parse(&c, example, "x", NULL));
	ASSERT_OK(ipg_config_save(&c, path, &e));
	ASSERT_OK(ipg_config_writable(path, &e));
	ASSERT_OK(chmod(path, 0640));
	ASSERT_OK(chown(path, 0, 1));
	ASSERT_OK(ipg_config_save(&c, path, &e));
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_mode & 07777, 0640);
	ASSERT_EQ(st.st_gid, 1);
	ASSERT_OK(ipg_config_save(&c, data, &e));
	ASSERT_OK(symlink("data.conf", link_));
	ASSERT_EQ(ipg_config_writable(link_, &e), -EROFS);
	ASSERT_TRUE(strstr(e.msg, "symbolic link (to data.conf)") != NULL);
	ASSERT_TRUE(strstr(e.msg, "managed elsewhere") != NULL);
	ipg_config_free(&c);
	unlink(link_);
	unlink(data);
	unlink(path);
	rmdir(dir);
}

TEST(test_config_ephemeral_overlap_names_ports)
{
	struct ipg_buf b = { 0 };

	ASSERT_OK(ipg_config_parse(&c,
				   "protect tcp/443 tcp/40000 udp/60999 "
				   "udp/61000\n",
				   "x", NULL));
	ASSERT_EQ(ipg_policy_ephemeral_overlap(&c.policy.ports, 32768, 60999,
					       &b),
		  2);
	ASSERT_STR(b.s, "tcp/40000 udp/60999");
	ipg_buf_free(&b);
	ASSERT_EQ(ipg_policy_ephemeral_overlap(&c.policy.ports, 1024, 65535,
					       &b),
		  3);
	ipg_buf_free(&b);
	ASSERT_EQ(ipg_policy_ephemeral_overlap(&c.policy.ports, 444, 39999, &b),
		  0);
	ASSERT_TRUE(b.s == NULL);
	ipg_config_free(&c);
}

TEST(test_duration_forms)
{
	uint32_t s;

	ASSERT_OK(ipg_duration_parse("30m", &s));
	ASSERT_EQ(s, 1800);
	ASSERT_OK(ipg_duration_parse("24h", &s));
	ASSERT_EQ(s, 86400);
	ASSERT_OK(ipg_duration_parse("90s", &s));
	ASSERT_EQ(s, 90);
	ASSERT_EQ(ipg_duration_parse("0h", &s), -EINVAL);
	ASSERT_EQ(ipg_duration_parse("2", &s), -EINVAL);
	ASSERT_EQ(ipg_duration_parse("2hours", &s), -EINVAL);
	ASSERT_EQ(ipg_duration_parse("-1h", &s), -EINVAL);
	ASSERT_EQ(ipg_duration_parse("99999999999d", &s), -ERANGE);
}

TEST(test_config_diff_names_each_change)
{
	static struct ipg_config a, b;
	struct ipg_config_diff d;
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_config_parse(&a, example, "a", &e));
	ASSERT_OK(ipg_config_parse(&b,
				   "interface eth0\n"
				   "enabled no\n"
				   "protect tcp/443 tcp/444 tcp/445 udp/443\n"
				   "mode reject\n"
				   "allow 203.0.113.45 office-gateway\n"
				   "allow 203.0.113.0/24 \"VPN 2\"\n"
				   "allow 198.51.100.0/24\n",
				   "b", &e));
	ASSERT_OK(ipg_config_diff(&a, &b, &d));
	ASSERT_TRUE(strstr(d.text.s, "~ enabled: true -> false\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "~ mode: drop -> reject\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "~ protect: tcp/443 tcp/8443 udp/443 -> "
				     "tcp/443-445 udp/443\n") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "~ interface: eth0 eth1 eth2 -> eth0\n") !=
		    NULL);
	ASSERT_TRUE(strstr(d.text.s, "- allow 2001:db8::/32") != NULL);
	ASSERT_TRUE(strstr(d.text.s,
			   "- allow 203.0.113.0/24       \"VPN egress\"") !=
		    NULL);
	ASSERT_TRUE(strstr(d.text.s,
			   "+ allow 203.0.113.0/24       \"VPN 2\"") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "+ allow 198.51.100.0/24") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "office-gateway") == NULL);
	ASSERT_TRUE(strstr(d.before.s, "\"enabled\":true,") != NULL);
	ASSERT_TRUE(strstr(d.after.s, "\"enabled\":false,") != NULL);
	ASSERT_TRUE(strstr(d.after.s,
			   "{\"cidr\":\"198.51.100.0/24\",\"label\":\"\"}") !=
		    NULL);
	ASSERT_TRUE(strstr(d.before.s, "\"count\":4}") != NULL);
	ASSERT_TRUE(strstr(d.after.s, "\"count\":3}") != NULL);
	ASSERT_EQ(d.entries_changed, 5);
	ipg_config_diff_free(&d);

	/* No change, no lines. */
	ASSERT_OK(ipg_config_diff(&a, &a, &d));
	ASSERT_EQ(d.changes, 0);
	ASSERT_STR(d.text.s, "");
	ipg_config_diff_free(&d);
	ipg_config_free(&a);
	ipg_config_free(&b);
}

TEST(test_config_clone_keeps_rule_ids_of_kept_prefixes)
{
	static struct ipg_config a, b;
	struct ipg_prefix p;
	struct ipg_error e = { { 0 } };
	uint32_t id_vpn;

	ASSERT_OK(ipg_config_parse(&a, example, "a", &e));
	id_vpn = a.policy.entries[1].rule_id;
	ASSERT_OK(ipg_prefix_parse("203.0.113.45", &p, &e));
	ASSERT_OK(ipg_config_remove(&a, &p, &e));
	ASSERT_OK(ipg_config_clone(&b, &a, &e));
	/* The clone is the same document, with the same ids. */
	char *ta = ipg_config_render(&a), *tb = ipg_config_render(&b);

	ASSERT_STR(tb, ta);
	free(ta);
	free(tb);
	ASSERT_EQ(b.policy.n_entries, 3);
	ASSERT_EQ(b.policy.entries[0].rule_id, id_vpn);
	/* A new prefix takes the lowest id left free: the removed one's. */
	ASSERT_OK(ipg_prefix_parse("198.51.100.0/24", &p, &e));
	ASSERT_OK(ipg_config_add(&b, &p, "new", 0, &e));
	ipg_policy_keep_ids(&b.policy, a.policy.entries, a.policy.n_entries);
	ASSERT_EQ(b.policy.entries[3].rule_id, 0);
	for (uint32_t i = 0; i < 3; i++)
		ASSERT_EQ(b.policy.entries[i].rule_id,
			  a.policy.entries[i].rule_id);
	ipg_config_free(&a);
	ipg_config_free(&b);
}

TEST(test_config_breakglass_port_never_protected)
{
	struct ipg_error e = { { 0 } };

	/* The default port, protected by hand: named, with the way out. */
	REFUSED("protect udp/62201\n", "ipgate.conf:1:1:",
		"the break-glass port udp/62201 is protected; set breakglass-port");
	REFUSED("protect udp/9000\nbreakglass-port 9000\n",
		"ipgate.conf:2:17:", "udp/9000 is protected");
	REFUSED("breakglass-port 0\n",
		"ipgate.conf:1:17:", "expected 1 to 65535 or off");
	ASSERT_OK(ipg_config_parse(
		&c, "protect udp/62201\nbreakglass-port off\n", "x", &e));
	ASSERT_EQ(c.breakglass_port, 0);
	ipg_config_free(&c);
	ASSERT_OK(ipg_config_parse(&c, "protect tcp/62201\n", "x", &e));
	ASSERT_EQ(c.breakglass_port, IPG_BREAKGLASS_PORT_DEFAULT);
	ipg_config_free(&c);
}

TEST(test_config_shipped_config_parses_disabled)
{
	struct ipg_error e = { { 0 } };

	/* make install copies it to /etc/ipgate/ipgate.conf. */
	ASSERT_OK(ipg_config_load(&c, "dist/ipgate.conf", &e));
	ASSERT_EQ(c.policy.kern.enabled, 0);
	ASSERT_EQ(c.policy.max_entries, 50);
	ASSERT_TRUE(
		ipg_policy_port_protected(&c.policy.ports, IPPROTO_TCP, 8443));
	ipg_config_free(&c);
}

TEST(test_config_http_settings_parse_and_refuse_plain_http_off_loopback)
{
	struct ipg_error e = { { 0 } };
	struct ipg_config_diff d;
	struct ipg_config b = { 0 };
	char s[80];

	ASSERT_OK(
		ipg_config_parse(&c,
				 "http-listen [::1]:8480\n"
				 "http-trusted-proxy 127.0.0.1 10.0.0.0/8\n"
				 "metrics-public yes\n"
				 "http-public-url https://gate.example.com/\n",
				 "x", &e));
	ipg_http_listen_format(&c.http, s, sizeof(s));
	ASSERT_STR(s, "[::1]:8480");
	ASSERT_EQ(c.http.n_proxies, 2);
	ASSERT_TRUE(c.http.metrics_public);
	ASSERT_STR(c.http.public_url, "https://gate.example.com");
	/* A change of a listener setting is a change (a host setting). */
	ASSERT_OK(
		ipg_config_parse(&b, "http-listen 127.0.0.1:8481\n", "x", &e));
	ASSERT_OK(ipg_config_diff(&c, &b, &d));
	ASSERT_TRUE(strstr(d.text.s, "http-listen: [::1]:8480 -> "
				     "127.0.0.1:8481") != NULL);
	ASSERT_TRUE(strstr(d.text.s, "metrics-public") != NULL);
	ipg_config_diff_free(&d);
	ipg_config_free(&b);
	ipg_config_free(&c);
	ipg_config_parse(&c, "", "x", &e);
	ipg_http_listen_format(&c.http, s, sizeof(s));
	ASSERT_STR(s, "off");
	ipg_config_free(&c);

	REFUSED("http-listen 192.0.2.1:8443\n",
		"ipgate.conf:1:13:", "non-loopback address needs TLS");
	REFUSED("http-listen 127.0.0.1\n",
		"ipgate.conf:1:13:", "not ADDRESS:PORT");
	REFUSED("http-listen 127.0.0.1:0\n", "ipgate.conf:1:23:", "not a port");
	REFUSED("http-listen ::1:8080\n", "ipgate.conf:1:13:", "brackets");
	REFUSED("http-listen 127.0.0.1:80\nhttp-tls-cert /c.pem\n",
		"ipgate.conf:1:1:", "without http-tls-key");
	REFUSED("http-tls-key relative.pem\n",
		"ipgate.conf:1:14:", "absolute path");
	REFUSED("http-trusted-proxy 10.0.0.1/8\n",
		"ipgate.conf:1:20:", "did you mean 10.0.0.0/8");
	REFUSED("metrics-public maybe\n", "ipgate.conf:1:16:", "not yes or no");
	REFUSED("http-public-url ftp://x\n", "ipgate.conf:1:17:", "not a URL");
	REFUSED("list a {\n  http-listen 127.0.0.1:1\n}\n",
		"ipgate.conf:2:3:", "http-listen");
	/* With TLS, any address. */
	ASSERT_OK(ipg_config_parse(&c,
				   "http-listen 192.0.2.1:8443\n"
				   "http-tls-cert /etc/ipgate/cert.pem\n"
				   "http-tls-key /etc/ipgate/key.pem\n",
				   "x", &e));
	ipg_config_free(&c);
}

TEST(test_config_blocked_log_and_chain_are_host_settings)
{
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_config_parse(&c, "", "x", &e));
	ASSERT_EQ(c.blocked_budget, 50);
	ASSERT_STR(c.chain, "");
	ipg_config_free(&c);
	ASSERT_OK(ipg_config_parse(
		&c, "blocked-log off\nchain /sys/fs/bpf/lb/x\n", "x", &e));
	ASSERT_EQ(c.blocked_budget, 0);
	ASSERT_STR(c.chain, "/sys/fs/bpf/lb/x");
	ipg_config_free(&c);
	REFUSED("blocked-log 0\n", "ipgate.conf:1:13:", "1 to 100000");
	REFUSED("blocked-log lots\n", "ipgate.conf:1:13:", "or off");
	REFUSED("chain lb/x\n", "ipgate.conf:1:7:", "absolute path");
	REFUSED("list a {\n  address shared\n  chain /x\n}\n",
		"ipgate.conf:3:3:", "chain");
	REFUSED("mode shadowy\n", "ipgate.conf:1:6:", "drop, reject or shadow");
}

TEST(test_config_shared_list_has_no_address_and_says_so)
{
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_config_parse(&c,
				   "list acme {\n  address shared\n  enabled "
				   "yes\n  allow 192.0.2.0/24\n}\n",
				   "x", &e));
	ASSERT_EQ(c.n_lists, 1);
	ASSERT_TRUE(c.lists[0]->shared);
	ASSERT_EQ(c.lists[0]->n_addrs, 0);
	ipg_config_free(&c);
	REFUSED("list a {\n  enabled yes\n}\n",
		"ipgate.conf:3:1:", "address shared");
	REFUSED("list a {\n  address shared 192.0.2.1\n}\n",
		"ipgate.conf:2:11:", "stands alone");
	REFUSED("list a {\n  address 192.0.2.1\n  address shared\n}\n",
		"ipgate.conf:3:11:", "stands alone");
	REFUSED("list a {\n  address shared\n  address 192.0.2.1\n}\n",
		"ipgate.conf:3:3:", "already \"address shared\"");
}

int main(int argc, char **argv)
{
	return harness_main("unit/config", argc, argv, NULL, NULL);
}

TEST(test_time_forms)
{
	char out[IPG_TIME_STRLEN];
	int64_t t;

	ASSERT_OK(ipg_time_parse("2026-12-01T18:00:00Z", &t));
	ASSERT_EQ(t, 1796148000);
	ipg_time_format(t, out, sizeof(out));
	ASSERT_STR(out, "2026-12-01T18:00:00Z");
	/* An offset is the same instant, written back in UTC. */
	ASSERT_OK(ipg_time_parse("2026-12-01T19:30:00+01:30", &t));
	ASSERT_EQ(t, 1796148000);
	ASSERT_OK(ipg_time_parse("2026-12-01T13:00:00-05:00", &t));
	ASSERT_EQ(t, 1796148000);
	ASSERT_OK(ipg_time_parse("2028-02-29T00:00:00Z", &t));
	ASSERT_EQ(ipg_time_parse("2027-02-29T00:00:00Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2100-02-29T00:00:00Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-04-31T00:00:00Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01T24:00:00Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01T18:00:60Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01 18:00:00Z", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01T18:00:00", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01T18:00:00Zjunk", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("2026-12-01T18:00:00+1:00", &t), -EINVAL);
	ASSERT_EQ(ipg_time_parse("1999-12-31T23:59:59Z", &t), -ERANGE);
	ASSERT_EQ(ipg_time_parse("", &t), -EINVAL);
}

TEST(test_config_entry_expiry_parses_writes_back_and_diffs)
{
	static struct ipg_config a, b;
	struct ipg_config_diff d;
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p;
	char *out;

	ASSERT_OK(ipg_config_parse(
		&a,
		"allow 198.51.100.7 contractor expires 2026-12-01T18:00:00Z\n"
		"allow 198.51.100.8 expires 2026-12-01T19:00:00+01:00\n"
		"allow 198.51.100.9 expires\n"
		"allow 198.51.100.10 \"expires\" expires 2030-01-01T00:00:00Z\n",
		"a", &e));
	ASSERT_EQ(a.policy.n_entries, 4);
	ASSERT_STR(a.policy.entries[0].label, "contractor");
	ASSERT_EQ(a.policy.entries[0].expires, 1796148000);
	ASSERT_STR(a.policy.entries[1].label, "");
	ASSERT_EQ(a.policy.entries[1].expires, 1796148000);
	/* "expires" with nothing after it is a label. */
	ASSERT_STR(a.policy.entries[2].label, "expires");
	ASSERT_EQ(a.policy.entries[2].expires, 0);
	ASSERT_STR(a.policy.entries[3].label, "expires");
	ASSERT_EQ(a.policy.entries[3].expires, 1893456000);

	/* An add writes the expiry back in UTC, and it reads back. */
	ASSERT_OK(ipg_prefix_parse("203.0.113.0/24", &p, NULL));
	ASSERT_OK(ipg_config_add(&a, &p, "vpn", 1796151600, &e));
	ASSERT_OK(ipg_prefix_parse("203.0.114.0/24", &p, NULL));
	ASSERT_OK(ipg_config_add(&a, &p, NULL, 1796151600, &e));
	out = ipg_config_render(&a);
	ASSERT_TRUE(strstr(out, "allow 203.0.113.0/24     vpn expires "
				"2026-12-01T19:00:00Z\n") != NULL);
	ASSERT_TRUE(strstr(out, "allow 203.0.114.0/24     expires "
				"2026-12-01T19:00:00Z\n") != NULL);
	ASSERT_OK(ipg_config_parse(&b, out, "b", &e));
	free(out);
	ASSERT_EQ(b.policy.n_entries, 6);
	ASSERT_EQ(b.policy.entries[4].expires, 1796151600);
	ASSERT_STR(b.policy.entries[4].label, "vpn");
	ASSERT_EQ(b.policy.entries[5].expires, 1796151600);
	ipg_config_free(&b);

	/* A changed expiry is a change of the entry, before and after. */
	ASSERT_OK(ipg_config_parse(
		&b,
		"allow 198.51.100.7 contractor expires 2026-12-02T18:00:00Z\n"
		"allow 198.51.100.8 expires 2026-12-01T19:00:00+01:00\n"
		"allow 198.51.100.9 expires\n"
		"allow 198.51.100.10 \"expires\" expires 2030-01-01T00:00:00Z\n"
		"allow 203.0.113.0/24 vpn expires 2026-12-01T19:00:00Z\n"
		"allow 203.0.114.0/24 expires 2026-12-01T19:00:00Z\n",
		"b", &e));
	ASSERT_OK(ipg_config_diff(&a, &b, &d));
	ASSERT_EQ(d.entries_changed, 2);
	ASSERT_TRUE(strstr(d.text.s, "- allow 198.51.100.7         "
				     "\"contractor\" expires "
				     "2026-12-01T18:00:00Z") != NULL);
	ASSERT_TRUE(strstr(d.after.s, "\"expires\":\"2026-12-02T18:00:00Z\"") !=
		    NULL);
	ipg_config_diff_free(&d);
	ipg_config_free(&a);
	ipg_config_free(&b);
}

TEST(test_config_entry_expiry_errors_name_the_column)
{
	REFUSED("allow 192.0.2.1 x expires\n", "ipgate.conf:1:26:",
		"expected a time such as 2026-12-01T18:00:00Z");
	REFUSED("allow 192.0.2.1 expires tomorrow\n",
		"ipgate.conf:1:25:", "expiry tomorrow is not a time");
	REFUSED("allow 192.0.2.1 expires 2026-02-30T00:00:00Z\n",
		"ipgate.conf:1:25:", "is not a time");
	REFUSED("allow 192.0.2.1 expires 1970-01-01T00:00:00Z\n",
		"ipgate.conf:1:25:", "out of range");
	REFUSED("allow 192.0.2.1 x expires 2026-12-01T18:00:00Z y\n",
		"ipgate.conf:1:48:", "unexpected \"y\"");
	REFUSED("allow 192.0.2.1 x y\n",
		"ipgate.conf:1:19:", "unexpected \"y\"");
}

TEST(test_config_store_settings_parse_and_refuse_what_does_not_go_together)
{
	struct ipg_error e = { { 0 } };

	if (ipg_config_parse(
		    &c,
		    "store etcd http://127.0.0.1:2379,https://[2001:db8::1]:2379,"
		    "http://etcd-2.example:2379\n"
		    "store-prefix /fleet/a/\n"
		    "store-ca /etc/ipgate/ca.pem\n"
		    "store-cert /etc/ipgate/c.pem\n"
		    "store-key /etc/ipgate/k.pem\n"
		    "store-user ipgate\n"
		    "store-password-file /etc/ipgate/etcd-password\n"
		    "store-host api-1\n",
		    "ipgate.conf", &e))
		FAIL("%s", e.msg);
	ASSERT_EQ(c.store.n_endpoints, 3);
	ASSERT_STR(c.store.endpoints[1], "https://[2001:db8::1]:2379");
	ASSERT_STR(c.store.prefix, "/fleet/a/");
	ASSERT_STR(c.store.user, "ipgate");
	ASSERT_STR(c.store.host, "api-1");
	ipg_config_free(&c);
	ASSERT_OK(ipg_config_parse(&c, "enabled yes\n", "x", &e));
	ASSERT_EQ(c.store.n_endpoints, 0);
	ASSERT_STR(c.store.prefix, "/ipgate/");
	ipg_config_free(&c);

	REFUSED("store consul http://127.0.0.1:8500\n",
		"ipgate.conf:1:7:", "expected etcd URL[,URL...] or off");
	REFUSED("store etcd\n",
		"ipgate.conf:1:11:", "expected etcd's client URLs");
	REFUSED("store etcd http://a:1, http://b:2\n",
		"ipgate.conf:1:24:", "separate the URLs with commas");
	REFUSED("store etcd http://127.0.0.1:2379,ftp://x:1\n",
		"ipgate.conf:1:34:", "not an etcd client URL");
	REFUSED("store etcd http://127.0.0.1\n",
		"ipgate.conf:1:12:", "not an etcd client URL");
	REFUSED("store etcd http://a:1,http://a:1\n",
		"ipgate.conf:1:23:", "listed twice");
	REFUSED("store etcd http://a:1\nstore-prefix ipgate\n",
		"ipgate.conf:2:14:", "starts and ends with /");
	REFUSED("store-user ipgate\nstore-password-file /p\n",
		"ipgate.conf:1:1:", "store-user is set without store");
	REFUSED("store etcd http://a:1\nstore-cert /c.pem\n",
		"ipgate.conf:1:1:", "store-cert is set without store-key");
	REFUSED("store etcd http://a:1\nstore-user u\n", "ipgate.conf:1:1:",
		"store-user is set without store-password-file");
	REFUSED("store etcd http://a:1\nstore-host \"a b\"\n",
		"ipgate.conf:2:12:", "not a host name");
	REFUSED("store etcd http://a:1\nstore-ca etc/ca.pem\n",
		"ipgate.conf:2:10:", "not an absolute path");
}

/* Store mode's include of the store's lists is the main file's last line
 * and never saved: edits of the top level go before it. */
TEST(test_config_hidden_tail_is_never_saved_and_stays_last)
{
	static const struct ipg_config_text docs[] = {
		{ "/ipgate/lists/acme",
		  "list acme {\n  address 192.0.2.10\n  allow 198.51.100.0/24\n}\n" },
	};
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p;
	char *saved, *all;

	if (ipg_config_parse_texts(&c,
				   "interface eth0\nallow 203.0.113.7 x\n"
				   "include /ipgate/lists/*\n",
				   "ipgate.conf", docs, 1, &e))
		FAIL("%s", e.msg);
	snprintf(c.hidden_tail, sizeof(c.hidden_tail),
		 "include /ipgate/lists/*");
	ASSERT_EQ(c.n_lists, 1);
	ASSERT_OK(ipg_prefix_parse("203.0.113.8", &p, NULL));
	ASSERT_OK(ipg_config_add(&c, &p, NULL, 0, &e));
	all = ipg_config_render(&c);
	saved = ipg_config_render_saved(&c);
	ASSERT_STR(all, "interface eth0\nallow 203.0.113.7 x\n"
			"allow 203.0.113.8\ninclude /ipgate/lists/*\n");
	ASSERT_STR(saved,
		   "interface eth0\nallow 203.0.113.7 x\nallow 203.0.113.8\n");
	free(all);
	free(saved);
	ipg_config_free(&c);
}
