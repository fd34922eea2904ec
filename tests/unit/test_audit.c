// SPDX-License-Identifier: GPL-2.0
/* The audit log's hash chain: appends verify; an edited, dropped or
 * reordered line is found and named; a reopened log continues the chain; a
 * missing head fails verify and is recorded at open; every record is
 * anchored, and anchors catch the rewrite the chain alone cannot. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
		       "\"action\":\"add\",\"list\":null,\"before\":null,\"after\":{\"entry\":\"192.0.2.2\"}") !=
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

/* ---- the head: a missing or unreadable one fails verify ---- */

/* A log of @n records with its head, as ipgated writes it. */
static void make_headed_log(int n, struct ipg_audit_opts *o)
{
	struct ipg_audit_opts plain = { .head_path = head };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;

	CHECK(clean_dir());
	if (ipg_audit_open(&a, path, o ? o : &plain, &e))
		FAIL("open: %s", e.msg);
	CHECK(append_n(&a, n));
	ipg_audit_close(&a);
	if (ipg_audit_verify(path, head, NULL, &e))
		FAIL("fresh log does not verify: %s", e.msg);
}

/* Keeps the first @n lines of the log. */
static void cut_log(int n)
{
	char *s = slurp(path), *p = s;

	if (!s)
		FAIL("cannot read %s", path);
	for (int i = 0; i < n && p; i++)
		p = strchr(p, '\n') + 1;
	*p = '\0';
	spit(path, s);
	free(s);
}

TEST(test_audit_verify_fails_when_head_missing)
{
	struct ipg_error e = { { 0 } };

	CHECK(make_headed_log(4, NULL));
	ASSERT_OK(unlink(head));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, "audit.head is missing") ||
	    !strstr(e.msg, "records cut from the end"))
		FAIL("unexpected message: %s", e.msg);
}

TEST(test_audit_verify_fails_when_head_unreadable)
{
	struct ipg_error e = { { 0 } };

	CHECK(make_headed_log(3, NULL));
	ASSERT_OK(unlink(head));
	ASSERT_OK(symlink("audit.head", head)); /* ELOOP */
	ASSERT_TRUE(ipg_audit_verify(path, head, NULL, &e) < 0);
	if (!strstr(e.msg, "audit.head is unreadable (Too many levels"))
		FAIL("unexpected message: %s", e.msg);
	ASSERT_OK(unlink(head));
	ASSERT_OK(mkdir(head, 0700));
	ASSERT_TRUE(ipg_audit_verify(path, head, NULL, &e) < 0);
	if (!strstr(e.msg, "audit.head is unreadable (Is a directory)"))
		FAIL("unexpected message: %s", e.msg);
	ASSERT_OK(rmdir(head));
	spit(head, "");
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, "audit.head is empty"))
		FAIL("unexpected message: %s", e.msg);
}

TEST(test_audit_cut_to_two_records_with_head_deleted_fails_verify)
{
	struct ipg_error e = { { 0 } };

	CHECK(make_headed_log(5, NULL));
	CHECK(cut_log(2));
	ASSERT_OK(unlink(head));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	ASSERT_TRUE(strstr(e.msg, "audit.head is missing") != NULL);
}

TEST(test_audit_verify_fails_when_only_the_heads_hash_differs)
{
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char *s, *hash;

	/* The head names the right last seq and first seq, but another
	 * hash: one hex digit changed. */
	CHECK(make_headed_log(3, NULL));
	s = slurp(head);
	ASSERT_TRUE(s != NULL);
	hash = strchr(s, ' ');
	ASSERT_TRUE(hash != NULL && strlen(hash) > 65);
	hash[64] = hash[64] == '0' ? '1' : '0';
	spit(head, s);
	free(s);
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, "record 3 is not the one ipgated wrote"))
		FAIL("unexpected message: %s", e.msg);

	/* The last record replaced by another that chains on correctly:
	 * the chain verifies, the head's hash does not match it. */
	CHECK(make_headed_log(3, NULL));
	CHECK(cut_log(2));
	ASSERT_OK(ipg_audit_open(&a, path, NULL, &e));
	CHECK(append_n(&a, 1));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, NULL, NULL, &e));
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	if (!strstr(e.msg, "record 3 is not the one ipgated wrote"))
		FAIL("unexpected message: %s", e.msg);
}

TEST(test_audit_open_records_a_lost_head_instead_of_recreating_it_silently)
{
	struct ipg_audit_opts o = { .head_path = head };
	struct ipg_actor who = { .uid = 0, .pid = 1, .user = "ipgated" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit_report rep;
	struct ipg_audit a;
	char *s;

	CHECK(make_headed_log(3, NULL));
	ASSERT_OK(unlink(head));
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.head_lost, -ENOENT);
	/* Until the loss is on record the head stays empty, so verify keeps
	 * failing, also after a crash right here. */
	ipg_audit_close(&a);
	ASSERT_EQ(ipg_audit_verify(path, head, NULL, &e), -EBADMSG);
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.head_lost, -ENODATA);
	ASSERT_OK(ipg_audit_note_open(&a, &who, &e));
	ASSERT_EQ(a.seq, 4);
	ipg_audit_close(&a);
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	if (!strstr(s, "\"seq\":4,") ||
	    !strstr(s, "\"action\":\"audit-head-lost\",\"list\":null,"
		       "\"before\":{\"head\":"
		       "\"empty\"},\"after\":{\"last_seq\":3,\"hash\":\""))
		FAIL("no audit-head-lost record: %s", s);
	free(s);
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.lost, 1);
	ASSERT_EQ(rep.last_lost_seq, 4);
	/* Nothing more to say at the next open. */
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.head_lost, 0);
	ASSERT_OK(ipg_audit_note_open(&a, &who, &e));
	ASSERT_EQ(a.seq, 4);
	ipg_audit_close(&a);
}

TEST(test_audit_new_log_gets_a_head_without_a_lost_record)
{
	struct ipg_audit_opts o = { .head_path = head };
	struct ipg_actor who = { .uid = 0, .pid = 1, .user = "ipgated" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit_report rep;
	struct ipg_audit a;

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_EQ(a.head_lost, 0);
	ASSERT_OK(ipg_audit_note_open(&a, &who, &e));
	ASSERT_EQ(a.seq, 0);
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.lines, 0);
	ASSERT_EQ(rep.head_checked, 1);
}

/* ---- anchors ---- */

#define CAP_MAX 64

/* An anchor sink that keeps what it is given. */
struct capture {
	int n, fail;
	uint64_t seq[CAP_MAX];
	char hash[CAP_MAX][IPG_HASH_HEX], action[CAP_MAX][32], log[128];
};

static int capture_anchor(void *arg, const char *log, uint64_t seq,
			  const char *hash, const char *action)
{
	struct capture *c = arg;

	if (c->fail)
		return -ECONNREFUSED;
	if (c->n == CAP_MAX)
		return -ENOSPC;
	c->seq[c->n] = seq;
	snprintf(c->hash[c->n], IPG_HASH_HEX, "%s", hash);
	snprintf(c->action[c->n], sizeof(c->action[0]), "%s", action);
	snprintf(c->log, sizeof(c->log), "%s", log);
	c->n++;
	return 0;
}

/* The "hash" of record @seq in the current log file, or "". */
static void hash_of(uint64_t seq, char out[IPG_HASH_HEX])
{
	char *s = slurp(path), key[32], *p;

	out[0] = '\0';
	snprintf(key, sizeof(key), "{\"seq\":%" PRIu64 ",", seq);
	p = s ? strstr(s, key) : NULL;
	p = p ? strstr(p, ",\"hash\":\"") : NULL;
	if (p)
		snprintf(out, IPG_HASH_HEX, "%.64s", p + 9);
	free(s);
}

/* What `journalctl -o json` prints for the captured anchors, with an
 * unrelated entry first. */
static void journal_json(const struct capture *c, struct ipg_buf *b)
{
	ipg_buf_printf(b, "{\"__CURSOR\":\"s=0\",\"MESSAGE\":\"Started "
			  "ipgated.service\",\"_PID\":\"1\"}\n");
	for (int i = 0; i < c->n; i++)
		ipg_buf_printf(b,
			       "{\"__CURSOR\":\"s=%d\",\"_UID\":\"0\","
			       "\"MESSAGE\":\"audit record %" PRIu64
			       "\",\"IPGATE_AUDIT_SEQ\":\"%" PRIu64
			       "\",\"IPGATE_AUDIT_HASH\":\"%s\","
			       "\"IPGATE_AUDIT_ACTION\":\"%s\","
			       "\"IPGATE_AUDIT_LOG\":\"%s\","
			       "\"_SOURCE_MONOTONIC_TIMESTAMP\":[1,2]}\n",
			       i + 1, c->seq[i], c->seq[i], c->hash[i],
			       c->action[i], c->log);
}

static int parse_captured(const struct capture *c, struct ipg_anchors *an,
			  struct ipg_error *e)
{
	struct ipg_buf b = { 0 };
	int r;

	journal_json(c, &b);
	r = ipg_anchors_parse(an, b.s, b.len, "journal.json", e);
	ipg_buf_free(&b);
	return r;
}

TEST(test_audit_every_append_sends_its_anchor)
{
	struct capture cap = { 0 };
	struct ipg_audit_opts o = { .head_path = head,
				    .rotate_size = 800,
				    .keep = 5,
				    .anchor = capture_anchor,
				    .anchor_arg = &cap };
	struct ipg_error e = { { 0 } };
	char want[IPG_HASH_HEX];
	struct ipg_audit a;

	CHECK(clean_dir());
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 3)); /* rotates: anchors do not care */
	ipg_audit_close(&a);
	ASSERT_EQ(cap.n, 3);
	ASSERT_STR(cap.log, path);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(cap.seq[i], i + 1);
		ASSERT_STR(cap.action[i], "add");
	}
	/* The newest one is in the current file; it carries its own hash. */
	CHECK(hash_of(3, want));
	ASSERT_STR(cap.hash[2], want);
	/* A sink that fails costs the append nothing. */
	cap.fail = 1;
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 1));
	ASSERT_EQ(a.anchor_err, -ECONNREFUSED);
	ASSERT_EQ(a.seq, 4);
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, NULL, &e));
}

TEST(test_audit_journal_anchor_sends_native_protocol_fields)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ipg_audit_opts o = { .head_path = head,
				    .anchor = ipg_journal_anchor };
	struct ipg_error e = { { 0 } };
	char buf[4096], want[256], hash[IPG_HASH_HEX];
	struct ipg_audit a;
	ssize_t n;
	int fd;

	CHECK(clean_dir());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/journal.sock", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	o.anchor_arg = sa.sun_path;
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 2));
	ipg_audit_close(&a);
	for (int seq = 1; seq <= 2; seq++) {
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0) {
			close(fd);
			FAIL("no datagram for record %d", seq);
		}
		buf[n] = '\0';
		CHECK(hash_of((uint64_t)seq, hash));
		snprintf(want, sizeof(want),
			 "\nIPGATE_AUDIT_SEQ=%d\nIPGATE_AUDIT_HASH=%s\n"
			 "IPGATE_AUDIT_ACTION=add\nIPGATE_AUDIT_LOG=%s\n",
			 seq, hash, path);
		if (strncmp(buf, "MESSAGE=audit record ", 21) ||
		    !strstr(buf, "\nPRIORITY=6\n") || !strstr(buf, want)) {
			close(fd);
			FAIL("datagram %d lacks \"%s\": %s", seq, want, buf);
		}
	}
	/* No journal listening: the append still succeeds. */
	close(fd);
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 1));
	ASSERT_EQ(a.anchor_err, -ECONNREFUSED);
	ipg_audit_close(&a);
	o.anchor_arg = "/nonexistent/journal/socket";
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 1));
	ASSERT_EQ(a.anchor_err, -ENOENT);
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, NULL, &e));
}

/* Writes a head as a forger would, for the log as it now is. */
static void forge_head(uint64_t seq)
{
	char h[IPG_HASH_HEX], line[128];

	CHECK(hash_of(seq, h));
	snprintf(line, sizeof(line), "%020" PRIu64 " %s %020d\n", seq, h, 1);
	spit(head, line);
}

TEST(test_audit_rewrite_verifies_without_anchors_but_not_with_them)
{
	struct capture cap = { 0 };
	struct ipg_audit_opts o = { .head_path = head,
				    .anchor = capture_anchor,
				    .anchor_arg = &cap };
	struct ipg_audit_opts forger = { .head_path = head };
	struct ipg_audit_report rep;
	struct ipg_error e = { { 0 } };
	struct ipg_anchors an = { 0 };
	struct ipg_audit a;

	CHECK(make_headed_log(5, &o));
	/* Records 3-5 deleted, 2 forged ones renumbered and chained on from
	 * record 2, the head rewritten: what root on the host can do. */
	CHECK(cut_log(2));
	ASSERT_OK(unlink(head));
	ASSERT_OK(ipg_audit_open(&a, path, &forger, &e));
	CHECK(append_n(&a, 2));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.last_seq, 4);

	ASSERT_OK(parse_captured(&cap, &an, &e));
	ASSERT_EQ(an.n, 5);
	ASSERT_EQ(an.entries, 6);
	ASSERT_EQ(ipg_audit_verify_anchored(path, head, &an, NULL, &e),
		  -EBADMSG);
	if (!strstr(e.msg, "line 3: record 3 is not the one ipgated anchored "
			   "in the journal: the log was rewritten after "
			   "record 2"))
		FAIL("unexpected message: %s", e.msg);
	ipg_anchors_free(&an);
}

TEST(test_audit_cut_with_head_rewritten_fails_against_anchors)
{
	struct capture cap = { 0 };
	struct ipg_audit_opts o = { .head_path = head,
				    .anchor = capture_anchor,
				    .anchor_arg = &cap };
	struct ipg_audit_report rep;
	struct ipg_error e = { { 0 } };
	struct ipg_anchors an = { 0 };

	CHECK(make_headed_log(5, &o));
	ASSERT_OK(parse_captured(&cap, &an, &e));
	ASSERT_OK(ipg_audit_verify_anchored(path, head, &an, &rep, &e));
	ASSERT_EQ(rep.anchors_matched, 5);
	ASSERT_EQ(rep.anchors_newest, 5);
	CHECK(cut_log(2));
	CHECK(forge_head(2));
	ASSERT_OK(ipg_audit_verify(path, head, NULL, &e));
	ASSERT_EQ(ipg_audit_verify_anchored(path, head, &an, NULL, &e),
		  -EBADMSG);
	if (!strstr(e.msg, "the journal anchors record 3 but ") ||
	    !strstr(e.msg, "ends at record 2: records at the end were "
			   "removed"))
		FAIL("unexpected message: %s", e.msg);
	ipg_anchors_free(&an);
}

TEST(test_audit_cut_then_restarted_log_fails_against_anchors)
{
	struct capture cap = { 0 };
	struct ipg_audit_opts o = { .head_path = head,
				    .anchor = capture_anchor,
				    .anchor_arg = &cap };
	struct ipg_actor who = { .uid = 0, .pid = 1, .user = "ipgated" };
	struct ipg_audit_report rep;
	struct ipg_error e = { { 0 } };
	struct ipg_anchors an = { 0 };
	struct ipg_audit a;

	/* Cut to 2 records, head deleted, then a start that says so: the
	 * log verifies (with a warning), the journal holds both record 3s. */
	CHECK(make_headed_log(5, &o));
	CHECK(cut_log(2));
	ASSERT_OK(unlink(head));
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	ASSERT_OK(ipg_audit_note_open(&a, &who, &e));
	ipg_audit_close(&a);
	ASSERT_EQ(cap.n, 6);
	ASSERT_STR(cap.action[5], "audit-head-lost");
	ASSERT_OK(ipg_audit_verify(path, head, &rep, &e));
	ASSERT_EQ(rep.lost, 1);
	ASSERT_OK(parse_captured(&cap, &an, &e));
	ASSERT_EQ(ipg_audit_verify_anchored(path, head, &an, NULL, &e),
		  -EBADMSG);
	if (!strstr(e.msg, "the journal holds 2 different hashes for record "
			   "3: the log was cut or rewritten there"))
		FAIL("unexpected message: %s", e.msg);
	ipg_anchors_free(&an);
}

TEST(test_audit_anchors_of_another_log_or_rotated_away_are_named)
{
	struct capture cap = { 0 };
	struct ipg_audit_opts o = { .head_path = head,
				    .anchor = capture_anchor,
				    .anchor_arg = &cap };
	struct ipg_audit_report rep;
	struct ipg_error e = { { 0 } };
	struct ipg_anchors an = { 0 };
	struct ipg_buf b = { 0 };
	struct ipg_audit a;

	CHECK(make_headed_log(3, &o));
	snprintf(cap.log, sizeof(cap.log), "/var/log/other.jsonl");
	ASSERT_OK(parse_captured(&cap, &an, &e));
	ASSERT_EQ(ipg_audit_verify_anchored(path, head, &an, NULL, &e),
		  -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "for the audit log /var/log/other.jsonl"));
	ipg_anchors_free(&an);

	/* Anchors of records rotated away compare with nothing. */
	snprintf(cap.log, sizeof(cap.log), "%s", path);
	ASSERT_OK(parse_captured(&cap, &an, &e));
	o.rotate_size = 1;
	o.keep = 1;
	o.anchor = NULL;
	ASSERT_OK(ipg_audit_open(&a, path, &o, &e));
	CHECK(append_n(&a, 2));
	ipg_audit_close(&a);
	ASSERT_EQ(ipg_audit_verify_anchored(path, head, &an, &rep, &e),
		  -ENODATA);
	ASSERT_TRUE(strstr(e.msg, "none of the 3 anchors names a record"));
	ipg_anchors_free(&an);
	ipg_buf_free(&b);
}

TEST(test_anchors_parse_json_export_and_compact_forms)
{
	static const char json_spaced[] =
		"{ \"__CURSOR\" : \"s=1\", \"IPGATE_AUDIT_SEQ\" : \"7\", "
		"\"IPGATE_AUDIT_HASH\" : \"" /* 64 hex */
		"00112233445566778899aabbccddeeff"
		"00112233445566778899aabbccddeeff\", \"X\" : [ 1, { \"a\" : "
		"null } ] }\n";
	static const char pretty[] = "\x1e{\n\t\"IPGATE_AUDIT_HASH\" : "
				     "\"ffeeddccbbaa99887766554433221100"
				     "ffeeddccbbaa99887766554433221100\",\n"
				     "\t\"IPGATE_AUDIT_SEQ\" : \"2\"\n}\n";
	/* journalctl -o export, with a binary MESSAGE (it holds a newline). */
	static const char export_[] =
		"__CURSOR=s=1\nMESSAGE\n\x05\0\0\0\0\0\0\0a\nb=c\n"
		"IPGATE_AUDIT_SEQ=3\nIPGATE_AUDIT_HASH="
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		"IPGATE_AUDIT_LOG=/var/log/ipgate/audit.jsonl\n\n"
		"__CURSOR=s=2\nMESSAGE=unrelated\n\n"
		"IPGATE_AUDIT_SEQ=1\nIPGATE_AUDIT_HASH="
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
	struct ipg_anchors an = { 0 }, back = { 0 };
	struct ipg_error e = { { 0 } };
	struct ipg_buf b = { 0 };

	ASSERT_OK(ipg_anchors_parse(&an, json_spaced, strlen(json_spaced),
				    "a.json", &e));
	ASSERT_OK(ipg_anchors_parse(&an, pretty, strlen(pretty), "b.json", &e));
	ASSERT_EQ(an.n, 2);
	ASSERT_EQ(an.v[0].seq, 2);
	ASSERT_EQ(an.v[1].seq, 7);
	ipg_anchors_free(&an);

	ASSERT_OK(ipg_anchors_parse(&an, export_, sizeof(export_) - 1,
				    "j.export", &e));
	ASSERT_EQ(an.n, 2);
	ASSERT_EQ(an.entries, 3);
	ASSERT_EQ(an.v[0].seq, 1);
	ASSERT_EQ(an.v[1].seq, 3);
	ASSERT_STR(an.log, "/var/log/ipgate/audit.jsonl");

	/* The compact form the CLI sends keeps the newest. */
	ASSERT_EQ(ipg_anchors_encode(&an, 1, &b), 1);
	ASSERT_OK(ipg_anchors_parse(&back, b.s, b.len, "sent", &e));
	ASSERT_EQ(back.n, 1);
	ASSERT_EQ(back.v[0].seq, 3);
	ASSERT_STR(back.log, "/var/log/ipgate/audit.jsonl");
	ipg_anchors_free(&back);
	ipg_anchors_free(&an);
	ipg_buf_free(&b);
}

TEST(test_anchors_parse_refuses_bad_input_naming_the_entry)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "holds no ipgate audit anchors" },
		{ "{\"MESSAGE\":\"x\"}\n", "holds no ipgate audit anchors" },
		{ "hello world\n", "entry 1 is neither journalctl -o export" },
		{ "{\"a\":\"1\"}\n{\"IPGATE_AUDIT_SEQ\":\"2\"}\n",
		  "entry 2 has IPGATE_AUDIT_SEQ but no IPGATE_AUDIT_HASH" },
		{ "{\"IPGATE_AUDIT_SEQ\":\"x\",\"IPGATE_AUDIT_HASH\":\"00\"}",
		  "entry 1: IPGATE_AUDIT_SEQ=\"x\" is not a record number" },
		{ "IPGATE_AUDIT_SEQ=1\nIPGATE_AUDIT_HASH=abc\n",
		  "entry 1: IPGATE_AUDIT_HASH=\"abc\" is not a SHA-256" },
		{ "{\"IPGATE_AUDIT_SEQ\":[49]}", "IPGATE_AUDIT_SEQ is not one "
						 "text value" },
		{ "{\"IPGATE_AUDIT_SEQ\":\"1\"",
		  "entry 1 is not a JSON object" },
		{ "IPGATE_AUDIT_SEQ=1\nIPGATE_AUDIT_SEQ=2\n",
		  "entry 1 has IPGATE_AUDIT_SEQ twice" },
		{ "IPGATE_AUDIT_SEQ=1\nIPGATE_AUDIT_HASH=0000000000000000000000"
		  "000000000000000000000000000000000000000000\n"
		  "IPGATE_AUDIT_LOG=/a\n\nIPGATE_AUDIT_SEQ=2\nIPGATE_AUDIT_HASH="
		  "00000000000000000000000000000000000000000000000000000000000"
		  "00000\nIPGATE_AUDIT_LOG=/b\n",
		  "anchors for two audit logs, /a and /b (entry 2)" },
		{ "MESSAGE\n\x09\0\0\0\0\0\0\0ab\n", "MESSAGE is cut short" },
	};
	struct ipg_error e = { { 0 } };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ipg_anchors an = { 0 };
		size_t len = strlen(bad[i].text);

		if (i == sizeof(bad) / sizeof(bad[0]) - 1)
			len = 19; /* holds NULs */
		if (!ipg_anchors_parse(&an, bad[i].text, len, "f", &e))
			FAIL("case %zu parsed", i);
		ipg_anchors_free(&an);
		if (!strstr(e.msg, bad[i].msg))
			FAIL("case %zu: \"%s\" lacks \"%s\"", i, e.msg,
			     bad[i].msg);
	}
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

TEST(test_audit_records_carry_the_lists_they_changed)
{
	struct ipg_actor who = { .uid = 0, .pid = 1, .user = "root" };
	const char *two[] = { "acme", "beta-2" };
	struct ipg_error e = { { 0 } };
	struct ipg_audit a;
	char *s, *l1, *l2, *l3;

	unlink(path);
	ASSERT_OK(ipg_audit_open(&a, path, NULL, &e));
	ASSERT_OK(
		ipg_audit_append_list(&a, &who, "add", "acme", NULL, "{}", &e));
	ASSERT_OK(ipg_audit_append_lists(&a, &who, "reload", two, 2, NULL, "{}",
					 &e));
	ASSERT_OK(
		ipg_audit_append_list(&a, &who, "attach", "", NULL, "{}", &e));
	ipg_audit_close(&a);
	ASSERT_OK(ipg_audit_verify(path, NULL, NULL, &e));
	s = slurp(path);
	ASSERT_TRUE(s != NULL);
	l1 = s;
	l2 = strchr(l1, '\n') + 1;
	l3 = strchr(l2, '\n') + 1;
	l2[-1] = l3[-1] = '\0';
	ASSERT_TRUE(strstr(l1, "\"action\":\"add\",\"list\":\"acme\",") !=
		    NULL);
	ASSERT_TRUE(strstr(l2, "\"list\":[\"acme\",\"beta-2\"],") != NULL);
	ASSERT_TRUE(strstr(l3, "\"list\":null,") != NULL);
	ASSERT_TRUE(ipg_audit_record_of(l1, "acme"));
	ASSERT_TRUE(!ipg_audit_record_of(l1, "acm"));
	ASSERT_TRUE(!ipg_audit_record_of(l1, "beta-2"));
	ASSERT_TRUE(ipg_audit_record_of(l2, "beta-2"));
	ASSERT_TRUE(ipg_audit_record_of(l2, "acme"));
	ASSERT_TRUE(!ipg_audit_record_of(l2, "beta"));
	ASSERT_TRUE(!ipg_audit_record_of(l3, "acme"));
	free(s);
}
