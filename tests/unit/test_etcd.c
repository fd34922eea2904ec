// SPDX-License-Identifier: GPL-2.0
/* The etcd client without a server: the watch stream cut at every byte,
 * base64, int64 carried as strings, fields left out at their defaults,
 * error replies, replies refused whole; options and requests refused,
 * requests canceled, endpoints that refuse. */
#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "etcd_int.h"
#include "harness.h"
#include "log.h"

#define P "/ipgate/"

/* A watch stream as etcd 3.4's gateway sent it, lines recorded from
 * 127.0.0.1: created, a put, a txn's two puts (one empty value, no
 * "value"), a delete, a progress notification, a compaction cancel, and
 * a stopping member's error, which ends without a newline. */
static const char stream[] =
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"revision\":\"2\","
	"\"raft_term\":\"2\"},\"created\":true}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"revision\":\"2\","
	"\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L2lwZ2F0ZS9h\","
	"\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
	"\"value\":\"aGVsbG8=\"}}]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"revision\":\"3\","
	"\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L2lwZ2F0ZS9i\","
	"\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\","
	"\"value\":\"dHdvIHdvcmRz\"}},{\"kv\":{\"key\":\"L2lwZ2F0ZS9j\","
	"\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":\"1\"}}"
	"]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"revision\":\"4\","
	"\"raft_term\":\"2\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{"
	"\"key\":\"L2lwZ2F0ZS9h\",\"mod_revision\":\"4\"}}]}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"revision\":\"4\","
	"\"raft_term\":\"2\"}}}\n"
	"{\"result\":{\"header\":{\"cluster_id\":\"8292835532207274732\","
	"\"member_id\":\"14455157448714618583\",\"raft_term\":\"2\"},"
	"\"canceled\":true,\"compact_revision\":\"3\"}}\n"
	"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
	"\"transport is closing\",\"http_status\":\"Service Unavailable\"}}";

static const char expected[] =
	"CREATED 2\n"
	"EVENTS [PUT a=hello c2 m2 v1]\n"
	"EVENTS [PUT b=two words c3 m3 v1][PUT c= c3 m3 v1]\n"
	"EVENTS [DELETE a= c0 m4 v0]\n"
	"PROGRESS 4\n"
	"COMPACTED 3\n"
	"ERROR 14 transport is closing\n";

/* One line per message, or BAD and why. */
static void describe(struct ipg_buf *b, const char *line, size_t len)
{
	static const char *const kinds[] = {
		[ETCD_MSG_CREATED] = "CREATED",
		[ETCD_MSG_EVENTS] = "EVENTS",
		[ETCD_MSG_PROGRESS] = "PROGRESS",
		[ETCD_MSG_COMPACTED] = "COMPACTED",
		[ETCD_MSG_CANCELED] = "CANCELED",
		[ETCD_MSG_ERROR] = "ERROR",
	};
	struct etcd_watch_msg m;

	if (etcd_watch_parse(P, line, len, &m)) {
		ipg_buf_printf(b, "BAD %s\n", m.message);
		ASSERT_TRUE(m.events == NULL && m.n_events == 0);
		return;
	}
	ipg_buf_printf(b, "%s", kinds[m.kind]);
	switch (m.kind) {
	case ETCD_MSG_EVENTS:
		ipg_buf_printf(b, " ");
		for (size_t i = 0; i < m.n_events; i++) {
			const struct ipg_etcd_kv *kv = &m.events[i].kv;

			ipg_buf_printf(b, "[%s %s=%s c%lld m%lld v%lld]",
				       m.events[i].deleted ? "DELETE" : "PUT",
				       kv->key, kv->value,
				       (long long)kv->create_revision,
				       (long long)kv->mod_revision,
				       (long long)kv->version);
		}
		break;
	case ETCD_MSG_COMPACTED:
		ipg_buf_printf(b, " %lld", (long long)m.compact_revision);
		break;
	case ETCD_MSG_ERROR:
		ipg_buf_printf(b, " %d %s", m.code, m.message);
		break;
	case ETCD_MSG_CANCELED:
		ipg_buf_printf(b, " %s", m.message);
		break;
	default:
		ipg_buf_printf(b, " %lld", (long long)m.revision);
	}
	ipg_buf_printf(b, "\n");
	etcd_watch_msg_free(&m);
}

/* Feeds @len bytes of @s cut before each offset in @cuts, taking the
 * complete lines after every chunk as the client does, then the rest. */
static int run_stream(const char *s, size_t len, const size_t *cuts,
		      size_t n_cuts, size_t max, struct ipg_buf *out)
{
	struct etcd_lines l = { .max = max };
	const char *line;
	size_t from = 0, n;
	int err = 0;

	for (size_t i = 0; i <= n_cuts && !err; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;

		err = etcd_lines_feed(&l, s + from, to - from);
		from = to;
		while (!err && etcd_lines_next(&l, &line, &n))
			describe(out, line, n);
	}
	if (!err && etcd_lines_rest(&l, &line, &n))
		describe(out, line, n);
	etcd_lines_free(&l);
	return err;
}

static void stream_gives(const size_t *cuts, size_t n_cuts, const char *what)
{
	struct ipg_buf got = { 0 };
	int err = run_stream(stream, sizeof(stream) - 1, cuts, n_cuts,
			     ETCD_MAX_REPLY, &got);

	if (err || !got.s || strcmp(got.s, expected)) {
		harness_fail(__FILE__, __LINE__, "%s: err %d, got:\n%s", what,
			     err, got.s ? got.s : "(nothing)");
	}
	ipg_buf_free(&got);
}

TEST(test_watch_stream_in_one_chunk_gives_every_message)
{
	stream_gives(NULL, 0, "merged in one chunk");
}

TEST(test_watch_stream_cut_at_every_byte_gives_the_same_messages)
{
	char what[64];

	for (size_t i = 1; i < sizeof(stream) - 1; i++) {
		snprintf(what, sizeof(what), "cut at byte %zu", i);
		CHECK(stream_gives(&i, 1, what));
	}
}

TEST(test_watch_stream_byte_by_byte_gives_the_same_messages)
{
	size_t n = sizeof(stream) - 1, *cuts = calloc(n, sizeof(*cuts));

	ASSERT_TRUE(cuts);
	for (size_t i = 0; i < n - 1; i++)
		cuts[i] = i + 1;
	stream_gives(cuts, n - 1, "byte by byte");
	free(cuts);
}

TEST(test_watch_stream_random_chunks_give_the_same_messages)
{
	unsigned seed = 12345;
	size_t cuts[16], n;
	char what[64];

	for (int run = 0; run < 300; run++) {
		n = 0;
		for (size_t at = 0;; n++) {
			seed = seed * 1103515245 + 12345;
			at += 1 + (seed >> 16) % 200;
			if (at >= sizeof(stream) - 1 || n == 16)
				break;
			cuts[n] = at;
		}
		snprintf(what, sizeof(what), "run %d, %zu cuts", run, n);
		CHECK(stream_gives(cuts, n, what));
	}
}

TEST(test_watch_final_object_without_newline_comes_at_end_only)
{
	struct etcd_lines l = { .max = 1 << 20 };
	const char *line;
	size_t n, lines = 0;

	ASSERT_OK(etcd_lines_feed(&l, stream, sizeof(stream) - 1));
	while (etcd_lines_next(&l, &line, &n))
		lines++;
	ASSERT_EQ(lines, 6);
	ASSERT_EQ(etcd_lines_rest(&l, &line, &n), 1);
	ASSERT_TRUE(n > 10 && !strncmp(line, "{\"error\":", 9));
	ASSERT_EQ(etcd_lines_rest(&l, &line, &n), 0);
	etcd_lines_free(&l);
}

TEST(test_watch_stream_cut_mid_message_delivers_none_of_it)
{
	/* A killed member: the transfer ends inside the txn's message. */
	const char *cut = strstr(stream, "dHdvIHdvcmRz");
	struct ipg_buf got = { 0 };

	ASSERT_OK(run_stream(stream, (size_t)(cut - stream), NULL, 0,
			     ETCD_MAX_REPLY, &got));
	static const char want[] = "CREATED 2\nEVENTS [PUT a=hello c2 m2 v1]\n"
				   "BAD a watch message that is not JSON";

	ASSERT_TRUE(got.s);
	if (strncmp(got.s, want, sizeof(want) - 1) ||
	    strchr(got.s + sizeof(want) - 1, '\n') != got.s + strlen(got.s) - 1)
		FAIL("got:\n%s", got.s);
	ipg_buf_free(&got);
}

TEST(test_watch_blank_lines_and_crlf_are_taken)
{
	static const char s[] =
		"\n\r\n{\"result\":{\"header\":{\"revision\":\"9\"}}}\r\n  \n"
		"{\"result\":{\"header\":{\"revision\":\"10\"}}}\n\n";
	struct ipg_buf got = { 0 };

	ASSERT_OK(run_stream(s, sizeof(s) - 1, NULL, 0, 1024, &got));
	ASSERT_STR(got.s, "PROGRESS 9\nPROGRESS 10\n");
	ipg_buf_free(&got);
}

TEST(test_watch_line_over_the_limit_is_refused)
{
	struct etcd_lines l = { .max = 64 };
	char line[65];
	const char *got;
	size_t n;

	memset(line, 'x', sizeof(line));
	/* 64 bytes then a newline: taken; earlier complete lines do not
	 * count against the line being received. */
	ASSERT_OK(etcd_lines_feed(&l, line, 64));
	ASSERT_OK(etcd_lines_feed(&l, "\n", 1));
	ASSERT_OK(etcd_lines_feed(&l, line, 40));
	ASSERT_EQ(etcd_lines_next(&l, &got, &n), 1);
	ASSERT_EQ(n, 64);
	ASSERT_OK(etcd_lines_feed(&l, line, 24));
	/* byte 65 of one line, in a later chunk */
	ASSERT_EQ(etcd_lines_feed(&l, "y", 1), -EMSGSIZE);
	etcd_lines_free(&l);
	l = (struct etcd_lines){ .max = 64 };
	ASSERT_EQ(etcd_lines_feed(&l, line, 65), -EMSGSIZE);
	etcd_lines_free(&l);
}

TEST(test_watch_cancel_messages)
{
	struct ipg_buf got = { 0 };
	/* A watch with a token the member forgot (etcd 3.4). */
	static const char auth[] =
		"{\"result\":{\"header\":{\"revision\":\"10\"},\"watch_id\":\"-1\","
		"\"created\":true,\"canceled\":true,\"cancel_reason\":\"rpc "
		"error: code = Unauthenticated desc = etcdserver: invalid auth "
		"token\"}}";
	struct etcd_watch_msg m;

	ASSERT_OK(etcd_watch_parse(P, auth, sizeof(auth) - 1, &m));
	ASSERT_EQ(m.kind, ETCD_MSG_CANCELED);
	ASSERT_TRUE(etcd_auth_expired(m.code, m.message));
	describe(&got, "{\"result\":{\"canceled\":true}}", 28);
	ASSERT_STR(got.s, "CANCELED canceled by etcd\n");
	ipg_buf_free(&got);
}

TEST(test_watch_bad_messages_are_refused_whole)
{
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"foo\":1}",
		"{\"result\":[]}",
		"{\"result\":{\"events\":{}}}",
		"{\"result\":{\"events\":[{\"type\":\"FOO\",\"kv\":{\"key\":"
		"\"L2lwZ2F0ZS9h\"}}]}}",
		/* the second event is bad: the first must not come out */
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2lwZ2F0ZS9h\"}},"
		"{\"kv\":{\"key\":\"L2lwZ2F0ZS9h!\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2V0Yy9h\"}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{}}]}}",
		"{\"result\":{\"events\":[{\"kv\":{\"key\":\"L2lwZ2F0ZS9h\","
		"\"mod_revision\":\"x\"}}]}}",
		"{\"result\":{\"header\":{\"revision\":true}}}",
		"{\"result\":{\"created\":\"yes\"}}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct etcd_watch_msg m;
		int err = etcd_watch_parse(P, bad[i], strlen(bad[i]), &m);

		if (err != -EPROTO || m.events || m.n_events || !m.message[0])
			FAIL("%s: err %d, %zu events, message \"%s\"", bad[i],
			     err, m.n_events, m.message);
	}
}

TEST(test_base64_round_trips_every_length_and_byte)
{
	unsigned char data[300], *back;
	size_t len;
	char *s;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + (i >> 8));
	data[0] = 0;
	data[1] = 0xff;
	for (size_t n = 0; n <= sizeof(data); n++) {
		s = etcd_b64_encode(data, n);
		ASSERT_TRUE(s);
		ASSERT_EQ(strlen(s), (n + 2) / 3 * 4);
		ASSERT_OK(etcd_b64_decode(s, &back, &len));
		ASSERT_EQ(len, n);
		ASSERT_TRUE(!memcmp(back, data, n) && back[n] == 0);
		free(back);
		free(s);
	}
	s = etcd_b64_encode("fo", 2);
	ASSERT_STR(s, "Zm8=");
	free(s);
}

TEST(test_base64_rejects_malformed)
{
	static const char *const bad[] = {
		"Zm8",	 "Zm8==", "Z===",  "====", "Zm=8", "Zm8=Zm8=",
		"Zm9v ", " Zm9",  "Zm9\n", "Zm-v", "Zm_v", "Zm9v====",
	};
	unsigned char *out = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (etcd_b64_decode(bad[i], &out, &len) != -EINVAL)
			FAIL("\"%s\" decoded", bad[i]);
	ASSERT_OK(etcd_b64_decode("", &out, &len));
	ASSERT_EQ(len, 0);
	free(out);
}

TEST(test_int64_fields_are_strings_and_ids_exceed_int64)
{
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
		"max", "9223372036854775807", "min", "-9223372036854775808",
		"over", "9223372036854775808", "int", 42, "id",
		"18446744073709551615", "idover", "18446744073709551616", "neg",
		"-1", "junk", "12a", "plus", "+1", "bool", 1, "empty", "");
	int64_t v;
	uint64_t u;

	ASSERT_TRUE(o);
	ASSERT_OK(etcd_json_i64(o, "max", &v));
	ASSERT_TRUE(v == INT64_MAX);
	ASSERT_OK(etcd_json_i64(o, "min", &v));
	ASSERT_TRUE(v == INT64_MIN);
	ASSERT_OK(etcd_json_i64(o, "int", &v));
	ASSERT_EQ(v, 42);
	ASSERT_OK(etcd_json_i64(o, "absent", &v));
	ASSERT_EQ(v, 0);
	ASSERT_OK(etcd_json_u64(o, "id", &u));
	ASSERT_TRUE(u == UINT64_MAX);
	ASSERT_OK(etcd_json_i64(o, "neg", &v));
	ASSERT_EQ(v, -1);
	ASSERT_EQ(etcd_json_i64(o, "over", &v), -EPROTO);
	ASSERT_EQ(etcd_json_u64(o, "idover", &u), -EPROTO);
	ASSERT_EQ(etcd_json_u64(o, "neg", &u), -EPROTO);
	ASSERT_EQ(etcd_json_i64(o, "junk", &v), -EPROTO);
	ASSERT_EQ(etcd_json_i64(o, "plus", &v), -EPROTO);
	ASSERT_EQ(etcd_json_i64(o, "bool", &v), -EPROTO);
	ASSERT_EQ(etcd_json_i64(o, "empty", &v), -EPROTO);
	json_decref(o);
}

/* Parses @body as the reply to a @kind request. */
static int parse(enum etcd_kind kind, const char *body, struct etcd_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	return etcd_parse_reply(kind, P, body, strlen(body), rep);
}

TEST(test_range_reply_without_kvs_means_no_key)
{
	struct etcd_reply rep;

	ASSERT_OK(parse(ETCD_RANGE,
			"{\"header\":{\"cluster_id\":\"8292835532207274732\","
			"\"member_id\":\"17780434403840819432\",\"revision\":"
			"\"2\",\"raft_term\":\"2\"}}",
			&rep));
	ASSERT_OK(rep.r.err);
	ASSERT_EQ(rep.r.revision, 2);
	ASSERT_TRUE(rep.r.member_id == 17780434403840819432ull);
	ASSERT_EQ(rep.r.reply.n_kvs, 0);
	ASSERT_EQ(rep.r.reply.count, 0);
	etcd_reply_free(&rep);
}

TEST(test_range_reply_kvs_decoded_without_prefix)
{
	struct etcd_reply rep;
	const struct ipg_etcd_kv *kv;

	ASSERT_OK(parse(ETCD_RANGE,
			"{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":"
			"\"L2lwZ2F0ZS9h\",\"create_revision\":\"2\","
			"\"mod_revision\":\"6\",\"version\":\"3\",\"value\":"
			"\"AP8=\",\"lease\":\"7587886214349784328\"},{\"key\":"
			"\"L2lwZ2F0ZS9i\"}],\"count\":\"2\"}",
			&rep));
	ASSERT_EQ(rep.r.reply.n_kvs, 2);
	ASSERT_EQ(rep.r.reply.count, 2);
	kv = &rep.r.reply.kvs[0];
	ASSERT_STR(kv->key, "a");
	ASSERT_EQ(kv->key_len, 1);
	ASSERT_EQ(kv->value_len, 2);
	ASSERT_TRUE(kv->value[0] == 0 && kv->value[1] == 0xff);
	ASSERT_EQ(kv->create_revision, 2);
	ASSERT_EQ(kv->mod_revision, 6);
	ASSERT_EQ(kv->version, 3);
	ASSERT_TRUE(kv->lease == 7587886214349784328ull);
	kv = &rep.r.reply.kvs[1];
	ASSERT_STR(kv->key, "b");
	ASSERT_EQ(kv->value_len, 0);
	ASSERT_TRUE(kv->value && !kv->value[0]);
	etcd_reply_free(&rep);
}

TEST(test_txn_reply_without_succeeded_is_the_failure_branch)
{
	struct etcd_reply rep;

	/* etcd 3.4's reply to a compare on a mod_revision that moved */
	ASSERT_OK(
		parse(ETCD_TXN,
		      "{\"header\":{\"revision\":\"2\"},\"responses\":[{"
		      "\"response_range\":{\"header\":{\"revision\":\"2\"},"
		      "\"kvs\":[{\"key\":\"L2lwZ2F0ZS9h\",\"create_revision\":"
		      "\"2\",\"mod_revision\":\"2\",\"version\":\"1\","
		      "\"value\":\"aGVsbG8=\"}],\"count\":\"1\"}}]}",
		      &rep));
	ASSERT_OK(rep.r.err);
	ASSERT_TRUE(!rep.r.succeeded);
	ASSERT_EQ(rep.r.n_replies, 1);
	ASSERT_EQ(rep.r.replies[0].type, IPG_ETCD_OP_RANGE);
	ASSERT_EQ(rep.r.replies[0].n_kvs, 1);
	ASSERT_STR((char *)rep.r.replies[0].kvs[0].value, "hello");
	etcd_reply_free(&rep);
	ASSERT_OK(parse(ETCD_TXN,
			"{\"header\":{\"revision\":\"3\"},\"succeeded\":true,"
			"\"responses\":[{\"response_put\":{\"header\":{}}},"
			"{\"response_delete_range\":{\"deleted\":\"4\"}}]}",
			&rep));
	ASSERT_TRUE(rep.r.succeeded);
	ASSERT_EQ(rep.r.n_replies, 2);
	ASSERT_EQ(rep.r.replies[0].type, IPG_ETCD_OP_PUT);
	ASSERT_EQ(rep.r.replies[1].type, IPG_ETCD_OP_DELETE);
	ASSERT_EQ(rep.r.replies[1].count, 4);
	etcd_reply_free(&rep);
}

TEST(test_error_replies_give_errno_code_and_message)
{
	struct etcd_reply rep;

	ASSERT_OK(parse(ETCD_RANGE,
			"{\"error\":\"etcdserver: mvcc: required revision has "
			"been compacted\",\"message\":\"etcdserver: mvcc: "
			"required revision has been compacted\",\"code\":11}",
			&rep));
	ASSERT_EQ(rep.r.err, -ERANGE);
	ASSERT_EQ(rep.r.code, 11);
	ASSERT_STR(rep.r.message,
		   "etcdserver: mvcc: required revision has been compacted");
	ASSERT_OK(parse(ETCD_PUT,
			"{\"error\":\"etcdserver: invalid auth token\","
			"\"message\":\"etcdserver: invalid auth token\","
			"\"code\":16}",
			&rep));
	ASSERT_EQ(rep.r.err, -EACCES);
	ASSERT_TRUE(etcd_auth_expired(rep.r.code, rep.r.message));
	ASSERT_OK(parse(ETCD_LEASE_GRANT,
			"{\"header\":{},\"error\":\"lease grant failed\"}",
			&rep));
	ASSERT_EQ(rep.r.err, -EIO);
	ASSERT_STR(rep.r.message, "lease grant failed");
	/* inside a stream (a keepalive's reply) */
	ASSERT_OK(parse(ETCD_LEASE_KEEPALIVE,
			"{\"error\":{\"grpc_code\":14,\"http_code\":503,"
			"\"message\":\"transport is closing\",\"http_status\":"
			"\"Service Unavailable\"}}",
			&rep));
	ASSERT_EQ(rep.r.err, -EAGAIN);
	ASSERT_EQ(rep.r.code, 14);
	ASSERT_STR(rep.r.message, "transport is closing");
	ASSERT_TRUE(!etcd_auth_expired(14, "transport is closing"));
}

TEST(test_keepalive_of_a_gone_lease_is_enoent)
{
	struct etcd_reply rep;

	ASSERT_OK(parse(ETCD_LEASE_KEEPALIVE,
			"{\"result\":{\"header\":{\"revision\":\"4\"},\"ID\":"
			"\"12345\"}}",
			&rep));
	ASSERT_EQ(rep.r.err, -ENOENT);
	ASSERT_TRUE(rep.r.lease == 12345);
	ASSERT_OK(parse(ETCD_LEASE_KEEPALIVE,
			"{\"result\":{\"header\":{\"revision\":\"4\"},\"ID\":"
			"\"65480490774813969\",\"TTL\":\"5\"}}",
			&rep));
	ASSERT_OK(rep.r.err);
	ASSERT_EQ(rep.r.ttl, 5);
	ASSERT_TRUE(rep.r.lease == 65480490774813969ull);
}

TEST(test_status_of_a_member_without_leader)
{
	struct etcd_reply rep;

	ASSERT_OK(
		parse(ETCD_STATUS,
		      "{\"header\":{\"member_id\":\"17780434403840819432\","
		      "\"revision\":\"10\"},\"version\":\"3.4.23\",\"dbSize\":"
		      "\"20480\",\"raftIndex\":\"41\",\"raftTerm\":\"2\","
		      "\"raftAppliedIndex\":\"41\",\"errors\":[\"etcdserver: "
		      "no leader\"],\"dbSizeInUse\":\"16384\"}",
		      &rep));
	ASSERT_OK(rep.r.err);
	ASSERT_TRUE(rep.r.leader == 0);
	ASSERT_STR(rep.r.status_error, "etcdserver: no leader");
	ASSERT_STR(rep.r.version, "3.4.23");
	ASSERT_EQ(rep.r.db_size, 20480);
	ASSERT_TRUE(rep.r.raft_index == 41 && rep.r.raft_term == 2);
}

TEST(test_bad_replies_are_refused_whole)
{
	static const struct {
		enum etcd_kind kind;
		const char *body;
	} bad[] = {
		{ ETCD_RANGE, "" },
		{ ETCD_RANGE, "<html>502 Bad Gateway</html>" },
		{ ETCD_RANGE, "[]" },
		{ ETCD_RANGE, "{\"header\":{\"revision\":7}, \"kvs\":{}}" },
		{ ETCD_RANGE, "{\"header\":{\"revision\":\"x\"}}" },
		{ ETCD_RANGE, "{\"count\":\"1e3\"}" },
		/* the second kv is bad: none come out */
		{ ETCD_RANGE, "{\"kvs\":[{\"key\":\"L2lwZ2F0ZS9h\"},{\"key\":"
			      "\"L2lwZ2F0ZS9i\",\"value\":\"a\"}]}" },
		{ ETCD_RANGE, "{\"kvs\":[{\"key\":\"L2lwZ2F0ZS9h\",\"value\":"
			      "7}]}" },
		{ ETCD_TXN, "{\"succeeded\":\"true\"}" },
		{ ETCD_TXN, "{\"succeeded\":true,\"responses\":[{\"response_"
			    "range\":{\"kvs\":[{}]}}]}" },
		{ ETCD_TXN, "{\"responses\":[{\"response_txn\":{}}]}" },
		{ ETCD_LEASE_GRANT, "{\"ID\":\"-5\",\"TTL\":\"5\"}" },
		{ ETCD_AUTH, "{\"header\":{}}" },
		{ ETCD_STATUS, "{\"version\":3}" },
	};
	struct etcd_reply rep;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(bad[i].kind, bad[i].body, &rep);

		if (err != -EPROTO || rep.r.reply.kvs || rep.r.replies ||
		    rep.token || !rep.message[0])
			FAIL("%s: err %d, message \"%s\"", bad[i].body, err,
			     rep.message);
		etcd_reply_free(&rep);
	}
}

/* The base64 string @v decoded, for comparing. */
static char *unb64(const json_t *v)
{
	unsigned char *out;
	size_t len;

	if (!json_is_string(v) ||
	    etcd_b64_decode(json_string_value(v), &out, &len))
		return strdup("(not base64)");
	return (char *)out;
}

static void json_field_is(const json_t *o, const char *path, const char *want,
			  bool b64)
{
	const json_t *v = o;
	char key[64], *got;
	const char *p = path;

	while (*p) {
		size_t n = strcspn(p, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		v = key[0] >= '0' && key[0] <= '9' ?
			    json_array_get(v, strtoul(key, NULL, 10)) :
			    json_object_get(v, key);
		p += n + (p[n] == '.');
	}
	got = b64 ? unb64(v) : strdup(json_string_value(v) ?: "(absent)");
	if (strcmp(got, want))
		harness_fail(__FILE__, __LINE__,
			     "%s: expected \"%s\", got \"%s\"", path, want,
			     got);
	free(got);
}

TEST(test_txn_request_sets_every_compare_target)
{
	struct ipg_etcd_cmp cmp[] = {
		{ "lists/web", IPG_ETCD_MOD, IPG_ETCD_EQUAL, 7 },
		{ "lists/new", IPG_ETCD_VERSION, IPG_ETCD_EQUAL, 0 },
		{ "x", IPG_ETCD_VALUE, IPG_ETCD_NOT_EQUAL, 0, "v", 1 },
	};
	struct ipg_etcd_op ok[] = {
		{ IPG_ETCD_OP_PUT, "lists/web", false, "allow 1", 7, 42 },
		{ IPG_ETCD_OP_DELETE, "audit/", true },
	};
	struct ipg_etcd_op no[] = { { IPG_ETCD_OP_RANGE, "lists/web" } };
	struct ipg_etcd_txn t = { cmp, 3, ok, no, 2, 1 };
	json_t *j = etcd_json_txn(P, &t);

	ASSERT_TRUE(j);
	CHECK(json_field_is(j, "compare.0.target", "MOD", false));
	CHECK(json_field_is(j, "compare.0.result", "EQUAL", false));
	CHECK(json_field_is(j, "compare.0.mod_revision", "7", false));
	CHECK(json_field_is(j, "compare.0.key", P "lists/web", true));
	/* VERSION is etcd's default target, and still written */
	CHECK(json_field_is(j, "compare.1.target", "VERSION", false));
	CHECK(json_field_is(j, "compare.1.version", "0", false));
	CHECK(json_field_is(j, "compare.2.target", "VALUE", false));
	CHECK(json_field_is(j, "compare.2.result", "NOT_EQUAL", false));
	CHECK(json_field_is(j, "compare.2.value", "v", true));
	CHECK(json_field_is(j, "success.0.request_put.value", "allow 1", true));
	CHECK(json_field_is(j, "success.0.request_put.lease", "42", false));
	CHECK(json_field_is(j, "success.1.request_delete_range.key", P "audit/",
			    true));
	CHECK(json_field_is(j, "success.1.request_delete_range.range_end",
			    P "audit0", true));
	CHECK(json_field_is(j, "failure.0.request_range.key", P "lists/web",
			    true));
	CHECK(json_field_is(j, "failure.0.request_range.range_end", "(absent)",
			    false));
	json_decref(j);
}

TEST(test_prefix_range_ends)
{
	struct ipg_etcd_op op = { IPG_ETCD_OP_RANGE, "", true };
	json_t *j;
	char *end;

	j = etcd_json_op(P, &op);
	CHECK(json_field_is(j, "range_end", "/ipgate0", true));
	json_decref(j);
	/* the last byte that can grow grows; all 0xff: to the end */
	op.key = "a\xff";
	j = etcd_json_op("", &op);
	CHECK(json_field_is(j, "range_end", "b", true));
	json_decref(j);
	op.key = "\xff\xff";
	j = etcd_json_op("", &op);
	end = unb64(json_object_get(j, "range_end"));
	ASSERT_TRUE(end[0] == '\0');
	ASSERT_STR(json_string_value(json_object_get(j, "range_end")), "AA==");
	free(end);
	json_decref(j);
	/* a put with no value has an empty one; a NULL with a length fails */
	op = (struct ipg_etcd_op){ IPG_ETCD_OP_PUT, "k", false, NULL, 0 };
	j = etcd_json_op(P, &op);
	CHECK(json_field_is(j, "value", "", false));
	json_decref(j);
	op.value_len = 3;
	ASSERT_TRUE(etcd_json_op(P, &op) == NULL);
}

static int calls;

static void count_call(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		       void *arg)
{
	(void)c;
	calls++;
	snprintf(arg, ETCD_MSG_SIZE + 64, "%d %s", r->err, r->message);
}

TEST(test_client_options_refused_with_a_reason)
{
	const char *bad_ep[] = { "127.0.0.1:2379" },
		   *ok_ep[] = { "http://127.0.0.1:1/" };
	struct ipg_etcd_opts o = { .endpoints = bad_ep, .n_endpoints = 1 };
	struct ipg_error e = { { 0 } };
	struct ipg_etcd *c;

	ASSERT_TRUE(ipg_etcd_new(&o, &e) == NULL);
	ASSERT_TRUE(strstr(e.msg, "\"127.0.0.1:2379\": not http://"));
	o.n_endpoints = 0;
	ASSERT_TRUE(ipg_etcd_new(&o, &e) == NULL);
	ASSERT_TRUE(strstr(e.msg, "no endpoint"));
	o = (struct ipg_etcd_opts){ .endpoints = ok_ep,
				    .n_endpoints = 1,
				    .user = "root" };
	ASSERT_TRUE(ipg_etcd_new(&o, &e) == NULL);
	ASSERT_TRUE(strstr(e.msg, "no password"));
	o.user = NULL;
	c = ipg_etcd_new(&o, &e);
	ASSERT_TRUE(c);
	/* the trailing slash is dropped: one way to write an endpoint */
	ASSERT_STR(ipg_etcd_endpoint(c, 0), "http://127.0.0.1:1");
	ASSERT_TRUE(ipg_etcd_endpoint(c, 1) == NULL);
	ipg_etcd_free(c);
}

TEST(test_bad_requests_refused_at_once_without_callback)
{
	const char *eps[] = { "http://127.0.0.1:1" };
	struct ipg_etcd_opts o = { .endpoints = eps, .n_endpoints = 1 };
	struct ipg_etcd_op op = { IPG_ETCD_OP_PUT, NULL };
	struct ipg_etcd_txn t = { NULL, 0, &op, NULL, 1, 0 };
	struct ipg_etcd_watch_opts wo = { .key = "x" };
	struct ipg_etcd_watch *w;
	char msg[ETCD_MSG_SIZE + 64];
	struct ipg_etcd *c = ipg_etcd_new(&o, NULL);

	ASSERT_TRUE(c);
	calls = 0;
	ASSERT_EQ(ipg_etcd_put(c, NULL, "v", 1, 0, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_put(c, "k", NULL, 1, 0, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_txn(c, &t, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_lease_grant(c, 0, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_lease_revoke(c, 0, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_compact(c, 0, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_status(c, 1, count_call, msg), -EINVAL);
	ASSERT_EQ(ipg_etcd_watch(c, &wo, &w), -EINVAL);
	ASSERT_OK(ipg_etcd_wait(c, 1000));
	ASSERT_EQ(calls, 0);
	ipg_etcd_free(c);
}

TEST(test_client_freed_cancels_what_is_outstanding)
{
	const char *eps[] = { "http://127.0.0.1:1" };
	struct ipg_etcd_opts o = { .endpoints = eps, .n_endpoints = 1 };
	char msg[ETCD_MSG_SIZE + 64] = "";
	struct ipg_etcd *c = ipg_etcd_new(&o, NULL);

	ASSERT_TRUE(c);
	calls = 0;
	ASSERT_OK(ipg_etcd_put(c, "k", "v", 1, 0, count_call, msg));
	ASSERT_EQ(calls, 0);
	ipg_etcd_free(c);
	ASSERT_EQ(calls, 1);
	ASSERT_TRUE(!strncmp(msg, "-125 put: the etcd client closed", 32));
}

TEST(test_every_endpoint_refused_names_each)
{
	/* Ports 1 and 2 on loopback: nothing listens, the kernel refuses. */
	const char *eps[] = { "http://127.0.0.1:1", "http://127.0.0.1:2" };
	static const char want[] = "-111 range: http://127.0.0.1:1: ";
	struct ipg_etcd_opts o = { .endpoints = eps, .n_endpoints = 2 };
	char msg[ETCD_MSG_SIZE + 64] = "";
	struct ipg_etcd *c = ipg_etcd_new(&o, NULL);
	struct ipg_etcd_stats st;

	ASSERT_TRUE(c);
	calls = 0;
	ASSERT_OK(ipg_etcd_range(c, "k", false, count_call, msg));
	ASSERT_OK(ipg_etcd_wait(c, 30000));
	ASSERT_EQ(calls, 1);
	if (strncmp(msg, want, sizeof(want) - 1) ||
	    !strstr(msg, "; http://127.0.0.1:2: "))
		FAIL("message: %s", msg);
	ipg_etcd_stats(c, &st);
	ASSERT_EQ(st.failovers, 1);
	ASSERT_EQ(st.requests, 1);
	ipg_etcd_free(c);
}

int main(int argc, char **argv)
{
	return harness_main("unit/etcd", argc, argv, NULL, NULL);
}
