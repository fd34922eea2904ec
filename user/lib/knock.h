/* SPDX-License-Identifier: GPL-2.0 */
/* Break-glass knocks: one UDP datagram that proves possession of an
 * onboarding key and names the address to let in. Both ends live here. */
#ifndef IPGATE_KNOCK_H
#define IPGATE_KNOCK_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "prefix.h"

#define IPG_KNOCK_KEY_BYTES 32
#define IPG_KNOCK_ID_MAX 32
#define IPG_KNOCK_NONCE_BYTES 16
#define IPG_KNOCK_MAC_BYTES 32
/* A knock's timestamp may differ from the receiver's clock by this much. */
#define IPG_KNOCK_SKEW_S 60
#define IPG_KNOCK_MAX_LEN                                \
	(4 + 1 + 1 + IPG_KNOCK_ID_MAX + 1 + 16 + 4 + 8 + \
	 IPG_KNOCK_NONCE_BYTES + IPG_KNOCK_MAC_BYTES)
#define IPG_GRANT_DEFAULT_S (15 * 60)
#define IPG_GRANT_MAX_S (60 * 60)

struct ipg_knock {
	char key_id[IPG_KNOCK_ID_MAX + 1];
	struct ipg_prefix source; /* the address to let in: /32 or /128 */
	uint32_t duration_s;
	uint64_t timestamp; /* Unix seconds */
	uint8_t nonce[IPG_KNOCK_NONCE_BYTES];
};

/* Writes the datagram, MAC included, into @buf; returns its length or 0. */
size_t ipg_knock_encode(const struct ipg_knock *k,
			const uint8_t key[IPG_KNOCK_KEY_BYTES], uint8_t *buf,
			size_t cap);
/* Parses a datagram without checking its MAC; -EBADMSG when it is not a
 * well-formed knock. */
int ipg_knock_decode(const uint8_t *buf, size_t len, struct ipg_knock *k);
/* Whether the datagram's MAC is right under @key (constant time). */
int ipg_knock_mac_ok(const uint8_t *buf, size_t len,
		     const uint8_t key[IPG_KNOCK_KEY_BYTES]);

/* The receiver's decision on one datagram, in the order the checks run.
 * Only a knock that passes them all changes any state (its nonce is recorded
 * and the grant counted against its source), so junk, replays and copies
 * sent from other addresses never use up an honest source's allowance or
 * burn its nonce. */
enum ipg_knock_verdict {
	IPG_KNOCK_GRANTED,
	IPG_KNOCK_MALFORMED,
	IPG_KNOCK_UNKNOWN_KEY,
	IPG_KNOCK_BAD_MAC,
	IPG_KNOCK_STALE, /* timestamp more than IPG_KNOCK_SKEW_S off */
	IPG_KNOCK_REPLAYED, /* nonce of a knock already granted */
	IPG_KNOCK_WRONG_SOURCE, /* sent from another address than it names */
	IPG_KNOCK_RATE_LIMITED, /* too many grants for this source */
};
const char *ipg_knock_verdict_name(enum ipg_knock_verdict v);

#define IPG_KNOCK_REPLAY_MAX 4096
#define IPG_KNOCK_RATE_SLOTS 1024
#define IPG_KNOCK_RATE_WINDOW_S 10
/* Grants one source may obtain per window. */
#define IPG_KNOCK_RATE_MAX 10

/* The receiver's memory: nonces of granted knocks, kept while a knock with
 * that nonce could still be in its time window, and each source's grants in
 * the current window. All zero is a valid empty state. */
struct ipg_knock_seen {
	uint8_t nonce[IPG_KNOCK_NONCE_BYTES];
	uint64_t when; /* Unix seconds; 0: free slot */
};
struct ipg_knock_rate {
	struct ipg_prefix addr;
	uint64_t start; /* of the window */
	uint32_t n; /* grants in it */
};
struct ipg_knock_gate {
	struct ipg_knock_seen seen[IPG_KNOCK_REPLAY_MAX];
	struct ipg_knock_rate rate[IPG_KNOCK_RATE_SLOTS];
};

/* Fills @key for key id @id; 0 when the key exists, else negative errno. */
typedef int (*ipg_knock_key_fn)(void *ctx, const char *id,
				uint8_t key[IPG_KNOCK_KEY_BYTES]);

/* Judges datagram @buf, received at Unix time @now (> 0) from @from, with
 * keys from @key_of. On IPG_KNOCK_GRANTED the nonce is recorded and the grant
 * counted against @from; the caller then grants @k->source (== @from) for
 * ipg_knock_grant_seconds(@k). @k is filled when the datagram decodes. */
enum ipg_knock_verdict ipg_knock_judge(struct ipg_knock_gate *g, uint64_t now,
				       const uint8_t *buf, size_t len,
				       const struct ipg_prefix *from,
				       ipg_knock_key_fn key_of, void *ctx,
				       struct ipg_knock *k);
/* Judges a key pasted into the break-glass page over a TCP connection from
 * @from (the handshake proves the address, so no timestamp or nonce): the
 * key's text as keygen printed it, the same keys as a knock (@key_of, so a
 * revoked key is unknown), and the same grants-per-source limit. Returns
 * IPG_KNOCK_MALFORMED, _UNKNOWN_KEY, _BAD_MAC (another key under that id),
 * _RATE_LIMITED or _GRANTED; @id is filled when the text parses. */
enum ipg_knock_verdict ipg_knock_judge_key(struct ipg_knock_gate *g,
					   uint64_t now, const char *text,
					   const struct ipg_prefix *from,
					   ipg_knock_key_fn key_of, void *ctx,
					   char id[IPG_KNOCK_ID_MAX + 1]);
/* The nonces of granted knocks outlive the daemon: saved after each grant
 * (atomically, 0600) and read back at start, so a knock captured from the
 * wire cannot be replayed within its window across a restart. A missing
 * file is an empty memory; a malformed one is an error (-EBADMSG) naming
 * the line. */
int ipg_knock_gate_save(const struct ipg_knock_gate *g, uint64_t now,
			const char *path);
int ipg_knock_gate_load(struct ipg_knock_gate *g, uint64_t now,
			const char *path, struct ipg_error *e);
/* How long a granted knock opens for: its duration, 0 meaning the default,
 * capped at IPG_GRANT_MAX_S. */
uint32_t ipg_knock_grant_seconds(const struct ipg_knock *k);

/* A key id: 1 to 32 of [A-Za-z0-9_.-], not starting with a dot. */
int ipg_knock_id_valid(const char *id);
/* The text form of a key, as printed once by keygen and read by knock:
 * "ipgate-breakglass-1 ID HEX". */
void ipg_knock_key_format(const char *id,
			  const uint8_t key[IPG_KNOCK_KEY_BYTES], char *out,
			  size_t size);
int ipg_knock_key_parse(const char *text, char id[IPG_KNOCK_ID_MAX + 1],
			uint8_t key[IPG_KNOCK_KEY_BYTES], struct ipg_error *e);

#endif
