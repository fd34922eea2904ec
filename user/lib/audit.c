// SPDX-License-Identifier: GPL-2.0
/* Writing the audit log: open (continuing the chain), append, rotate, and
 * the head record. Format and reading: audit_log.c; verify:
 * audit_verify.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libgen.h>
#include <limits.h>
#include <zlib.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"

/* Compresses @src into @dst (written to a temporary name, synced, then
 * renamed) and removes @src. */
static int gzip_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX + 8], chunk[65536];
	int in, out, r = 0;
	ssize_t n;
	gzFile gz;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	gz = gzdopen(dup(out), "wb9");
	if (!gz)
		r = -ENOMEM;
	while (!r && (n = read(in, chunk, sizeof(chunk))) > 0)
		if (gzwrite(gz, chunk, (unsigned)n) != n)
			r = -EIO;
	if (!r && n < 0)
		r = -errno;
	if (gz && gzclose(gz) != Z_OK && !r)
		r = -EIO;
	if (!r && fsync(out))
		r = -errno;
	close(out);
	close(in);
	if (!r && rename(tmp, dst))
		r = -errno;
	if (r)
		unlink(tmp);
	else
		unlink(src);
	return r;
}

static void sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Second half of a rotation: shift the compressed files up and compress the
 * file set aside. Also finishes a rotation cut short by a crash. */
static int finish_rotation(const char *path, unsigned keep, int *dropped)
{
	char from[PATH_MAX], to[PATH_MAX], aside[PATH_MAX];
	unsigned n;
	int r;

	ipg_audit_rotating_name(aside, sizeof(aside), path);
	if (access(aside, F_OK))
		return 0;
	n = ipg_audit_rotated_count(path);
	for (unsigned i = n; i > 0; i--) {
		ipg_audit_rotated_name(from, sizeof(from), path, i);
		if (i + 1 > keep) {
			unlink(from);
			*dropped = 1;
			continue;
		}
		ipg_audit_rotated_name(to, sizeof(to), path, i + 1);
		if (rename(from, to))
			return -errno;
	}
	ipg_audit_rotated_name(to, sizeof(to), path, 1);
	if (!keep) {
		r = unlink(aside) ? -errno : 0;
		*dropped = 1;
	} else {
		r = gzip_file(aside, to);
	}
	sync_dir_of(path);
	return r;
}

/* Records the last record's seq and hash, fixed width, in place. */
static int write_head(struct ipg_audit *a)
{
	char buf[IPG_AUDIT_HEAD_LEN + 1];

	if (a->head_fd < 0)
		return 0;
	snprintf(buf, sizeof(buf), "%020" PRIu64 " %s %020" PRIu64 "\n", a->seq,
		 a->last_hash, a->first_seq);
	if (pwrite(a->head_fd, buf, IPG_AUDIT_HEAD_LEN, 0) !=
		    IPG_AUDIT_HEAD_LEN ||
	    fdatasync(a->head_fd))
		return -errno ? -errno : -EIO;
	return 0;
}

static int first_record(const char *line, size_t len, void *arg)
{
	char prev[IPG_HASH_HEX];

	return ipg_audit_line_link(line, len, prev, arg) ? 0 : 1;
}

/* The seq of the oldest record kept, or @fallback when there is none. */
static uint64_t oldest_seq(const char *path, uint64_t fallback)
{
	uint64_t seq = 0;

	return ipg_audit_each(path, first_record, &seq) == 1 ? seq : fallback;
}

static int open_current(struct ipg_audit *a)
{
	struct stat st;

	a->fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (a->fd < 0)
		return -errno;
	a->size = fstat(a->fd, &st) ? 0 : (uint64_t)st.st_size;
	return 0;
}

int ipg_audit_rotate(struct ipg_audit *a, struct ipg_error *e)
{
	char aside[PATH_MAX];
	int dropped = 0, r;

	ipg_audit_rotating_name(aside, sizeof(aside), a->path);
	/* One rename sets the records aside; they stay readable (and
	 * verifiable) under that name until compressed. */
	if (!access(aside, F_OK)) {
		r = finish_rotation(a->path, a->opts.keep, &dropped);
		if (r)
			return ipg_fail(e, r, "cannot finish rotating %s: %s",
					a->path, strerror(-r));
	}
	if (rename(a->path, aside))
		return ipg_fail(e, -errno, "cannot rotate %s: %s", a->path,
				strerror(errno));
	close(a->fd);
	r = open_current(a);
	if (r)
		return ipg_fail(e, r, "cannot reopen %s: %s", a->path,
				strerror(-r));
	sync_dir_of(a->path);
	r = finish_rotation(a->path, a->opts.keep, &dropped);
	if (dropped) {
		a->first_seq = oldest_seq(a->path, a->seq + 1);
		write_head(a);
	}
	if (r)
		return ipg_fail(e, r, "cannot compress %s: %s", aside,
				strerror(-r));
	return 0;
}

struct last_line {
	uint64_t seq;
	char hash[IPG_HASH_HEX];
	const char *why;
	int bad;
	uint64_t bad_line, line;
};

/* Keeps the link to the last record that checks; counts broken ones. */
static int last_line(const char *line, size_t len, void *arg)
{
	struct last_line *l = arg;
	char hash[IPG_HASH_HEX], prev[IPG_HASH_HEX];
	uint64_t seq;

	l->line++;
	if (ipg_audit_line_link(line, len, prev, &seq) ||
	    ipg_audit_check_line(line, len, prev, seq, hash, &l->why)) {
		if (!l->bad++)
			l->bad_line = l->line;
		return 0;
	}
	l->seq = seq;
	memcpy(l->hash, hash, sizeof(hash));
	return 0;
}

/* Continues the chain from the last record: the current file's, or when
 * it is empty, the newest rotated file's. Only one file is read, so a
 * start costs at most one rotation's worth. */
static void continue_chain(struct ipg_audit *a, const char *path)
{
	struct last_line l = { .hash = IPG_AUDIT_ZERO_HASH };
	char name[PATH_MAX];
	int r;

	r = ipg_audit_file_lines(path, last_line, &l);
	if (!r && !l.line) {
		ipg_audit_rotated_name(name, sizeof(name), path, 1);
		r = ipg_audit_file_lines(name, last_line, &l);
		if (r == -ENOENT)
			r = 0;
	}
	if (r)
		pr_warn("audit log %s: %s", path, strerror(-r));
	else if (l.bad)
		pr_warn("audit log %s: line %" PRIu64 ": %s; run 'ipgate log "
			"--verify'",
			path, l.bad_line, l.why);
	a->seq = l.seq;
	memcpy(a->last_hash, l.hash, sizeof(a->last_hash));
}

/* Compares the head record at @head_path (opened as a->head_fd, just
 * created when @head_missing) with the chain's end, and notes in @a what
 * the owner should record about a lost head or tail. */
static void check_head(struct ipg_audit *a, const char *path,
		       const char *head_path, int head_missing)
{
	char hash[IPG_HASH_HEX], why[80];
	uint64_t seq;
	int r;

	r = head_missing ? -ENOENT :
			   ipg_audit_read_head_fd(a->head_fd, &seq, hash,
						  &a->first_seq);
	if (r) {
		a->first_seq = oldest_seq(path, a->seq + 1);
		/* A new log has no head yet; one with records must have. */
		if (!a->seq && (r == -ENOENT || r == -ENODATA)) {
			r = write_head(a);
			if (r)
				pr_warn("cannot write the audit head %s: %s",
					head_path, strerror(-r));
			return;
		}
		a->head_lost = r;
		pr_warn("audit log %s: the head %s is %s; records cut from "
			"the end before now cannot be excluded",
			path, head_path,
			ipg_audit_head_problem(r, why, sizeof(why)));
	} else if (seq != a->seq || strcmp(hash, a->last_hash)) {
		pr_warn("audit log %s ends at record %" PRIu64 ", but the last "
			"record written was %" PRIu64 "; run 'ipgate log "
			"--verify'",
			path, a->seq, seq);
		a->head_mismatch = seq ? seq : 1;
	}
}

int ipg_audit_open(struct ipg_audit *a, const char *path,
		   const struct ipg_audit_opts *opts, struct ipg_error *e)
{
	int dropped = 0, head_missing = 0, r;

	memset(a, 0, sizeof(*a));
	a->fd = a->head_fd = -1;
	if (opts)
		a->opts = *opts;
	a->opts.head_path = NULL;
	a->path = strdup(path);
	if (!a->path)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = finish_rotation(path, a->opts.keep, &dropped);
	if (r)
		pr_warn("audit log %s: cannot finish an earlier rotation: %s",
			path, strerror(-r));
	r = open_current(a);
	if (r) {
		ipg_audit_close(a);
		return ipg_fail(e, r, "cannot open the audit log %s: %s", path,
				strerror(-r));
	}
	if (opts && opts->head_path) {
		a->head_fd = open(opts->head_path, O_RDWR | O_CLOEXEC);
		if (a->head_fd < 0 && errno == ENOENT) {
			head_missing = 1;
			a->head_fd = open(opts->head_path,
					  O_RDWR | O_CREAT | O_CLOEXEC, 0640);
		}
		if (a->head_fd < 0) {
			r = -errno;
			ipg_audit_close(a);
			return ipg_fail(e, r, "cannot open %s: %s",
					opts->head_path, strerror(-r));
		}
	}
	continue_chain(a, path);
	if (opts && opts->head_path)
		check_head(a, path, opts->head_path, head_missing);
	else
		a->first_seq = oldest_seq(path, a->seq + 1);
	return 0;
}

int ipg_audit_note_open(struct ipg_audit *a, const struct ipg_actor *who,
			struct ipg_error *e)
{
	struct ipg_buf before = { 0 }, after = { 0 };
	const char *action = NULL;
	char why[80];
	int r = 0;

	if (a->head_mismatch) {
		action = "audit-tail-lost";
		ipg_buf_printf(&before, "{\"last_seq\":%" PRIu64 "}",
			       a->head_mismatch);
		ipg_buf_printf(&after, "{\"last_seq\":%" PRIu64 "}", a->seq);
	} else if (a->head_lost) {
		/* Says what the new head is made from: the log as found. */
		action = "audit-head-lost";
		ipg_buf_printf(&before, "{\"head\":");
		ipg_buf_json_str(&before,
				 ipg_audit_head_problem(a->head_lost, why,
							sizeof(why)));
		ipg_buf_printf(&before, "}");
		ipg_buf_printf(&after,
			       "{\"last_seq\":%" PRIu64 ",\"hash\":\"%s\"}",
			       a->seq, a->last_hash);
	}
	if (action)
		r = before.oom || after.oom ?
			    ipg_fail(e, -ENOMEM, "out of memory") :
			    ipg_audit_append(a, who, action, before.s, after.s,
					     e);
	/* Recorded: the loss is said once, and the head is written anew. */
	if (action && !r)
		a->head_mismatch = a->head_lost = 0;
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

void ipg_audit_close(struct ipg_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->head_fd >= 0)
		close(a->head_fd);
	free(a->path);
	a->fd = a->head_fd = -1;
	a->path = NULL;
}

/* Writes into @b the record @a appends next, as @who, with its hash in
 * @hash, ending in a newline; on error frees @b. */
static int format_record(const struct ipg_audit *a, const struct ipg_actor *who,
			 const char *action, const char *const *lists,
			 int n_lists, const char *before, const char *after,
			 struct ipg_buf *b, char hash[IPG_HASH_HEX],
			 struct ipg_error *e)
{
	const char *user = who->user;
	struct passwd *pw;
	struct timespec now;
	char ts[40];
	struct tm tm;
	int r;

	if (!user) {
		pw = getpwuid(who->uid);
		user = pw ? pw->pw_name : "?";
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	ipg_buf_printf(b, "{\"seq\":%" PRIu64 ",\"time\":\"%s.%03ldZ\",",
		       a->seq + 1, ts, now.tv_nsec / 1000000);
	ipg_buf_printf(b,
		       "\"actor\":{\"uid\":%u,\"user\":", (unsigned)who->uid);
	ipg_buf_json_str(b, user);
	ipg_buf_printf(b, ",\"pid\":%d,\"client\":", (int)who->pid);
	if (who->client)
		ipg_buf_json_str(b, who->client);
	else
		ipg_buf_printf(b, "null");
	ipg_buf_printf(b, "},\"action\":");
	ipg_buf_json_str(b, action);
	ipg_buf_printf(b, ",\"list\":%s", n_lists > 1 ? "[" : "");
	for (int i = 0; i < n_lists; i++) {
		ipg_buf_printf(b, "%s", i ? "," : "");
		ipg_buf_json_str(b, lists[i]);
	}
	ipg_buf_printf(b, "%s", n_lists > 1 ? "]" : n_lists ? "" : "null");
	ipg_buf_printf(b,
		       ",\"before\":%s,\"after\":%s" IPG_AUDIT_PREV_KEY "%s\"",
		       before ? before : "null", after ? after : "null",
		       a->last_hash);
	if (b->oom) {
		ipg_buf_free(b);
		return ipg_fail(e, -ENOMEM, "out of memory");
	}
	r = ipg_audit_sha256(b->s, b->len, hash);
	ipg_buf_printf(b, IPG_AUDIT_HASH_KEY "%s\"}\n", hash);
	if (r || b->oom) {
		ipg_buf_free(b);
		return ipg_fail(e, r ? r : -ENOMEM,
				"cannot hash the audit record");
	}
	return 0;
}

/* Sends the record just written to the anchor, warning once a change. */
static void anchor_record(struct ipg_audit *a, const char *action)
{
	int r;

	if (!a->opts.anchor)
		return;
	r = a->opts.anchor(a->opts.anchor_arg, a->path, a->seq, a->last_hash,
			   action);
	if (r && r != a->anchor_err)
		pr_warn("audit record %" PRIu64 " is not anchored in "
			"the journal: %s; records are anchored again "
			"once it takes them",
			a->seq, strerror(-r));
	else if (!r && a->anchor_err)
		pr_info("the journal takes audit anchors again, from "
			"record %" PRIu64,
			a->seq);
	a->anchor_err = r;
}

int ipg_audit_append(struct ipg_audit *a, const struct ipg_actor *who,
		     const char *action, const char *before, const char *after,
		     struct ipg_error *e)
{
	return ipg_audit_append_lists(a, who, action, NULL, 0, before, after,
				      e);
}

int ipg_audit_append_list(struct ipg_audit *a, const struct ipg_actor *who,
			  const char *action, const char *list,
			  const char *before, const char *after,
			  struct ipg_error *e)
{
	return ipg_audit_append_lists(a, who, action, &list,
				      list && *list ? 1 : 0, before, after, e);
}

bool ipg_audit_record_of(const char *line, const char *name)
{
	size_t len, n = strlen(name);
	const char *v = ipg_json_field(line, "list", &len), *end;

	if (!v || *v == 'n')
		return false;
	end = v + len;
	/* A string, or an array of strings; names need no escapes. */
	for (const char *s = v; s < end; s++)
		if (*s == '"' && (size_t)(end - s) > n + 1 &&
		    !memcmp(s + 1, name, n) && s[n + 1] == '"')
			return true;
		else if (*s == '"')
			s = memchr(s + 1, '"', (size_t)(end - s - 1)) ?: end;
	return false;
}

int ipg_audit_append_lists(struct ipg_audit *a, const struct ipg_actor *who,
			   const char *action, const char *const *lists, int n,
			   const char *before, const char *after,
			   struct ipg_error *e)
{
	struct ipg_buf b = { 0 };
	char hash[IPG_HASH_HEX];
	size_t off = 0;
	int r;

	r = format_record(a, who, action, lists, n, before, after, &b, hash, e);
	if (r)
		return r;
	while (off < b.len) {
		ssize_t n = write(a->fd, b.s + off, b.len - off);

		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (!r && fsync(a->fd))
		r = -errno;
	if (r && ftruncate(a->fd, (off_t)a->size) == 0)
		off = 0; /* no half record stays behind to break the chain */
	a->size += off;
	ipg_buf_free(&b);
	if (r)
		return ipg_fail(e, r, "cannot write the audit log: %s",
				strerror(-r));
	a->seq++;
	memcpy(a->last_hash, hash, sizeof(hash));
	r = write_head(a);
	if (r)
		pr_warn("cannot record the audit head: %s", strerror(-r));
	anchor_record(a, action);
	if (a->opts.rotate_size && a->size >= a->opts.rotate_size) {
		struct ipg_error re;

		if (ipg_audit_rotate(a, &re))
			pr_warn("audit log: %s", re.msg);
	}
	return 0;
}
