// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <dirent.h>
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
#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define HASH_KEY ",\"hash\":\""
#define PREV_KEY ",\"prev\":\""

static int sha256_hex(const char *s, size_t n, char out[IPG_HASH_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(s, n, md, &len, EVP_sha256(), NULL) || len != 32)
		return -EIO;
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	return 0;
}

/* Checks one line against the chain: its hash, its link to @prev, and its
 * sequence number @seq. Fills @hash with its own hash. */
static int check_line(const char *line, size_t len, const char *prev,
		      uint64_t seq, char hash[IPG_HASH_HEX], const char **why)
{
	char want[IPG_HASH_HEX], link[80];
	const char *h = NULL, *p;
	size_t body;
	uint64_t got_seq;

	for (p = line; (p = strstr(p, HASH_KEY)) && p < line + len; p++)
		h = p;
	if (!h || len < 2 || strncmp(line + len - 2, "\"}", 2) ||
	    (size_t)(line + len - 2 - (h + strlen(HASH_KEY))) != 64) {
		*why = "not an ipgate audit record";
		return -EBADMSG;
	}
	body = (size_t)(h - line);
	memcpy(hash, h + strlen(HASH_KEY), 64);
	hash[64] = '\0';
	if (sha256_hex(line, body, want) || strcmp(want, hash)) {
		*why = "its content does not match its hash (edited)";
		return -EBADMSG;
	}
	snprintf(link, sizeof(link), PREV_KEY "%s\"", prev);
	if (body < strlen(link) ||
	    strncmp(line + body - strlen(link), link, strlen(link))) {
		*why = "it does not follow the line before (a line was dropped, "
		       "added or moved)";
		return -EBADMSG;
	}
	if (sscanf(line, "{\"seq\":%" SCNu64 ",", &got_seq) != 1 ||
	    got_seq != seq) {
		*why = "its sequence number is out of order";
		return -EBADMSG;
	}
	return 0;
}

/* Calls @fn for each line of one file, plain or gzip-compressed; stops at
 * the first non-zero return. -ENOENT when the file is missing. */
static int file_lines(const char *path, int (*fn)(const char *, size_t, void *),
		      void *arg)
{
	struct ipg_buf b = { 0 };
	char chunk[65536];
	size_t start = 0;
	gzFile gz;
	int n, r = 0;

	gz = gzopen(path, "rbe");
	if (!gz)
		return errno ? -errno : -ENOMEM;
	while (!r && (n = gzread(gz, chunk, sizeof(chunk))) > 0) {
		char *nl;

		ipg_buf_append(&b, chunk, (size_t)n);
		if (b.oom) {
			r = -ENOMEM;
			break;
		}
		while (!r && (nl = memchr(b.s + start, '\n', b.len - start))) {
			*nl = '\0';
			r = fn(b.s + start, (size_t)(nl - b.s - start), arg);
			start = (size_t)(nl - b.s) + 1;
		}
		memmove(b.s, b.s + start, b.len - start);
		b.len -= start;
		start = 0;
	}
	if (!r && n < 0)
		r = -EIO;
	if (!r && b.len) { /* a last line without its newline */
		b.s[b.len] = '\0';
		r = fn(b.s, b.len, arg);
	}
	gzclose(gz);
	ipg_buf_free(&b);
	return r;
}

static void rotated_name(char *out, size_t size, const char *path, unsigned i)
{
	snprintf(out, size, "%s.%u.gz", path, i);
}

static void rotating_name(char *out, size_t size, const char *path)
{
	snprintf(out, size, "%s.rotating", path);
}

/* The highest N for which @path.N.gz exists (0 when none does). Files
 * below it that are missing show up as gaps when the log is walked. */
static unsigned rotated_count(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct dirent *de;
	unsigned max = 0;
	size_t blen;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	d = opendir(dirname(dir));
	if (!d)
		return 0;
	snprintf(dir, sizeof(dir), "%s", basename(base));
	blen = strlen(dir);
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		char *end;
		unsigned long i;

		if (strncmp(n, dir, blen) || n[blen] != '.' ||
		    n[blen + 1] < '1' || n[blen + 1] > '9')
			continue;
		i = strtoul(n + blen + 1, &end, 10);
		if (!strcmp(end, ".gz") && i <= IPG_AUDIT_KEEP_MAX && i > max)
			max = (unsigned)i;
	}
	closedir(d);
	return max;
}

struct each_ctx {
	int (*fn)(const char *, size_t, void *);
	void *arg;
	const char *file; /* the file being walked, for messages */
	uint64_t line; /* line number within it */
	unsigned files;
};

static int each_counted(const char *line, size_t len, void *arg)
{
	struct each_ctx *c = arg;

	c->line++;
	return c->fn(line, len, c->arg);
}

static int each_file(struct each_ctx *c, const char *name, int must_exist)
{
	int r;

	c->file = name;
	c->line = 0;
	r = file_lines(name, each_counted, c);
	if (r == -ENOENT && !must_exist)
		return 0;
	if (!r)
		c->files++;
	return r;
}

/* Walks every file of the log, oldest first. */
static int each_all(const char *path, struct each_ctx *c)
{
	static __thread char name[PATH_MAX];
	unsigned n = rotated_count(path);
	int r = 0;

	for (unsigned i = n; !r && i > 0; i--) {
		rotated_name(name, sizeof(name), path, i);
		r = each_file(c, name, 1);
	}
	if (!r) {
		rotating_name(name, sizeof(name), path);
		r = each_file(c, name, 0);
	}
	if (!r)
		r = each_file(c, path, 0);
	return r;
}

int ipg_audit_each(const char *path,
		   int (*fn)(const char *line, size_t len, void *arg),
		   void *arg)
{
	struct each_ctx c = { .fn = fn, .arg = arg };

	return each_all(path, &c);
}

struct walk {
	uint64_t seq, lines, first_seq;
	char hash[IPG_HASH_HEX];
	const char *why;
	const struct ipg_anchors *an; /* or NULL */
	size_t next; /* the first anchor not yet compared */
	uint64_t matched, newest, rotated, lost, last_lost;
	char why_buf[256];
};

/* The "prev" link a line claims, for the first line after rotation. */
static int line_link(const char *line, size_t len, char prev[IPG_HASH_HEX],
		     uint64_t *seq)
{
	const char *p = memmem(line, len, PREV_KEY, strlen(PREV_KEY));

	if (!p || (size_t)(line + len - p) < strlen(PREV_KEY) + 64 ||
	    sscanf(line, "{\"seq\":%" SCNu64 ",", seq) != 1 || !*seq)
		return -EBADMSG;
	memcpy(prev, p + strlen(PREV_KEY), 64);
	prev[64] = '\0';
	return 0;
}

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
	if (!w->lines && !line_link(line, len, hash, &seq) && seq > 1) {
		w->seq = seq - 1;
		memcpy(w->hash, hash, sizeof(hash));
	}
	r = check_line(line, len, w->hash, w->seq + 1, hash, &w->why);
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

#define HEAD_LEN (20 + 1 + 64 + 1 + 20 + 1)

/* The head record: "LAST_SEQ HASH FIRST_SEQ\n", fixed width. Returns 0,
 * -ENODATA for an empty file, -EBADMSG for one that is not a head record,
 * or the read's negative errno. */
static int read_head_fd(int fd, uint64_t *seq, char hash[IPG_HASH_HEX],
			uint64_t *first)
{
	char buf[HEAD_LEN + 1] = { 0 };
	ssize_t n = pread(fd, buf, HEAD_LEN, 0);

	if (n < 0)
		return -errno;
	if (!n)
		return -ENODATA;
	if (n != HEAD_LEN || buf[HEAD_LEN - 1] != '\n' ||
	    sscanf(buf, "%20" SCNu64 " %64[0-9a-f] %20" SCNu64, seq, hash,
		   first) != 3 ||
	    strlen(hash) != 64)
		return -EBADMSG;
	return 0;
}

static int read_head(const char *head_path, uint64_t *seq,
		     char hash[IPG_HASH_HEX], uint64_t *first)
{
	int fd = open(head_path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = read_head_fd(fd, seq, hash, first);
	close(fd);
	return r;
}

/* What is wrong with a head that read_head refused with @err. */
static const char *head_problem(int err, char *buf, size_t size)
{
	switch (err) {
	case -ENOENT:
		return "missing";
	case -ENODATA:
		return "empty";
	case -EBADMSG:
		return "not an ipgate audit head record";
	default:
		snprintf(buf, size, "unreadable (%s)", strerror(-err));
		return buf;
	}
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
	struct walk w = { .hash = ZERO_HASH, .an = anchors };
	struct each_ctx c = { .fn = walk_line, .arg = &w };
	struct ipg_audit_report out = { 0 };
	char head_hash[IPG_HASH_HEX], why[80];
	uint64_t head_seq, head_first;
	int r;

	if (anchors && anchors->log && strcmp(anchors->log, path))
		return ipg_fail(e, -EINVAL,
				"the anchors are for the audit log %s, not "
				"%s; export this log's with journalctl "
				"IPGATE_AUDIT_LOG=%s",
				anchors->log, path, path);
	r = each_all(path, &c);
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
		r = read_head(head_path, &head_seq, head_hash, &head_first);
		if (r)
			return ipg_fail(
				e, r == -ENOENT || r == -ENODATA ? -EBADMSG : r,
				"the audit head %s is %s: it names the "
				"last record ipgated wrote, so without "
				"it records cut from the end of %s "
				"cannot be detected. ipgated records "
				"the loss in the log (audit-head-lost) "
				"and writes a new head when it next "
				"starts",
				head_path, head_problem(r, why, sizeof(why)),
				path);
		out.head_checked = 1;
		if (head_seq > w.seq)
			return ipg_fail(e, -EBADMSG,
					"%s ends at record %" PRIu64
					" but ipgated wrote up to "
					"record %" PRIu64 ": records at "
					"the end were removed",
					path, w.seq, head_seq);
		if (head_seq < w.seq)
			return ipg_fail(e, -EBADMSG,
					"%s has records after "
					"record %" PRIu64 ", the last "
					"one ipgated wrote",
					path, head_seq);
		if (w.lines && w.first_seq > head_first)
			return ipg_fail(e, -EBADMSG,
					"%s starts at record %" PRIu64
					" but ipgated kept records "
					"from %" PRIu64 ": records at the "
					"start were removed",
					path, w.first_seq, head_first);
		if (strcmp(head_hash, w.hash))
			return ipg_fail(e, -EBADMSG,
					"%s: record %" PRIu64
					" is not the one ipgated wrote",
					path, w.seq);
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

	rotating_name(aside, sizeof(aside), path);
	if (access(aside, F_OK))
		return 0;
	n = rotated_count(path);
	for (unsigned i = n; i > 0; i--) {
		rotated_name(from, sizeof(from), path, i);
		if (i + 1 > keep) {
			unlink(from);
			*dropped = 1;
			continue;
		}
		rotated_name(to, sizeof(to), path, i + 1);
		if (rename(from, to))
			return -errno;
	}
	rotated_name(to, sizeof(to), path, 1);
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
	char buf[HEAD_LEN + 1];

	if (a->head_fd < 0)
		return 0;
	snprintf(buf, sizeof(buf), "%020" PRIu64 " %s %020" PRIu64 "\n", a->seq,
		 a->last_hash, a->first_seq);
	if (pwrite(a->head_fd, buf, HEAD_LEN, 0) != HEAD_LEN ||
	    fdatasync(a->head_fd))
		return -errno ? -errno : -EIO;
	return 0;
}

static int first_record(const char *line, size_t len, void *arg)
{
	char prev[IPG_HASH_HEX];

	return line_link(line, len, prev, arg) ? 0 : 1;
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

	rotating_name(aside, sizeof(aside), a->path);
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
	if (line_link(line, len, prev, &seq) ||
	    check_line(line, len, prev, seq, hash, &l->why)) {
		if (!l->bad++)
			l->bad_line = l->line;
		return 0;
	}
	l->seq = seq;
	memcpy(l->hash, hash, sizeof(hash));
	return 0;
}

int ipg_audit_open(struct ipg_audit *a, const char *path,
		   const struct ipg_audit_opts *opts, struct ipg_error *e)
{
	struct last_line l = { .hash = ZERO_HASH };
	char name[PATH_MAX], hash[IPG_HASH_HEX], why[80];
	int dropped = 0, head_missing = 0, r;
	uint64_t seq;

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
	/* Continue the chain from the last record: the current file's, or
	 * when it is empty, the newest rotated file's. Only one file is read,
	 * so a start costs at most one rotation's worth. */
	r = file_lines(path, last_line, &l);
	if (!r && !l.line) {
		rotated_name(name, sizeof(name), path, 1);
		r = file_lines(name, last_line, &l);
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
	if (!opts || !opts->head_path) {
		a->first_seq = oldest_seq(path, a->seq + 1);
		return 0;
	}
	r = head_missing ? -ENOENT :
			   read_head_fd(a->head_fd, &seq, hash, &a->first_seq);
	if (r) {
		a->first_seq = oldest_seq(path, a->seq + 1);
		/* A new log has no head yet; one with records must have. */
		if (!a->seq && (r == -ENOENT || r == -ENODATA)) {
			r = write_head(a);
			if (r)
				pr_warn("cannot write the audit head %s: %s",
					opts->head_path, strerror(-r));
			return 0;
		}
		a->head_lost = r;
		pr_warn("audit log %s: the head %s is %s; records cut from "
			"the end before now cannot be excluded",
			path, opts->head_path,
			head_problem(r, why, sizeof(why)));
	} else if (seq != a->seq || strcmp(hash, a->last_hash)) {
		pr_warn("audit log %s ends at record %" PRIu64 ", but the last "
			"record written was %" PRIu64 "; run 'ipgate log "
			"--verify'",
			path, a->seq, seq);
		a->head_mismatch = seq ? seq : 1;
	}
	return 0;
}

int ipg_audit_note_open(struct ipg_audit *a, const struct ipg_actor *who,
			struct ipg_error *e)
{
	struct ipg_buf before = { 0 }, after = { 0 };
	char why[80];
	int r = 0;

	if (a->head_mismatch) {
		ipg_buf_printf(&before, "{\"last_seq\":%" PRIu64 "}",
			       a->head_mismatch);
		ipg_buf_printf(&after, "{\"last_seq\":%" PRIu64 "}", a->seq);
		r = before.oom || after.oom ?
			    ipg_fail(e, -ENOMEM, "out of memory") :
			    ipg_audit_append(a, who, "audit-tail-lost",
					     before.s, after.s, e);
		if (!r)
			a->head_mismatch = 0;
	} else if (a->head_lost) {
		/* Says what the new head is made from: the log as found. */
		ipg_buf_printf(&before, "{\"head\":");
		ipg_buf_json_str(&before,
				 head_problem(a->head_lost, why, sizeof(why)));
		ipg_buf_printf(&before, "}");
		ipg_buf_printf(&after,
			       "{\"last_seq\":%" PRIu64 ",\"hash\":\"%s\"}",
			       a->seq, a->last_hash);
		r = before.oom || after.oom ?
			    ipg_fail(e, -ENOMEM, "out of memory") :
			    ipg_audit_append(a, who, "audit-head-lost",
					     before.s, after.s, e);
		if (!r)
			a->head_lost = 0;
	}
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

int ipg_audit_append(struct ipg_audit *a, const struct ipg_actor *who,
		     const char *action, const char *before, const char *after,
		     struct ipg_error *e)
{
	struct ipg_buf b = { 0 };
	char hash[IPG_HASH_HEX], ts[40];
	const char *user = who->user;
	struct passwd *pw;
	struct timespec now;
	struct tm tm;
	size_t off = 0;
	int r = 0;

	if (!user) {
		pw = getpwuid(who->uid);
		user = pw ? pw->pw_name : "?";
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	ipg_buf_printf(&b, "{\"seq\":%" PRIu64 ",\"time\":\"%s.%03ldZ\",",
		       a->seq + 1, ts, now.tv_nsec / 1000000);
	ipg_buf_printf(&b,
		       "\"actor\":{\"uid\":%u,\"user\":", (unsigned)who->uid);
	ipg_buf_json_str(&b, user);
	ipg_buf_printf(&b, ",\"pid\":%d,\"client\":", (int)who->pid);
	if (who->client)
		ipg_buf_json_str(&b, who->client);
	else
		ipg_buf_printf(&b, "null");
	ipg_buf_printf(&b, "},\"action\":");
	ipg_buf_json_str(&b, action);
	ipg_buf_printf(&b, ",\"before\":%s,\"after\":%s" PREV_KEY "%s\"",
		       before ? before : "null", after ? after : "null",
		       a->last_hash);
	if (b.oom) {
		ipg_buf_free(&b);
		return ipg_fail(e, -ENOMEM, "out of memory");
	}
	r = sha256_hex(b.s, b.len, hash);
	ipg_buf_printf(&b, HASH_KEY "%s\"}\n", hash);
	if (r || b.oom) {
		ipg_buf_free(&b);
		return ipg_fail(e, r ? r : -ENOMEM,
				"cannot hash the audit record");
	}
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
	if (a->opts.anchor) {
		r = a->opts.anchor(a->opts.anchor_arg, a->path, a->seq,
				   a->last_hash, action);
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
	if (a->opts.rotate_size && a->size >= a->opts.rotate_size) {
		struct ipg_error re;

		if (ipg_audit_rotate(a, &re))
			pr_warn("audit log: %s", re.msg);
	}
	return 0;
}
