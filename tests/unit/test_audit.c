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
static char path[96], head[96];

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
	struct ipg_actor who = {
		.uid = 0, .pid = 42, .user = "root", .client = "203.0.113.9"
	};
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char after[64];

	unlink(path);
	if (ipg_audit_open(&a, path, NULL, &e))
		FAIL("open: %s", e.msg);
	for (int i = 0; i < n; i++) {
		snprintf(after, sizeof(after), "{\"entry\":\"192.0.2.%d\"}", i);
		if (ipg_audit_append(&a, &who, "add", NULL, after, &e))
			FAIL("append: %s", e.msg);
	}
	ipg_audit_close(&a);
}

static void expect_broken(const char *file, int line, const char *text,
			  const char *part)
{
	struct ipg_error e = { { 0 } };

	spit(path, text);
	if (ipg_audit_verify(path, NULL, NULL, &e) != -EBADMSG)
		return harness_fail(file, line, "tampered log verified");
	if (!strstr(e.msg, part))
		return harness_fail(file, line, "message \"%s\" lacks \"%s\"",
				    e.msg, part);
}

#define BROKEN(text, part) CHECK(expect_broken(__FILE__, __LINE__, text, part))

TEST(test_audit_appends_verify)
{
	struct ipg_error e = { { 0 } };
	struct ipg_audit_report rep;
	char *s;

	CHECK(make_log(3));
	ASSERT_OK(ipg_audit_verify(path, NULL, &rep, &e));
	ASSERT_EQ(rep.lines, 3);
	ASSERT_EQ(rep.first_seq, 1);
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	ASSERT_TRUE(strstr(s, "{\"seq\":1,\"time\":\"") == s);
	ASSERT_TRUE(
		strstr(s,
		       "\"actor\":{\"uid\":0,\"user\":\"root\",\"pid\":42,\"client\":\"203.0.113.9\"}") !=
		NULL);
	ASSERT_TRUE(
		strstr(s,
		       "\"action\":\"add\",\"before\":null,\"after\":{\"entry\":\"192.0.2.2\"}") !=
		NULL);
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

	snprintf(buf, sizeof(buf), "%.*s%s%.*s", (int)(l2 - s), s, l3,
		 (int)(l3 - l2), l2);
	BROKEN(buf, "line 2: it does not follow");

	BROKEN("not json\n", "line 1: not an ipgate audit record");
	free(s);
}

TEST(test_audit_reopen_continues_chain)
{
	struct ipg_actor who = { .uid = 1000,
				 .pid = 7,
				 .user = "a \"quoted\"\nuser" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit_report rep;
	struct ipg_audit a;

	CHECK(make_log(2));
	ASSERT_OK(ipg_audit_open(&a, path, NULL, &e));
	ASSERT_EQ(a.seq, 2);
	ASSERT_OK(ipg_audit_append(&a, &who, "disable", "{\"enabled\":true}",
				   "{\"enabled\":false}", &e));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, NULL, &rep, &e));
	ASSERT_EQ(rep.lines, 3);
	char *s = slurp(path);

	ASSERT_TRUE(strstr(s, "\"user\":\"a \\\"quoted\\\"\\nuser\"") != NULL);
	free(s);
}

TEST(test_audit_missing_log_named)
{
	struct ipg_error e = { { 0 } };

	ASSERT_EQ(ipg_audit_verify("/nonexistent/audit.jsonl", NULL, NULL, &e),
		  -ENOENT);
	ASSERT_TRUE(strstr(e.msg, "/nonexistent/audit.jsonl") != NULL);
}

/* Appends @n records to an open log. */
static void append_n(struct ipg_audit *a, int n)
{
	struct ipg_actor who = { .uid = 0, .pid = 1, .user = "root" };
	struct ipg_error e = { { 0 } };
	char after[200];

	for (int i = 0; i < n; i++) {
		/* About 300 bytes a record. */
		snprintf(after, sizeof(after),
			 "{\"entry\":\"198.51.100.%d\","
			 "\"pad\":\"%0120d\"}",
			 i % 250, i);
		if (ipg_audit_append(a, &who, "add", NULL, after, &e))
			FAIL("append: %s", e.msg);
	}
}

static void clean_dir(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -f %s/*", dir);
	if (system(cmd))
		FAIL("%s failed", cmd);
}

static int exists(const char *suffix)
{
	char p[160];

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return access(p, F_OK) == 0;
}

TEST(test_audit_rotation_keeps_n_gzipped_files_and_verifies_across_them)
{
	struct ipg_audit_opts o = { .rotate_size = 3000,
				    .keep = 3,
				    .head_path = head };
	struct ipg_audit_report rep;
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char *s;

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 15)); /* 430 to 500 bytes each: two rotations */
	ASSERT_TRUE(exists(".1.gz"));
	ASSERT_TRUE(exists(".2.gz"));
	ASSERT_TRUE(!exists(".3.gz"));
	ASSERT_TRUE(!exists(".rotating"));
	/* Compressed: the first bytes are gzip's magic. */
	char gz[160];

	snprintf(gz, sizeof(gz), "%s.1.gz", path);
	s = slurp(gz);
	ASSERT_TRUE(s && (unsigned char)s[0] == 0x1f &&
		    (unsigned char)s[1] == 0x8b);
	free(s);
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.lines, 15);
	ASSERT_EQ(rep.files, 3);
	ASSERT_EQ(rep.first_seq, 1);
	ASSERT_EQ(rep.head_checked, 1);

	/* More rotations drop the oldest file; what is left still verifies
	 * and says where it starts. */
	CHECK(append_n(&a, 40));
	ipg_audit_close(&a);
	ASSERT_TRUE(exists(".3.gz"));
	ASSERT_TRUE(!exists(".4.gz"));
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.last_seq, 55);
	ASSERT_TRUE(rep.first_seq > 1);
	ASSERT_EQ(rep.lines, 55 - rep.first_seq + 1);

	/* Reopening right after a rotation continues from the .1.gz file. */
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.seq, 55);
	ASSERT_OK(ipg_audit_rotate(&a, &e));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.seq, 55);
	CHECK(append_n(&a, 1));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.last_seq, 56);
}

TEST(test_audit_rotated_file_dropped_or_edited_detected)
{
	struct ipg_audit_opts o = { .rotate_size = 3000,
				    .keep = 5,
				    .head_path = head };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char p1[160], p2[160];

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 30));
	ipg_audit_close(&a);
	/* Drop a middle file: the gap in the numbers shows. */
	snprintf(p1, sizeof(p1), "%s.1.gz", path);
	snprintf(p2, sizeof(p2), "%s.2.gz", path);
	ASSERT_OK(unlink(p2));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, ".2.gz is missing"))
		FAIL("unexpected message: %s", e.msg);
	/* Edit a record inside a compressed file: its hash no longer holds. */
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && gunzip -c audit.jsonl.3.gz | "
		 "sed '2s/198\\.51/198.52/' | gzip > x.gz && mv x.gz "
		 "audit.jsonl.3.gz",
		 dir);
	ASSERT_OK(system(cmd));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, ".3.gz: line 2: its content does not match"))
		FAIL("unexpected message: %s", e.msg);
	ASSERT_OK(unlink(p1));
	/* Dropping the oldest files shows against the head's first record. */
	snprintf(p1, sizeof(p1), "%s.3.gz", path);
	ASSERT_OK(unlink(p1));
	snprintf(p1, sizeof(p1), "%s.4.gz", path);
	ASSERT_OK(unlink(p1));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	ASSERT_TRUE(strstr(e.msg, "records at the start were removed") != NULL);
	/* Without the head, the same log verifies and says where it starts. */
	struct ipg_audit_report rep;

	ASSERT_OK(ipg_audit_verify(path, NULL, &rep, &e));
	ASSERT_TRUE(rep.first_seq > 1);
}

TEST(test_audit_truncated_tail_detected_by_head)
{
	struct ipg_audit_opts o = { .head_path = head };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char *s, *last;

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 4));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, NULL, &e));
	/* Cut the last record: the chain alone cannot tell, the head can. */
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	s[strlen(s) - 1] = '\0';
	last = strrchr(s, '\n');
	last[1] = '\0';
	spit(path, s);
	free(s);
	ASSERT_OK(ipg_audit_verify(path, NULL, NULL, &e));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	ASSERT_TRUE(
		strstr(e.msg,
		       "ends at record 3 but ipgated wrote up to record 4") !=
		NULL);
	/* A reopen reports the gap instead of silently covering it. */
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.head_mismatch, 4);
	ASSERT_EQ(a.seq, 3);
	ipg_audit_close(&a);
}

TEST(test_audit_interrupted_rotation_is_finished_on_open)
{
	struct ipg_audit_opts o = { .rotate_size = 1 << 20, .keep = 2 };
	struct ipg_error e = { { 0 } };
	struct ipg_audit_report rep;
	struct ipg_audit a;
	char aside[160];

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 3));
	ipg_audit_close(&a);
	/* A crash right after the rename that sets the records aside. */
	snprintf(aside, sizeof(aside), "%s.rotating", path);
	ASSERT_OK(rename(path, aside));
	ASSERT_OK(ipg_audit_verify(path, NULL, &rep, &e));
	ASSERT_EQ(rep.lines, 3);
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_TRUE(!exists(".rotating"));
	ASSERT_TRUE(exists(".1.gz"));
	ASSERT_EQ(a.seq, 3);
	CHECK(append_n(&a, 1));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, NULL, &rep, &e));
	ASSERT_EQ(rep.lines, 4);
}

static int setup(void)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
	snprintf(head, sizeof(head), "%s/audit.head", dir);
	return 0;
}

static void teardown(void)
{
	clean_dir();
	rmdir(dir);
}

int main(int argc, char **argv)
{
	return harness_main("unit/audit", argc, argv, setup, teardown);
}
