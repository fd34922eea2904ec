/* SPDX-License-Identifier: GPL-2.0 */
/* Journal anchors of the audit chain: each record's seq and hash sent to
 * journald as structured fields, and read back from journalctl's output so
 * a verify can compare the log with what left the host. */
#ifndef IPGATE_ANCHORS_H
#define IPGATE_ANCHORS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "journal.h"
#include "log.h"

#define IPG_HASH_HEX 65
/* The anchors one request carries: the newest pin every record before
 * them, so older ones only help name where a rewrite starts. */
#define IPG_ANCHORS_SEND_MAX 10000

/* Sends one journal entry (the native protocol, to the socket at @arg, or
 * IPG_JOURNAL_SOCKET when NULL) with the fields IPGATE_AUDIT_SEQ,
 * IPGATE_AUDIT_HASH, IPGATE_AUDIT_ACTION, IPGATE_AUDIT_LOG and a MESSAGE.
 * Returns 0 or a negative errno (-ENOENT, -ECONNREFUSED without journald).
 * Fits ipg_audit_anchor_fn. */
int ipg_journal_anchor(void *arg, const char *log, uint64_t seq,
		       const char *hash, const char *action);

/* One record's seq and hash as the journal received them. */
struct ipg_anchor {
	uint64_t seq;
	char hash[IPG_HASH_HEX];
};

struct ipg_anchors {
	struct ipg_anchor *v; /* by seq, then hash; no duplicates */
	size_t n, cap;
	char *log; /* the log they anchor (IPGATE_AUDIT_LOG), or NULL */
	uint64_t entries; /* entries read, with or without an anchor */
};

/* Adds the anchors in @text (@len bytes): what `journalctl -o json` (also
 * json-seq and json-pretty) or `journalctl -o export` prints, or the
 * compact form of ipg_anchors_encode. Entries without IPGATE_AUDIT_SEQ are
 * skipped. Fails with -EBADMSG naming the entry on malformed input or
 * anchors for two different logs, and with -ENODATA when there is no
 * anchor at all. @name is where @text came from, for messages. */
int ipg_anchors_parse(struct ipg_anchors *s, const char *text, size_t len,
		      const char *name, struct ipg_error *e);
/* Appends the newest @max anchors to @out in the compact form; returns how
 * many older ones it left out. */
size_t ipg_anchors_encode(const struct ipg_anchors *s, size_t max,
			  struct ipg_buf *out);
void ipg_anchors_free(struct ipg_anchors *s);

#endif
