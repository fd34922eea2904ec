// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "knock.h"

/* Wire form, all integers big-endian:
 *   "IPGK" | version 1 | id length | id | family (4/6) | address (16) |
 *   duration s (4) | timestamp (8) | nonce (16) | HMAC-SHA256 of all before (32)
 */
#define MAGIC "IPGK"
#define VERSION 1
#define KEY_TAG "ipgate-breakglass-1"

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int mac(const uint8_t *buf, size_t len,
	       const uint8_t key[IPG_KNOCK_KEY_BYTES],
	       uint8_t out[IPG_KNOCK_MAC_BYTES])
{
	unsigned int n = 0;

	return HMAC(EVP_sha256(), key, IPG_KNOCK_KEY_BYTES, buf, len, out,
		    &n) && n == IPG_KNOCK_MAC_BYTES ?
		       0 :
		       -EIO;
}

size_t ipg_knock_encode(const struct ipg_knock *k,
			const uint8_t key[IPG_KNOCK_KEY_BYTES], uint8_t *buf,
			size_t cap)
{
	size_t idlen = strlen(k->key_id), n = 0;

	if (!ipg_knock_id_valid(k->key_id) || cap < IPG_KNOCK_MAX_LEN)
		return 0;
	memcpy(buf, MAGIC, 4);
	n = 4;
	buf[n++] = VERSION;
	buf[n++] = (uint8_t)idlen;
	memcpy(buf + n, k->key_id, idlen);
	n += idlen;
	buf[n++] = k->source.family;
	memset(buf + n, 0, 16);
	memcpy(buf + n, k->source.addr, k->source.family == 4 ? 4 : 16);
	n += 16;
	put_be(buf + n, k->duration_s, 4);
	n += 4;
	put_be(buf + n, k->timestamp, 8);
	n += 8;
	memcpy(buf + n, k->nonce, IPG_KNOCK_NONCE_BYTES);
	n += IPG_KNOCK_NONCE_BYTES;
	if (mac(buf, n, key, buf + n))
		return 0;
	return n + IPG_KNOCK_MAC_BYTES;
}

int ipg_knock_decode(const uint8_t *buf, size_t len, struct ipg_knock *k)
{
	size_t idlen, n;

	memset(k, 0, sizeof(*k));
	if (len < 6 || memcmp(buf, MAGIC, 4) || buf[4] != VERSION)
		return -EBADMSG;
	idlen = buf[5];
	if (idlen < 1 || idlen > IPG_KNOCK_ID_MAX ||
	    len != 6 + idlen + 1 + 16 + 4 + 8 + IPG_KNOCK_NONCE_BYTES +
			    IPG_KNOCK_MAC_BYTES)
		return -EBADMSG;
	memcpy(k->key_id, buf + 6, idlen);
	if (!ipg_knock_id_valid(k->key_id))
		return -EBADMSG;
	n = 6 + idlen;
	k->source.family = buf[n++];
	if (k->source.family != 4 && k->source.family != 6)
		return -EBADMSG;
	memcpy(k->source.addr, buf + n, k->source.family == 4 ? 4 : 16);
	if (k->source.family == 4 &&
	    get_be(buf + n + 4, 8) | get_be(buf + n + 12, 4))
		return -EBADMSG;
	k->source.len = (uint8_t)ipg_prefix_maxlen(&k->source);
	n += 16;
	k->duration_s = (uint32_t)get_be(buf + n, 4);
	n += 4;
	k->timestamp = get_be(buf + n, 8);
	n += 8;
	memcpy(k->nonce, buf + n, IPG_KNOCK_NONCE_BYTES);
	return 0;
}

int ipg_knock_mac_ok(const uint8_t *buf, size_t len,
		     const uint8_t key[IPG_KNOCK_KEY_BYTES])
{
	uint8_t want[IPG_KNOCK_MAC_BYTES];

	if (len < IPG_KNOCK_MAC_BYTES ||
	    mac(buf, len - IPG_KNOCK_MAC_BYTES, key, want))
		return 0;
	return CRYPTO_memcmp(want, buf + len - IPG_KNOCK_MAC_BYTES,
			     IPG_KNOCK_MAC_BYTES) == 0;
}

int ipg_knock_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n < 1 || n > IPG_KNOCK_ID_MAX || *id == '.')
		return 0;
	for (; *id; id++)
		if (!isalnum((unsigned char)*id) && !strchr("_.-", *id))
			return 0;
	return 1;
}

void ipg_knock_key_format(const char *id,
			  const uint8_t key[IPG_KNOCK_KEY_BYTES], char *out,
			  size_t size)
{
	int n = snprintf(out, size, KEY_TAG " %s ", id);

	for (int i = 0;
	     i < IPG_KNOCK_KEY_BYTES && n > 0 && (size_t)n + 3 < size; i++)
		n += snprintf(out + n, size - (size_t)n, "%02x", key[i]);
}

int ipg_knock_key_parse(const char *text, char id[IPG_KNOCK_ID_MAX + 1],
			uint8_t key[IPG_KNOCK_KEY_BYTES], struct ipg_error *e)
{
	char tag[32], hex[2 * IPG_KNOCK_KEY_BYTES + 2], extra[2];

	if (sscanf(text, "%31s %32s %65s %1s", tag, id, hex, extra) != 3 ||
	    strcmp(tag, KEY_TAG) || !ipg_knock_id_valid(id) ||
	    strlen(hex) != 2 * IPG_KNOCK_KEY_BYTES)
		return ipg_fail(e, -EINVAL,
				"not a break-glass key; expected \"" KEY_TAG
				" ID HEX\" as printed by "
				"'ipgate breakglass keygen'");
	for (int i = 0; i < IPG_KNOCK_KEY_BYTES; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return ipg_fail(e, -EINVAL,
					"break-glass key: bad hex "
					"digits");
		key[i] = (uint8_t)v;
	}
	return 0;
}
