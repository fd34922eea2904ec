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
