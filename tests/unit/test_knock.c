// SPDX-License-Identifier: GPL-2.0
/* Break-glass knocks: the wire form round-trips, any flipped bit or another
 * key fails the MAC, malformed datagrams and keys are refused; the
 * receiver's gate grants a fresh knock from the address it names, and
 * nothing sent without the key (junk, replays, copies from elsewhere) uses
 * up an honest source's allowance or nonce. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "knock.h"

static const uint8_t key[IPG_KNOCK_KEY_BYTES] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static struct ipg_knock sample(void)
{
	struct ipg_knock k = { .key_id = "alice",
			       .duration_s = 900,
			       .timestamp = 1795900000 };

	ipg_addr_parse("2001:db8::66", &k.source, NULL);
	for (int i = 0; i < IPG_KNOCK_NONCE_BYTES; i++)
		k.nonce[i] = (uint8_t)(i * 7);
	return k;
}

TEST(test_knock_round_trip_and_mac)
{
	struct ipg_knock k = sample(), back;
	uint8_t buf[IPG_KNOCK_MAX_LEN], other[IPG_KNOCK_KEY_BYTES] = { 9 };
	size_t len = ipg_knock_encode(&k, key, buf, sizeof(buf));

	ASSERT_TRUE(len > 0);
	ASSERT_OK(ipg_knock_decode(buf, len, &back));
	ASSERT_STR(back.key_id, "alice");
	ASSERT_TRUE(ipg_prefix_equal(&back.source, &k.source));
	ASSERT_EQ(back.duration_s, 900);
	ASSERT_EQ(back.timestamp, 1795900000);
	ASSERT_TRUE(!memcmp(back.nonce, k.nonce, sizeof(k.nonce)));
	ASSERT_EQ(ipg_knock_mac_ok(buf, len, key), 1);
	ASSERT_EQ(ipg_knock_mac_ok(buf, len, other), 0);
	/* Every single flipped bit is caught. */
	for (size_t i = 0; i < len * 8; i++) {
		buf[i / 8] ^= (uint8_t)(1 << (i % 8));
		if (ipg_knock_mac_ok(buf, len, key))
			FAIL("bit %zu flipped and the MAC still held", i);
		buf[i / 8] ^= (uint8_t)(1 << (i % 8));
	}
}

TEST(test_knock_malformed_refused)
{
	struct ipg_knock k = sample(), back;
	uint8_t buf[IPG_KNOCK_MAX_LEN + 8];
	size_t len = ipg_knock_encode(&k, key, buf, sizeof(buf));

	ASSERT_EQ(ipg_knock_decode(buf, len - 1, &back), -EBADMSG);
	ASSERT_EQ(ipg_knock_decode(buf, len + 1, &back), -EBADMSG);
	ASSERT_EQ(ipg_knock_decode(buf, 3, &back), -EBADMSG);
	buf[4] = 2; /* another version */
	ASSERT_EQ(ipg_knock_decode(buf, len, &back), -EBADMSG);
	buf[4] = 1;
	buf[6] = '/'; /* a key id that could name a path */
	ASSERT_EQ(ipg_knock_decode(buf, len, &back), -EBADMSG);
	/* An IPv4 source with bytes after its 4. */
	k.source.family = 4;
	memset(k.source.addr, 0, 16);
	k.source.addr[0] = 198;
	len = ipg_knock_encode(&k, key, buf, sizeof(buf));
	ASSERT_OK(ipg_knock_decode(buf, len, &back));
	buf[6 + 5 + 1 + 8] = 1;
	ASSERT_EQ(ipg_knock_decode(buf, len, &back), -EBADMSG);
	/* Ids: no dots first, no slashes, not empty, not too long. */
	ASSERT_EQ(ipg_knock_id_valid("ops-team_2.key"), 1);
	ASSERT_EQ(ipg_knock_id_valid(".hidden"), 0);
	ASSERT_EQ(ipg_knock_id_valid("a/b"), 0);
	ASSERT_EQ(ipg_knock_id_valid(""), 0);
	ASSERT_EQ(ipg_knock_id_valid("123456789012345678901234567890123"), 0);
}

TEST(test_knock_key_text_round_trip)
{
	char text[160], id[IPG_KNOCK_ID_MAX + 1];
	uint8_t back[IPG_KNOCK_KEY_BYTES];
	struct ipg_error e = { { 0 } };

	ipg_knock_key_format("alice", key, text, sizeof(text));
	ASSERT_TRUE(!strncmp(text, "ipgate-breakglass-1 alice 0102030405", 35));
	ASSERT_OK(ipg_knock_key_parse(text, id, back, &e));
	ASSERT_STR(id, "alice");
	ASSERT_TRUE(!memcmp(back, key, sizeof(key)));
	ASSERT_EQ(ipg_knock_key_parse("ipgate-breakglass-1 alice 0102", id,
				      back, &e),
		  -EINVAL);
	ASSERT_TRUE(strstr(e.msg, "not a break-glass key") != NULL);
	text[30] = 'g';
	ASSERT_EQ(ipg_knock_key_parse(text, id, back, &e), -EINVAL);
}

/* ---- the receiver's gate ---- */

#define NOW 1795900000ull
#define ADMIN "198.18.0.3"
#define OTHER "198.18.0.4"

static struct ipg_knock_gate gate;

static int alice_key(void *ctx, const char *id,
		     uint8_t out[IPG_KNOCK_KEY_BYTES])
{
	(void)ctx;
	if (strcmp(id, "alice"))
		return -ENOENT;
	memcpy(out, key, IPG_KNOCK_KEY_BYTES);
	return 0;
}

struct dgram {
	uint8_t b[IPG_KNOCK_MAX_LEN];
	size_t len;
};

/* Alice's knock naming @source, stamped @ts, with a nonce made of @nonce. */
static struct dgram knock_of(const char *source, uint64_t ts, unsigned nonce)
{
	struct ipg_knock k = { .key_id = "alice", .timestamp = ts };
	struct dgram d;

	ipg_addr_parse(source, &k.source, NULL);
	memcpy(k.nonce, &nonce, sizeof(nonce));
	d.len = ipg_knock_encode(&k, key, d.b, sizeof(d.b));
	return d;
}

/* The gate's verdict, by name, on @d received at @now from @from. */
static const char *judge(const struct dgram *d, const char *from, uint64_t now)
{
	struct ipg_prefix src;
	struct ipg_knock k;

	ipg_addr_parse(from, &src, NULL);
	return ipg_knock_verdict_name(ipg_knock_judge(
		&gate, now, d->b, d->len, &src, alice_key, NULL, &k));
}

static void gate_reset(void)
{
	memset(&gate, 0, sizeof(gate));
}

TEST(test_knock_spoofed_junk_from_admins_address_does_not_block_her_knock)
{
	struct dgram junk, real = knock_of(ADMIN, NOW, 1);
	uint8_t wrong[IPG_KNOCK_KEY_BYTES] = { 9 };

	gate_reset();
	/* Far more than the allowance, of every kind one can make without
	 * the key, all "from" the admin's address. */
	for (unsigned i = 0; i < 10 * IPG_KNOCK_RATE_MAX; i++) {
		struct ipg_knock k = { .key_id = "alice", .timestamp = NOW };

		ipg_addr_parse(ADMIN, &k.source, NULL);
		memcpy(k.nonce, &i, sizeof(i));
		junk.len = ipg_knock_encode(&k, wrong, junk.b, sizeof(junk.b));
		ASSERT_STR(judge(&junk, ADMIN, NOW), "bad_mac");
		memcpy(k.key_id, "nobody", 7);
		junk.len = ipg_knock_encode(&k, key, junk.b, sizeof(junk.b));
		ASSERT_STR(judge(&junk, ADMIN, NOW), "unknown_key");
		for (size_t j = 0; j < sizeof(junk.b); j++)
			junk.b[j] = (uint8_t)rand();
		junk.len = 1 + i % sizeof(junk.b);
		ASSERT_STR(judge(&junk, ADMIN, NOW), "malformed");
	}
	ASSERT_STR(judge(&real, ADMIN, NOW), "granted");
}

TEST(test_knock_replays_from_admins_address_do_not_use_up_her_allowance)
{
	struct dgram first = knock_of(ADMIN, NOW, 1), old;

	gate_reset();
	ASSERT_STR(judge(&first, ADMIN, NOW), "granted");
	old = knock_of(ADMIN, NOW - 3600, 2); /* an old knock, captured */
	for (int i = 0; i < 10 * IPG_KNOCK_RATE_MAX; i++) {
		ASSERT_STR(judge(&first, ADMIN, NOW), "replayed");
		ASSERT_STR(judge(&old, ADMIN, NOW), "stale");
	}
	struct dgram next = knock_of(ADMIN, NOW, 3);

	ASSERT_STR(judge(&next, ADMIN, NOW), "granted");
}

TEST(test_knock_copy_from_another_address_does_not_burn_the_nonce)
{
	struct dgram real = knock_of(ADMIN, NOW, 1);

	gate_reset();
	/* A copy, seen on the way and sent first from elsewhere. */
	ASSERT_STR(judge(&real, OTHER, NOW), "wrong_source");
	ASSERT_STR(judge(&real, OTHER, NOW), "wrong_source");
	ASSERT_STR(judge(&real, ADMIN, NOW), "granted");
	/* Once granted, its nonce is spent for everyone. */
	ASSERT_STR(judge(&real, ADMIN, NOW + 1), "replayed");
	ASSERT_STR(judge(&real, OTHER, NOW + 1), "replayed");
}

TEST(test_knock_replay_refused_for_as_long_as_its_timestamp_passes)
{
	/* Stamped as far ahead as the skew allows: it stays fresh until
	 * NOW + 2 * skew, and its nonce must be remembered that long. */
	struct dgram k = knock_of(ADMIN, NOW + IPG_KNOCK_SKEW_S, 1);

	gate_reset();
	ASSERT_STR(judge(&k, ADMIN, NOW), "granted");
	ASSERT_STR(judge(&k, ADMIN, NOW + 1), "replayed");
	ASSERT_STR(judge(&k, ADMIN, NOW + 2 * IPG_KNOCK_SKEW_S), "replayed");
	ASSERT_STR(judge(&k, ADMIN, NOW + 2 * IPG_KNOCK_SKEW_S + 1), "stale");
}

TEST(test_knock_timestamp_window_is_60s_either_way)
{
	struct dgram a = knock_of(ADMIN, NOW - 59, 1),
		     b = knock_of(ADMIN, NOW - 61, 2),
		     c = knock_of(ADMIN, NOW + 59, 3),
		     e = knock_of(ADMIN, NOW + 61, 4);

	gate_reset();
	ASSERT_EQ(IPG_KNOCK_SKEW_S, 60);
	ASSERT_STR(judge(&a, ADMIN, NOW), "granted");
	ASSERT_STR(judge(&b, ADMIN, NOW), "stale");
	ASSERT_STR(judge(&c, ADMIN, NOW), "granted");
	ASSERT_STR(judge(&e, ADMIN, NOW), "stale");
}

TEST(test_knock_timestamp_exactly_60s_off_is_still_fresh)
{
	/* "More than 60 s off" is stale: 60 s itself is inside. */
	struct dgram a = knock_of(ADMIN, NOW - 60, 1),
		     b = knock_of(ADMIN, NOW + 60, 2);

	gate_reset();
	ASSERT_STR(judge(&a, ADMIN, NOW), "granted");
	ASSERT_STR(judge(&b, ADMIN, NOW), "granted");
}

TEST(test_knock_rate_limit_counts_grants_per_source_per_window)
{
	struct dgram k;
	unsigned n = 0;

	gate_reset();
	for (int i = 0; i < IPG_KNOCK_RATE_MAX; i++) {
		k = knock_of(ADMIN, NOW, ++n);
		ASSERT_STR(judge(&k, ADMIN, NOW), "granted");
	}
	k = knock_of(ADMIN, NOW, ++n);
	ASSERT_STR(judge(&k, ADMIN, NOW + IPG_KNOCK_RATE_WINDOW_S - 1),
		   "rate_limited");
	/* Another source has its own allowance. */
	struct dgram o = knock_of(OTHER, NOW, ++n);

	ASSERT_STR(judge(&o, OTHER, NOW), "granted");
	/* A refused knock's nonce is not spent: the same datagram passes
	 * in the next window. */
	ASSERT_STR(judge(&k, ADMIN, NOW + IPG_KNOCK_RATE_WINDOW_S), "granted");
}

TEST(test_knock_full_nonce_cache_refuses_rather_than_forgets)
{
	char src[32];
	struct dgram k;

	gate_reset();
	for (unsigned i = 0; i < IPG_KNOCK_REPLAY_MAX; i++) {
		snprintf(src, sizeof(src), "198.18.%u.%u", i / 250,
			 1 + i % 250);
		k = knock_of(src, NOW, i);
		ASSERT_STR(judge(&k, src, NOW), "granted");
	}
	k = knock_of(ADMIN, NOW, IPG_KNOCK_REPLAY_MAX);
	ASSERT_STR(judge(&k, ADMIN, NOW), "replayed");
	/* Room again only once the knocks remembered can no longer pass. */
	k = knock_of(ADMIN, NOW + 2 * IPG_KNOCK_SKEW_S, IPG_KNOCK_REPLAY_MAX);
	ASSERT_STR(judge(&k, ADMIN, NOW + 2 * IPG_KNOCK_SKEW_S), "replayed");
	ASSERT_STR(judge(&k, ADMIN, NOW + 2 * IPG_KNOCK_SKEW_S + 1), "granted");
}

static int seen_count(void)
{
	int n = 0;

	for (int i = 0; i < IPG_KNOCK_REPLAY_MAX; i++)
		n += gate.seen[i].when != 0;
	return n;
}

/* A restart must not forget granted nonces: saved, read back, the same
 * knock is a replay; records past the keep time are dropped; a broken file
 * is an error naming the line. */
TEST(test_knock_granted_nonces_survive_a_restart)
{
	char path[] = "/tmp/ipgate-nonces-XXXXXX";
	struct dgram real = knock_of(ADMIN, NOW, 7);
	struct ipg_error e = { { 0 } };
	int fd = mkstemp(path);
	FILE *f;

	ASSERT_TRUE(fd >= 0);
	close(fd);
	gate_reset();
	ASSERT_STR(judge(&real, ADMIN, NOW), "granted");
	ASSERT_OK(ipg_knock_gate_save(&gate, NOW + 1, path));
	gate_reset(); /* the restart */
	ASSERT_OK(ipg_knock_gate_load(&gate, NOW + 2, path, &e));
	ASSERT_STR(judge(&real, ADMIN, NOW + 3), "replayed");
	ASSERT_EQ(seen_count(), 1);
	/* Loaded after the keep time (120 s): the record is dropped. */
	gate_reset();
	ASSERT_OK(ipg_knock_gate_load(&gate, NOW + 500, path, &e));
	ASSERT_EQ(seen_count(), 0);
	f = fopen(path, "a");
	ASSERT_TRUE(f != NULL);
	fputs("12 not-hex\n", f);
	fclose(f);
	ASSERT_EQ(ipg_knock_gate_load(&gate, NOW, path, &e), -EBADMSG);
	ASSERT_TRUE(strstr(e.msg, ":3: not a nonce record") != NULL);
	unlink(path);
	ASSERT_OK(ipg_knock_gate_load(&gate, NOW, path, &e)); /* missing */
}

TEST(test_knock_grant_length_defaults_and_cap)
{
	struct ipg_knock k = { .duration_s = 0 };

	ASSERT_EQ(ipg_knock_grant_seconds(&k), IPG_GRANT_DEFAULT_S);
	k.duration_s = 3;
	ASSERT_EQ(ipg_knock_grant_seconds(&k), 3);
	k.duration_s = IPG_GRANT_MAX_S + 1;
	ASSERT_EQ(ipg_knock_grant_seconds(&k), IPG_GRANT_MAX_S);
}

/* The key pasted into the break-glass page, by verdict name. */
static const char *judge_text(const char *text, const char *from, uint64_t now)
{
	char id[IPG_KNOCK_ID_MAX + 1];
	struct ipg_prefix src;

	ipg_addr_parse(from, &src, NULL);
	return ipg_knock_verdict_name(ipg_knock_judge_key(
		&gate, now, text, &src, alice_key, NULL, id));
}

TEST(test_knock_pasted_key_granted_only_for_the_stored_key_and_limited)
{
	char good[160], other[160], bob[160];
	uint8_t wrong[IPG_KNOCK_KEY_BYTES] = { 9 };

	gate_reset();
	ipg_knock_key_format("alice", key, good, sizeof(good));
	ipg_knock_key_format("alice", wrong, other, sizeof(other));
	ipg_knock_key_format("bob", key, bob, sizeof(bob));
	ASSERT_STR(judge_text("", ADMIN, NOW), "malformed");
	ASSERT_STR(judge_text("alice", ADMIN, NOW), "malformed");
	ASSERT_STR(judge_text(bob, ADMIN, NOW), "unknown_key");
	ASSERT_STR(judge_text(other, ADMIN, NOW), "bad_mac");
	/* Refusals use up none of the source's grants. */
	for (int i = 0; i < IPG_KNOCK_RATE_MAX; i++)
		ASSERT_STR(judge_text(good, ADMIN, NOW), "granted");
	ASSERT_STR(judge_text(good, ADMIN, NOW), "rate_limited");
	ASSERT_STR(judge_text(good, OTHER, NOW), "granted");
	ASSERT_STR(judge_text(good, ADMIN, NOW + IPG_KNOCK_RATE_WINDOW_S),
		   "granted");
	/* Pasted with the newline a copy often brings. */
	strcat(good, "\n");
	ASSERT_STR(judge_text(good, OTHER, NOW), "granted");
}

int main(int argc, char **argv)
{
	return harness_main("unit/knock", argc, argv, NULL, NULL);
}
