// SPDX-License-Identifier: GPL-2.0
/* The audit log's hash chain: appends verify; an edited, dropped or
 * reordered line is found and named; a reopened log continues the chain. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "harness.h"

static char dir[] = "/tmp/ipgate-audit-XXXXXX";
static char path[96];

/* The log's text; the caller frees it. */
static char *slurp(const char *p)
{
	struct ipg_buf b = { 0 };

	if (ipg_read_file(p, 1 << 20, &b)) {
		ipg_buf_free(&b);
		return NULL;
	}
	return b.s;
}

static void spit(const char *p, const char *s)
{
	FILE *f = fopen(p, "we");

	fputs(s, f);
	fclose(f);
}

/* Writes a fresh log of @n records. */
static void make_log(int n)
{
	struct ipg_actor who = { .uid = 0, .pid = 42, .user = "root",
				 .client = "203.0.113.9" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char after[64];

	unlink(path);
	if (ipg_audit_open(&a, path, &e))
		FAIL("open: %s", e.msg);
	for (int i = 0; i < n; i++) {
		snprintf(after, sizeof(after), "{\"entry\":\"192.0.2.%d\"}", i);
		if (ipg_audit_append(&a, &who, "add", NULL, after, &e))
			FAIL("append: %s", e.msg);
	}
	ipg_audit_close(&a);
}

static void expect_broken(const char *file, int line, const char *text, const char *part)
{
	struct ipg_error e = { { 0 } };

	spit(path, text);
	if (ipg_audit_verify(path, NULL, &e) != -EBADMSG)
		return harness_fail(file, line, "tampered log verified");
	if (!strstr(e.msg, part))
		return harness_fail(file, line, "message \"%s\" lacks \"%s\"", e.msg, part);
}

#define BROKEN(text, part) CHECK(expect_broken(__FILE__, __LINE__, text, part))

TEST(test_audit_appends_verify)
{
	struct ipg_error e = { { 0 } };
	uint64_t n = 0;
	char *s;

	CHECK(make_log(3));
	ASSERT_OK(ipg_audit_verify(path, &n, &e));
	ASSERT_EQ(n, 3);
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	ASSERT_TRUE(strstr(s, "{\"seq\":1,\"time\":\"") == s);
	ASSERT_TRUE(strstr(s, "\"actor\":{\"uid\":0,\"user\":\"root\",\"pid\":42,\"client\":\"203.0.113.9\"}") != NULL);
	ASSERT_TRUE(strstr(s, "\"action\":\"add\",\"before\":null,\"after\":{\"entry\":\"192.0.2.2\"}") != NULL);
	free(s);
}

TEST(test_audit_edit_drop_reorder_detected)
{
	char *s, *l2, *l3, *edited, buf[8192];

	CHECK(make_log(3));
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	l2 = strchr(s, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;

	edited = strdup(s);
	*strstr(edited + (l2 - s), "192.0.2.1") = 'X';
	BROKEN(edited, "line 2: its content does not match its hash");
	free(edited);

	snprintf(buf, sizeof(buf), "%.*s%s", (int)(l2 - s), s, l3);
	BROKEN(buf, "line 2: it does not follow");

	snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)(l2 - s), s, l3, (int)(l3 - l2), l2);
	BROKEN(buf, "line 2: it does not follow");

	BROKEN("not json\n", "line 1: not an ipgate audit record");
	free(s);
}

TEST(test_audit_reopen_continues_chain)
{
	struct ipg_actor who = { .uid = 1000, .pid = 7, .user = "a \"quoted\"\nuser" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	uint64_t n = 0;

	CHECK(make_log(2));
	ASSERT_OK(ipg_audit_open(&a, path, &e));
	ASSERT_EQ(a.seq, 2);
	ASSERT_OK(ipg_audit_append(&a, &who, "disable", "{\"enabled\":true}", "{\"enabled\":false}", &e));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, &n, &e));
	ASSERT_EQ(n, 3);
	char *s = slurp(path);

	ASSERT_TRUE(strstr(s, "\"user\":\"a \\\"quoted\\\"\\nuser\"") != NULL);
	free(s);
}

TEST(test_audit_missing_log_named)
{
	struct ipg_error e = { { 0 } };

	ASSERT_EQ(ipg_audit_verify("/nonexistent/audit.jsonl", NULL, &e), -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "/nonexistent/audit.jsonl") != NULL);
}

static int setup(void)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	return 0;
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	return harness_main("unit/audit", argc, argv, setup, teardown);
}
