/* SPDX-License-Identifier: GPL-2.0 */
/* The audit log: one JSON object a line, appended and fsynced, each line
 * carrying the SHA-256 of the one before so edits, drops and reorders show. */
#ifndef IPGATE_AUDIT_H
#define IPGATE_AUDIT_H

#include <stdint.h>
#include <sys/types.h>

#include "log.h"

#define IPG_AUDIT_DEFAULT "/var/log/ipgate/audit.jsonl"
#define IPG_HASH_HEX 65

struct ipg_actor {
	uid_t uid;
	pid_t pid;
	const char *user;   /* may be NULL: looked up from uid */
	const char *client; /* client address, or NULL */
};

struct ipg_audit {
	int fd;
	uint64_t seq;                /* of the last line written */
	char last_hash[IPG_HASH_HEX]; /* of the last line, or all zeros */
};

/* Opens (creating, mode 0640) the log at @path and continues its chain. */
int ipg_audit_open(struct ipg_audit *a, const char *path, struct ipg_error *e);
void ipg_audit_close(struct ipg_audit *a);

/* Appends one record; @before and @after are JSON values (or NULL for
 * null). Returns after the line is on disk. */
int ipg_audit_append(struct ipg_audit *a, const struct ipg_actor *who,
		     const char *action, const char *before, const char *after,
		     struct ipg_error *e);

/* Walks the whole log; returns 0 and the number of lines when every line's
 * hash and link hold, else -EBADMSG naming the first bad line. */
int ipg_audit_verify(const char *path, uint64_t *lines, struct ipg_error *e);

#endif
