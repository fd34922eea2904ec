// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ipgate/policy.h"
#include "knock.h"
#include "buf.h"

/* A grant's key id fits the grant map's value. */
_Static_assert(IPG_KNOCK_ID_MAX == IPG_GRANT_KEY_ID_MAX, "key id length");

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

const char *ipg_knock_verdict_name(enum ipg_knock_verdict v)
{
	static const char *const names[] = {
		[IPG_KNOCK_GRANTED] = "granted",
		[IPG_KNOCK_MALFORMED] = "malformed",
		[IPG_KNOCK_UNKNOWN_KEY] = "unknown_key",
		[IPG_KNOCK_BAD_MAC] = "bad_mac",
		[IPG_KNOCK_STALE] = "stale",
		[IPG_KNOCK_REPLAYED] = "replayed",
		[IPG_KNOCK_WRONG_SOURCE] = "wrong_source",
		[IPG_KNOCK_RATE_LIMITED] = "rate_limited",
	};

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

/* A nonce is kept while a copy of its knock could still pass the timestamp
 * check: the knock's timestamp was within the skew of the time it was
 * granted, and a copy passes only within the skew of that timestamp. */
#define NONCE_KEEP_S (2 * IPG_KNOCK_SKEW_S)

/* Whether @nonce belongs to a knock granted within NONCE_KEEP_S; forgets
 * older nonces on the way. @free_slot gets a reusable slot, or -1. */
static int nonce_seen(struct ipg_knock_gate *g, const uint8_t *nonce,
		      uint64_t now, int *free_slot)
{
	*free_slot = -1;
	for (int i = 0; i < IPG_KNOCK_REPLAY_MAX; i++) {
		struct ipg_knock_seen *s = &g->seen[i];

		if (s->when && s->when + NONCE_KEEP_S < now)
			s->when = 0;
		if (!s->when) {
			if (*free_slot < 0)
				*free_slot = i;
			continue;
		}
		if (!memcmp(s->nonce, nonce, IPG_KNOCK_NONCE_BYTES))
			return 1;
	}
	return 0;
}

/* @from's slot in the rate table, restarted when it held another source or
 * its window is over. */
static struct ipg_knock_rate *
rate_slot(struct ipg_knock_gate *g, const struct ipg_prefix *from, uint64_t now)
{
	uint32_t h = 2166136261u;
	struct ipg_knock_rate *r;

	for (int i = 0; i < 16; i++)
		h = (h ^ from->addr[i]) * 16777619u;
	h = (h ^ from->family) * 16777619u;
	r = &g->rate[h % IPG_KNOCK_RATE_SLOTS];
	if (!ipg_prefix_equal(&r->addr, from) ||
	    now - r->start >= IPG_KNOCK_RATE_WINDOW_S) {
		r->addr = *from;
		r->start = now;
		r->n = 0;
	}
	return r;
}

enum ipg_knock_verdict ipg_knock_judge(struct ipg_knock_gate *g, uint64_t now,
				       const uint8_t *buf, size_t len,
				       const struct ipg_prefix *from,
				       ipg_knock_key_fn key_of, void *ctx,
				       struct ipg_knock *k)
{
	uint8_t key[IPG_KNOCK_KEY_BYTES];
	int ok, slot;

	if (ipg_knock_decode(buf, len, k))
		return IPG_KNOCK_MALFORMED;
	if (key_of(ctx, k->key_id, key))
		return IPG_KNOCK_UNKNOWN_KEY;
	ok = ipg_knock_mac_ok(buf, len, key);
	explicit_bzero(key, sizeof(key));
	if (!ok)
		return IPG_KNOCK_BAD_MAC;
	/* From here on the datagram was made by a key holder, but it may be
	 * a copy sent by anyone: still nothing is recorded until every check
	 * has passed. */
	if (k->timestamp + IPG_KNOCK_SKEW_S < now ||
	    k->timestamp > now + IPG_KNOCK_SKEW_S)
		return IPG_KNOCK_STALE;
	/* A full table also refuses: forgetting a live nonce would let its
	 * knock be replayed. */
	if (nonce_seen(g, k->nonce, now, &slot) || slot < 0)
		return IPG_KNOCK_REPLAYED;
	if (!ipg_prefix_equal(&k->source, from))
		return IPG_KNOCK_WRONG_SOURCE;
	if (++rate_slot(g, from, now)->n > IPG_KNOCK_RATE_MAX)
		return IPG_KNOCK_RATE_LIMITED;
	memcpy(g->seen[slot].nonce, k->nonce, IPG_KNOCK_NONCE_BYTES);
	g->seen[slot].when = now;
	return IPG_KNOCK_GRANTED;
}

enum ipg_knock_verdict ipg_knock_judge_key(struct ipg_knock_gate *g,
					   uint64_t now, const char *text,
					   const struct ipg_prefix *from,
					   ipg_knock_key_fn key_of, void *ctx,
					   char id[IPG_KNOCK_ID_MAX + 1])
{
	uint8_t given[IPG_KNOCK_KEY_BYTES], key[IPG_KNOCK_KEY_BYTES];
	enum ipg_knock_verdict v = IPG_KNOCK_GRANTED;

	*id = '\0';
	if (ipg_knock_key_parse(text, id, given, NULL)) {
		*id = '\0';
		v = IPG_KNOCK_MALFORMED;
	} else if (key_of(ctx, id, key)) {
		v = IPG_KNOCK_UNKNOWN_KEY;
	} else if (CRYPTO_memcmp(given, key, sizeof(key))) {
		v = IPG_KNOCK_BAD_MAC;
	} else if (++rate_slot(g, from, now)->n > IPG_KNOCK_RATE_MAX) {
		v = IPG_KNOCK_RATE_LIMITED;
	}
	explicit_bzero(given, sizeof(given));
	explicit_bzero(key, sizeof(key));
	return v;
}

int ipg_knock_gate_save(const struct ipg_knock_gate *g, uint64_t now,
			const char *path)
{
	struct ipg_buf b = { 0 };
	int r;

	ipg_buf_printf(&b, "ipgate-nonces-1\n");
	for (int i = 0; i < IPG_KNOCK_REPLAY_MAX; i++) {
		const struct ipg_knock_seen *s = &g->seen[i];

		if (!s->when || s->when + NONCE_KEEP_S < now)
			continue;
		ipg_buf_printf(&b, "%" PRIu64 " ", s->when);
		for (int j = 0; j < IPG_KNOCK_NONCE_BYTES; j++)
			ipg_buf_printf(&b, "%02x", s->nonce[j]);
		ipg_buf_printf(&b, "\n");
	}
	r = b.oom ? -ENOMEM : ipg_write_atomic(path, b.s, b.len, 0600);
	ipg_buf_free(&b);
	return r;
}

int ipg_knock_gate_load(struct ipg_knock_gate *g, uint64_t now,
			const char *path, struct ipg_error *e)
{
	char line[128], hex[2 * IPG_KNOCK_NONCE_BYTES + 1];
	FILE *f = fopen(path, "re");
	int n = 0, lineno = 1, r = 0;
	uint64_t when;

	if (!f)
		return errno == ENOENT ?
			       0 :
			       ipg_fail(e, -errno, "cannot read %s: %s", path,
					strerror(errno));
	if (!fgets(line, sizeof(line), f) || strcmp(line, "ipgate-nonces-1\n"))
		r = ipg_fail(e, -EBADMSG, "%s: not an ipgate nonce file", path);
	while (!r && fgets(line, sizeof(line), f)) {
		lineno++;
		if (sscanf(line, "%" SCNu64 " %32[0-9a-f]", &when, hex) != 2 ||
		    strlen(hex) != 2 * IPG_KNOCK_NONCE_BYTES ||
		    n >= IPG_KNOCK_REPLAY_MAX) {
			r = ipg_fail(e, -EBADMSG, "%s:%d: not a nonce record",
				     path, lineno);
			break;
		}
		if (when + NONCE_KEEP_S < now)
			continue;
		for (int j = 0; j < IPG_KNOCK_NONCE_BYTES; j++)
			sscanf(hex + 2 * j, "%2hhx", &g->seen[n].nonce[j]);
		g->seen[n++].when = when;
	}
	fclose(f);
	return r;
}

uint32_t ipg_knock_grant_seconds(const struct ipg_knock *k)
{
	if (!k->duration_s)
		return IPG_GRANT_DEFAULT_S;
	return k->duration_s > IPG_GRANT_MAX_S ? IPG_GRANT_MAX_S :
						 k->duration_s;
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
