// SPDX-License-Identifier: GPL-2.0
/* The control protocol's codec: round trips with any bytes, partial input,
 * and malformed messages refused with a reason. No root needed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "ctl.h"
#include "harness.h"

static int decode(const char *s, size_t len, struct ipg_ctl_msg *m,
		  struct ipg_error *e)
{
	size_t used = 0;

	return ipg_ctl_decode(s, len, &ipg_ctl_request_limits, m, &used, e);
}

TEST(test_ctl_round_trip_keeps_any_bytes)
{
	struct ipg_ctl_msg m = { 0 }, back;
	struct ipg_buf b = { 0 };
	struct ipg_error e = { { 0 } };
	const char bin[] = "line one\nline 2 \"quoted\"\0after nul";
	size_t used = 0, len;

	ASSERT_OK(ipg_ctl_set(&m, "cmd", "apply"));
	ASSERT_OK(ipg_ctl_setn(&m, "text", bin, sizeof(bin)));
	ASSERT_OK(ipg_ctl_set(&m, "empty", ""));
	ASSERT_OK(ipg_ctl_setf(&m, "n", "%d", 42));
	ASSERT_OK(ipg_ctl_set(&m, "cmd", "add")); /* replaces */
	ASSERT_EQ(m.n, 4);
	ASSERT_OK(ipg_ctl_encode(&m, &b));
	ASSERT_TRUE(!strncmp(b.s, "ipgate/1 4\ncmd 3\nadd\n", 21));
	ASSERT_OK(ipg_ctl_decode(b.s, b.len, &ipg_ctl_request_limits, &back,
				 &used, &e));
	ASSERT_EQ(used, b.len);
	ASSERT_STR(ipg_ctl_get(&back, "cmd"), "add");
	ASSERT_STR(ipg_ctl_get(&back, "empty"), "");
	ASSERT_STR(ipg_ctl_get(&back, "n"), "42");
	ASSERT_TRUE(ipg_ctl_getn(&back, "text", &len) != NULL);
	ASSERT_EQ(len, sizeof(bin));
	ASSERT_TRUE(!memcmp(ipg_ctl_get(&back, "text"), bin, sizeof(bin)));
	ASSERT_TRUE(ipg_ctl_get(&back, "missing") == NULL);
	ASSERT_EQ(ipg_ctl_flag(&back, "n"), 0);

	/* Every strict prefix is incomplete, never an error. */
	for (size_t i = 0; i < b.len; i++) {
		struct ipg_ctl_msg part;

		if (ipg_ctl_decode(b.s, i, &ipg_ctl_request_limits, &part,
				   &used, &e) != -EAGAIN)
			FAIL("prefix of %zu bytes: not -EAGAIN", i);
	}
	ipg_ctl_free(&m);
	ipg_ctl_free(&back);
	ipg_buf_free(&b);
}

static void expect_bad(const char *file, int line, const char *s,
		       const char *part)
{
	struct ipg_error e = { { 0 } };
	struct ipg_ctl_msg m;
	int r = decode(s, strlen(s), &m, &e);

	if (r != -EBADMSG)
		return harness_fail(file, line,
				    "\"%s\": expected -EBADMSG, got %d", s, r);
	if (!strstr(e.msg, part))
		return harness_fail(file, line, "message \"%s\" lacks \"%s\"",
				    e.msg, part);
	if (m.n)
		return harness_fail(file, line, "fields left after an error");
}

#define BAD(s, part) CHECK(expect_bad(__FILE__, __LINE__, s, part))

TEST(test_ctl_malformed_refused_with_reason)
{
	BAD("GET / HTTP/1.0\r\n\r\n", "not an ipgate control message");
	BAD("ipgate/2 1\n", "not an ipgate control message");
	BAD("ipgate/1 x\n", "field count");
	BAD("ipgate/1 17\n", "field count");
	BAD("ipgate/1 01\n", "field count");
	BAD("ipgate/1 1\nCMD 3\nadd\n", "bad key");
	BAD("ipgate/1 1\ncmd\n", "expected \"KEY LENGTH\"");
	BAD("ipgate/1 1\ncmd -1\n", "bad key or length");
	BAD("ipgate/1 1\ncmd 99999999999\n", "bad key or length");
	BAD("ipgate/1 1\ncmd 2\nadd\n", "not followed by a newline");
	BAD("ipgate/1 2\ncmd 3\nadd\ncmd 3\nadd\n", "given twice");
}

TEST(test_ctl_setters_refuse_bad_keys_and_sizes)
{
	struct ipg_ctl_msg m = { 0 };
	char key[16];

	ASSERT_EQ(ipg_ctl_set(&m, "Bad Key", "x"), -EINVAL);
	ASSERT_EQ(ipg_ctl_set(&m, "", "x"), -EINVAL);
	for (int i = 0; i < IPG_CTL_FIELDS_MAX; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ASSERT_OK(ipg_ctl_set(&m, key, "v"));
	}
	ASSERT_EQ(ipg_ctl_set(&m, "one-more", "v"), -E2BIG);
	ipg_ctl_free(&m);
	ASSERT_EQ(m.n, 0);
}

TEST(test_ctl_key_length_31_ok_32_refused)
{
	char k31[32], k32[33], msg[128];
	struct ipg_ctl_msg m = { 0 };
	struct ipg_error e = { { 0 } };

	memset(k31, 'k', 31);
	k31[31] = '\0';
	memset(k32, 'k', 32);
	k32[32] = '\0';
	ASSERT_OK(ipg_ctl_set(&m, k31, "v"));
	ASSERT_EQ(ipg_ctl_set(&m, k32, "v"), -EINVAL);
	ipg_ctl_free(&m);
	snprintf(msg, sizeof(msg), "ipgate/1 1\n%s 1\nv\n", k31);
	ASSERT_OK(decode(msg, strlen(msg), &m, &e));
	ASSERT_STR(ipg_ctl_get(&m, k31), "v");
	ipg_ctl_free(&m);
	snprintf(msg, sizeof(msg), "ipgate/1 1\n%s 1\nv\n", k32);
	ASSERT_EQ(decode(msg, strlen(msg), &m, &e), -EBADMSG);
}

/* Requests stay small; a reply (a whole audit log) may be far larger. */
TEST(test_ctl_reply_limits_admit_what_requests_refuse)
{
	size_t big = 5u << 20, used = 0;
	struct ipg_ctl_msg m = { 0 }, back;
	struct ipg_error e = { { 0 } };
	struct ipg_buf b = { 0 };
	char *v = malloc(big);

	ASSERT_TRUE(v != NULL);
	memset(v, 'x', big);
	ASSERT_OK(ipg_ctl_setn(&m, "out", v, big));
	free(v);
	ASSERT_OK(ipg_ctl_encode(&m, &b));
	ipg_ctl_free(&m);
	ASSERT_EQ(ipg_ctl_decode(b.s, b.len, &ipg_ctl_request_limits, &back,
				 &used, &e),
		  -EBADMSG);
	ASSERT_OK(ipg_ctl_decode(b.s, b.len, &ipg_ctl_reply_limits, &back,
				 &used, &e));
	ASSERT_TRUE(ipg_ctl_getn(&back, "out", &used) != NULL);
	ASSERT_EQ(used, big);
	ipg_ctl_free(&back);
	ipg_buf_free(&b);
}

/* A server that answers one request with the first @cut bytes of a reply
 * whose "out" holds @size bytes (the whole reply when @cut is 0). */
struct fake_server {
	int lfd;
	size_t size, cut;
};

static void *fake_serve(void *arg)
{
	struct fake_server *f = arg;
	struct ipg_ctl_msg rep = { 0 };
	struct ipg_buf b = { 0 };
	char buf[4096];
	char *v = malloc(f->size);
	int fd = accept(f->lfd, NULL, NULL);
	size_t off = 0, end;

	while (recv(fd, buf, sizeof(buf), 0) > 0)
		; /* the client shuts its side after the request */
	memset(v, 'y', f->size);
	ipg_ctl_set(&rep, "code", "ok");
	ipg_ctl_setn(&rep, "out", v, f->size);
	ipg_ctl_encode(&rep, &b);
	end = f->cut ? f->cut : b.len;
	while (off < end) {
		ssize_t n = send(fd, b.s + off,
				 end - off > 65536 ? 65536 : end - off,
				 MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	ipg_buf_free(&b);
	ipg_ctl_free(&rep);
	free(v);
	return NULL;
}

static int call_fake(size_t size, size_t cut, struct ipg_ctl_msg *rep,
		     struct ipg_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ipg_ctl_msg req = { 0 };
	struct fake_server f = { .size = size, .cut = cut };
	pthread_t th;
	int r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/ipgate-ctl-%d.sock",
		 (int)getpid());
	unlink(sa.sun_path);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(f.lfd, 1))
		return -errno;
	pthread_create(&th, NULL, fake_serve, &f);
	ipg_ctl_set(&req, "cmd", "log");
	r = ipg_ctl_call(sa.sun_path, &req, rep, e);
	pthread_join(th, NULL);
	close(f.lfd);
	unlink(sa.sun_path);
	ipg_ctl_free(&req);
	return r;
}

/* A reply far larger than a socket buffer arrives whole; one cut short is
 * an error, never a shorter answer. */
TEST(test_ctl_call_reads_large_replies_and_refuses_cut_ones)
{
	struct ipg_error e = { { 0 } };
	struct ipg_ctl_msg rep;
	size_t len = 0;

	ASSERT_OK(call_fake(8u << 20, 0, &rep, &e));
	ASSERT_TRUE(ipg_ctl_getn(&rep, "out", &len) != NULL);
	ASSERT_EQ(len, 8u << 20);
	ipg_ctl_free(&rep);
	ASSERT_EQ(call_fake(1u << 20, 300000, &rep, &e), -ECONNRESET);
	ASSERT_TRUE(strstr(e.msg, "unfinished answer") != NULL);
	ASSERT_EQ(rep.n, 0);
}

TEST(test_json_field_reads_back_records)
{
	const char *rec = "{\"seq\":7,\"time\":\"t\",\"actor\":{\"uid\":0,"
			  "\"user\":\"a \\\"b\\\"\",\"client\":null},"
			  "\"action\":\"add\",\"before\":{\"entries\":[],"
			  "\"count\":1},\"after\":[1,{\"x\":\"}\"}]}";
	char out[64];
	size_t len;
	const char *v;

	v = ipg_json_field(rec, "seq", &len);
	ASSERT_TRUE(v && len == 1 && *v == '7');
	v = ipg_json_field(rec, "action", &len);
	ipg_json_string(v, len, out, sizeof(out));
	ASSERT_STR(out, "add");
	v = ipg_json_field(rec, "before", &len);
	ASSERT_TRUE(v && !strncmp(v, "{\"entries\":[],\"count\":1}", len) &&
		    len == 24);
	v = ipg_json_field(rec, "after", &len);
	ASSERT_TRUE(v && len == strlen("[1,{\"x\":\"}\"}]"));
	v = ipg_json_field(rec, "actor", &len);
	ASSERT_TRUE(v != NULL);
	/* "user" is nested, not top-level. */
	ASSERT_TRUE(ipg_json_field(rec, "user", &len) == NULL);
	ASSERT_TRUE(ipg_json_field("not json", "seq", &len) == NULL);
	ASSERT_TRUE(ipg_json_field("{\"a\":\"unterminated", "b", &len) == NULL);
}

int main(int argc, char **argv)
{
	return harness_main("unit/ctl", argc, argv, NULL, NULL);
}
