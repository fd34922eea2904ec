/* SPDX-License-Identifier: GPL-2.0 */
/* The audit log: one JSON object a line, appended and fsynced, each line
 * carrying the SHA-256 of the one before so edits, drops and reorders show;
 * each record's seq and hash also go to the journal, which anchors the chain
 * off the host. What that proves and what not: README, "The audit log". */
#ifndef IPGATE_AUDIT_H
#define IPGATE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "anchors.h"
#include "log.h"

#define IPG_AUDIT_DEFAULT "/var/log/ipgate/audit.jsonl"

/* The SHA-256 of @n bytes at @s in hex, as the chain's hashes are (the
 * HTTP API's tokens are kept so too); 0 or -EIO. */
int ipg_audit_sha256(const char *s, size_t n, char out[IPG_HASH_HEX]);

struct ipg_actor {
	uid_t uid;
	pid_t pid;
	const char *user; /* may be NULL: looked up from uid */
	const char *client; /* client address, or NULL */
};

#define IPG_AUDIT_ROTATE_DEFAULT (10u << 20)
#define IPG_AUDIT_KEEP_DEFAULT 5
#define IPG_AUDIT_KEEP_MAX 1000

/* Called once a record is on disk, with the log's path and the record's
 * seq, hash and action, to anchor it somewhere root on this host cannot
 * rewrite. Returns 0 or a negative errno (the append still succeeds). */
typedef int (*ipg_audit_anchor_fn)(void *arg, const char *log, uint64_t seq,
				   const char *hash, const char *action);

struct ipg_audit_opts {
	uint64_t rotate_size; /* rotate once the log reaches it; 0: never */
	unsigned keep; /* rotated files kept, gzip-compressed */
	const char *head_path; /* where the last record's seq and hash are
				* kept, so a truncated tail shows; or NULL */
	ipg_audit_anchor_fn anchor; /* or NULL: records are not anchored */
	void *anchor_arg;
};

struct ipg_audit {
	int fd, head_fd;
	char *path;
	struct ipg_audit_opts opts;
	uint64_t size; /* of the current file */
	uint64_t seq; /* of the last line written */
	uint64_t first_seq; /* of the oldest record kept */
	/* Set by open when the head file names a record the log no longer
	 * ends with (a cut or edited tail): that record's seq. The owner
	 * should write an audit record about it. */
	uint64_t head_mismatch;
	/* Set by open when the log has records but the head file is missing
	 * (-ENOENT), empty (-ENODATA), not a head record (-EBADMSG) or
	 * unreadable: a cut tail can no longer be excluded. The owner should
	 * write an audit record about it (ipg_audit_note_open). */
	int head_lost;
	int anchor_err; /* the last anchor's result, to warn once a change */
	char last_hash[IPG_HASH_HEX]; /* of the last line, or all zeros */
};

/* Opens (creating, mode 0640) the log at @path and continues its chain from
 * its last record (in the newest rotated file when the current one is
 * empty). Finishes a rotation that was cut short. @opts may be NULL. */
int ipg_audit_open(struct ipg_audit *a, const char *path,
		   const struct ipg_audit_opts *opts, struct ipg_error *e);
void ipg_audit_close(struct ipg_audit *a);

/* Appends, as @who, the records the open asked for: "audit-tail-lost" when
 * the log no longer ends with the record the head names, "audit-head-lost"
 * when the log has records but no readable head (the append writes a new
 * head). Nothing when neither happened. */
int ipg_audit_note_open(struct ipg_audit *a, const struct ipg_actor *who,
			struct ipg_error *e);

/* Appends one record; @before and @after are JSON values (or NULL for
 * null). Returns after the line is on disk. Its "list" is null. */
int ipg_audit_append(struct ipg_audit *a, const struct ipg_actor *who,
		     const char *action, const char *before, const char *after,
		     struct ipg_error *e);
/* The same for a change to the @n lists @lists: "list" is the name when
 * @n is 1, an array of the names when more, null when 0. */
int ipg_audit_append_lists(struct ipg_audit *a, const struct ipg_actor *who,
			   const char *action, const char *const *lists, int n,
			   const char *before, const char *after,
			   struct ipg_error *e);
/* The same for one list @list; NULL or "": none (null). */
int ipg_audit_append_list(struct ipg_audit *a, const struct ipg_actor *who,
			  const char *action, const char *list,
			  const char *before, const char *after,
			  struct ipg_error *e);
/* Whether record @line (its "list") concerns list @name. */
bool ipg_audit_record_of(const char *line, const char *name);

/* Moves the current file to @path.1.gz (older ones shift up, beyond
 * opts.keep are removed) and starts an empty one; the chain continues.
 * Append calls it when the log reaches opts.rotate_size. */
int ipg_audit_rotate(struct ipg_audit *a, struct ipg_error *e);

struct ipg_audit_report {
	uint64_t lines; /* records checked */
	uint64_t first_seq; /* > 1 when older files were rotated away */
	uint64_t last_seq;
	unsigned files;
	int head_checked; /* the head record was present and compared */
	/* Records saying the head or the tail was lost at a start: a cut
	 * before each cannot be excluded without anchors. */
	uint64_t lost, last_lost_seq;
	/* Against anchors: how many named a record kept and matched it, the
	 * newest such record, and how many named records rotated away. */
	uint64_t anchors_matched, anchors_newest, anchors_rotated;
};

/* Walks the log and its rotated files, oldest first. Returns 0 when every
 * line's hash and link hold and the last record is the one the head file
 * names, else -EBADMSG naming the first problem (file and line). With
 * @head_path, a missing or unreadable head fails too: without it a cut
 * tail cannot be excluded. */
int ipg_audit_verify(const char *path, const char *head_path,
		     struct ipg_audit_report *rep, struct ipg_error *e);
/* The same, and every anchor in @anchors (NULL: none) that names a record
 * the log keeps must match it; one naming a record past the end fails
 * too. The error names the first record that differs. -ENODATA when no
 * anchor names a record the log keeps (nothing could be compared). */
int ipg_audit_verify_anchored(const char *path, const char *head_path,
			      const struct ipg_anchors *anchors,
			      struct ipg_audit_report *rep,
			      struct ipg_error *e);

/* Calls @fn for every record, oldest first, across rotated files; stops at
 * the first non-zero return, which it returns. */
int ipg_audit_each(const char *path,
		   int (*fn)(const char *line, size_t len, void *arg),
		   void *arg);

#endif
