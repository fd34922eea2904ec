// SPDX-License-Identifier: GPL-2.0
/* Verifying the audit log: every record's hash and link across rotated
 * files, the head record, and the journal's anchors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"

struct walk {
	uint64_t seq, lines, first_seq;
	char hash[IPG_HASH_HEX];
	const char *why;
	const struct ipg_anchors *an; /* or NULL */
	size_t next; /* the first anchor not yet compared */
	uint64_t matched, newest, rotated, lost, last_lost;
	char why_buf[256];
};

/* Whether @line is a record that a start wrote about a lost head or tail. */
static int is_lost_record(const char *line)
{
	static const char *const lost[] = { "\"audit-head-lost\"",
					    "\"audit-tail-lost\"" };
	size_t len;
	const char *v = ipg_json_field(line, "action", &len);

	for (size_t i = 0; v && i < sizeof(lost) / sizeof(lost[0]); i++)
		if (len == strlen(lost[i]) && !memcmp(v, lost[i], len))
			return 1;
	return 0;
}

/* Compares the record just walked (w->seq, w->hash) with the anchors that
 * name it; anchors before it name records rotated away. */
static int match_anchors(struct walk *w)
{
	const struct ipg_anchors *an = w->an;
	size_t same = 0;

	for (; w->next < an->n && an->v[w->next].seq < w->seq; w->next++)
		w->rotated++;
	for (size_t i = w->next; i < an->n && an->v[i].seq == w->seq; i++)
		same++;
	for (; w->next < an->n && an->v[w->next].seq == w->seq; w->next++) {
		if (!strcmp(an->v[w->next].hash, w->hash)) {
			w->matched++;
			w->newest = w->seq;
			continue;
		}
		if (same > 1)
			snprintf(w->why_buf, sizeof(w->why_buf),
				 "the journal holds %zu different hashes for "
				 "record %" PRIu64
				 ": the log was cut or rewritten there and "
				 "went on (or started over, or a journal "
				 "entry was forged)",
				 same, w->seq);
		else if (w->newest)
			snprintf(w->why_buf, sizeof(w->why_buf),
				 "record %" PRIu64
				 " is not the one ipgated anchored in the "
				 "journal: the log was rewritten after record "
				 "%" PRIu64 ", the last that matches an anchor",
				 w->seq, w->newest);
		else
			snprintf(w->why_buf, sizeof(w->why_buf),
				 "record %" PRIu64
				 " is not the one ipgated anchored in the "
				 "journal: the log was rewritten up to here",
				 w->seq);
		w->why = w->why_buf;
		return -EBADMSG;
	}
	return 0;
}

static int walk_line(const char *line, size_t len, void *arg)
{
	struct walk *w = arg;
	char hash[IPG_HASH_HEX];
	uint64_t seq;
	int r;

	/* The oldest kept line links to a record rotated away: start there. */
	if (!w->lines && !ipg_audit_line_link(line, len, hash, &seq) &&
	    seq > 1) {
		w->seq = seq - 1;
		memcpy(w->hash, hash, sizeof(hash));
	}
	r = ipg_audit_check_line(line, len, w->hash, w->seq + 1, hash, &w->why);
	if (r)
		return r;
	if (!w->lines)
		w->first_seq = w->seq + 1;
	w->seq++;
	w->lines++;
	memcpy(w->hash, hash, sizeof(hash));
	if (is_lost_record(line))
		w->lost++, w->last_lost = w->seq;
	return w->an ? match_anchors(w) : 0;
}

static int read_head(const char *head_path, uint64_t *seq,
		     char hash[IPG_HASH_HEX], uint64_t *first)
{
	int fd = open(head_path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ipg_audit_read_head_fd(fd, seq, hash, first);
	close(fd);
	return r;
}

/* Compares the end of the walked log (@w) with the head record at
 * @head_path; a missing or unreadable head fails too. */
static int check_head(const char *path, const char *head_path,
		      const struct walk *w, struct ipg_error *e)
{
	char head_hash[IPG_HASH_HEX], why[80];
	uint64_t head_seq, head_first;
	int r;

	r = read_head(head_path, &head_seq, head_hash, &head_first);
	if (r)
		return ipg_fail(e, r == -ENOENT || r == -ENODATA ? -EBADMSG : r,
				"the audit head %s is %s: it names the "
				"last record ipgated wrote, so without "
				"it records cut from the end of %s "
				"cannot be detected. ipgated records "
				"the loss in the log (audit-head-lost) "
				"and writes a new head when it next "
				"starts",
				head_path,
				ipg_audit_head_problem(r, why, sizeof(why)),
				path);
	if (head_seq > w->seq)
		return ipg_fail(e, -EBADMSG,
				"%s ends at record %" PRIu64
				" but ipgated wrote up to "
				"record %" PRIu64 ": records at "
				"the end were removed",
				path, w->seq, head_seq);
	if (head_seq < w->seq)
		return ipg_fail(e, -EBADMSG,
				"%s has records after "
				"record %" PRIu64 ", the last "
				"one ipgated wrote",
				path, head_seq);
	if (w->lines && w->first_seq > head_first)
		return ipg_fail(e, -EBADMSG,
				"%s starts at record %" PRIu64
				" but ipgated kept records "
				"from %" PRIu64 ": records at the "
				"start were removed",
				path, w->first_seq, head_first);
	if (strcmp(head_hash, w->hash))
		return ipg_fail(e, -EBADMSG,
				"%s: record %" PRIu64
				" is not the one ipgated wrote",
				path, w->seq);
	return 0;
}

int ipg_audit_verify(const char *path, const char *head_path,
		     struct ipg_audit_report *rep, struct ipg_error *e)
{
	return ipg_audit_verify_anchored(path, head_path, NULL, rep, e);
}

int ipg_audit_verify_anchored(const char *path, const char *head_path,
			      const struct ipg_anchors *anchors,
			      struct ipg_audit_report *rep, struct ipg_error *e)
{
	struct walk w = { .hash = IPG_AUDIT_ZERO_HASH, .an = anchors };
	struct ipg_audit_each_ctx c = { .fn = walk_line, .arg = &w };
	struct ipg_audit_report out = { 0 };
	int r;

	if (anchors && anchors->log && strcmp(anchors->log, path))
		return ipg_fail(e, -EINVAL,
				"the anchors are for the audit log %s, not "
				"%s; export this log's with journalctl "
				"IPGATE_AUDIT_LOG=%s",
				anchors->log, path, path);
	r = ipg_audit_each_all(path, &c);
	if (r == -EBADMSG)
		return ipg_fail(e, r, "%s: line %" PRIu64 ": %s", c.file,
				c.line, w.why);
	if (r == -ENOENT && c.file && strcmp(c.file, path))
		return ipg_fail(e, -EBADMSG,
				"%s is missing: rotated files run "
				"from .1.gz up without gaps",
				c.file);
	if (r)
		return ipg_fail(e, r, "cannot read %s: %s",
				c.file ? c.file : path, strerror(-r));
	if (!c.files)
		return ipg_fail(e, -ENOENT, "no audit log at %s", path);
	out.lines = w.lines;
	out.first_seq = w.first_seq;
	out.last_seq = w.seq;
	out.files = c.files;
	out.lost = w.lost;
	out.last_lost_seq = w.last_lost;
	out.anchors_matched = w.matched;
	out.anchors_newest = w.newest;
	out.anchors_rotated = w.rotated;
	if (anchors && w.next < anchors->n)
		return ipg_fail(e, -EBADMSG,
				"the journal anchors record %" PRIu64
				" but %s ends at record %" PRIu64
				": records at the end were removed (or the "
				"log was rewritten)",
				anchors->v[w.next].seq, path, w.seq);
	if (head_path) {
		r = check_head(path, head_path, &w, e);
		if (r)
			return r;
		out.head_checked = 1;
	}
	if (anchors && !w.matched)
		return ipg_fail(e, -ENODATA,
				"none of the %zu anchors names a record %s "
				"keeps (records %" PRIu64 "-%" PRIu64
				"): nothing could be compared; export the "
				"journal for the time those were written",
				anchors->n, path, w.first_seq, w.seq);
	if (rep)
		*rep = out;
	return 0;
}
