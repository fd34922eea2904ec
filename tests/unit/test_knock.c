// SPDX-License-Identifier: GPL-2.0
/* Break-glass knocks: the wire form round-trips, any flipped bit or another
 * key fails the MAC, malformed datagrams and keys are refused. */
#include <errno.h>

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

int main(int argc, char **argv)
{
	return harness_main("unit/knock", argc, argv, NULL, NULL);
}
