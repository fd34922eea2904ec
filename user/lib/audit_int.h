/* SPDX-License-Identifier: GPL-2.0 */
/* The audit log's record format and file walk, shared by the writer
 * (audit.c) and the verifier (audit_verify.c); not part of libipgate's
 * interface (audit.h is). */
#ifndef IPGATE_AUDIT_INT_H
#define IPGATE_AUDIT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "anchors.h"
#include "audit.h"

#define IPG_AUDIT_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define IPG_AUDIT_HASH_KEY ",\"hash\":\""
#define IPG_AUDIT_PREV_KEY ",\"prev\":\""
/* The head record: "LAST_SEQ HASH FIRST_SEQ\n", fixed width. */
#define IPG_AUDIT_HEAD_LEN (20 + 1 + 64 + 1 + 20 + 1)

/* Checks one line against the chain: its hash, its link to @prev, and its
 * sequence number @seq. Fills @hash with its own hash; on -EBADMSG, *why
 * says what is wrong. */
int ipg_audit_check_line(const char *line, size_t len, const char *prev,
			 uint64_t seq, char hash[IPG_HASH_HEX],
			 const char **why);

/* The "prev" link and the seq a line claims; 0 or -EBADMSG. */
int ipg_audit_line_link(const char *line, size_t len, char prev[IPG_HASH_HEX],
			uint64_t *seq);

/* Calls @fn for each line of one file, plain or gzip-compressed; stops at
 * the first non-zero return. -ENOENT when the file is missing. */
int ipg_audit_file_lines(const char *path,
			 int (*fn)(const char *, size_t, void *), void *arg);

/* Names of rotated file @i (@path.I.gz) and of the file set aside while a
 * rotation runs (@path.rotating). */
void ipg_audit_rotated_name(char *out, size_t size, const char *path,
			    unsigned i);
void ipg_audit_rotating_name(char *out, size_t size, const char *path);
/* The highest N for which @path.N.gz exists (0 when none does). */
unsigned ipg_audit_rotated_count(const char *path);

/* A walk over every file of a log, and where it stands. */
struct ipg_audit_each_ctx {
	int (*fn)(const char *, size_t, void *);
	void *arg;
	const char *file; /* the file being walked, for messages */
	uint64_t line; /* line number within it */
	unsigned files;
};
/* Walks every file of the log at @path, oldest first. */
int ipg_audit_each_all(const char *path, struct ipg_audit_each_ctx *c);

/* Reads the head record from @fd. Returns 0, -ENODATA for an empty file,
 * -EBADMSG for one that is not a head record, or the read's errno. */
int ipg_audit_read_head_fd(int fd, uint64_t *seq, char hash[IPG_HASH_HEX],
			   uint64_t *first);
/* What is wrong with a head that reading refused with @err, in words
 * (@buf holds them when they need formatting). */
const char *ipg_audit_head_problem(int err, char *buf, size_t size);

#endif
