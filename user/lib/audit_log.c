// SPDX-License-Identifier: GPL-2.0
/* The audit log's format and files, for both writing and verifying: a
 * record's hash and link, the head record, and reading every file of a log,
 * oldest first. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <openssl/evp.h>

#include "audit.h"
#include "audit_int.h"
#include "buf.h"

int ipg_audit_sha256(const char *s, size_t n, char out[IPG_HASH_HEX])
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
int ipg_audit_check_line(const char *line, size_t len, const char *prev,
			 uint64_t seq, char hash[IPG_HASH_HEX],
			 const char **why)
{
	char want[IPG_HASH_HEX], link[80];
	const char *h = NULL, *p;
	size_t body;
	uint64_t got_seq;

	for (p = line; (p = strstr(p, IPG_AUDIT_HASH_KEY)) && p < line + len;
	     p++)
		h = p;
	if (!h || len < 2 || strncmp(line + len - 2, "\"}", 2) ||
	    (size_t)(line + len - 2 - (h + strlen(IPG_AUDIT_HASH_KEY))) != 64) {
		*why = "not an ipgate audit record";
		return -EBADMSG;
	}
	body = (size_t)(h - line);
	memcpy(hash, h + strlen(IPG_AUDIT_HASH_KEY), 64);
	hash[64] = '\0';
	if (ipg_audit_sha256(line, body, want) || strcmp(want, hash)) {
		*why = "its content does not match its hash (edited)";
		return -EBADMSG;
	}
	snprintf(link, sizeof(link), IPG_AUDIT_PREV_KEY "%s\"", prev);
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
int ipg_audit_file_lines(const char *path,
			 int (*fn)(const char *, size_t, void *), void *arg)
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

void ipg_audit_rotated_name(char *out, size_t size, const char *path,
			    unsigned i)
{
	snprintf(out, size, "%s.%u.gz", path, i);
}

void ipg_audit_rotating_name(char *out, size_t size, const char *path)
{
	snprintf(out, size, "%s.rotating", path);
}

/* The highest N for which @path.N.gz exists (0 when none does). Files
 * below it that are missing show up as gaps when the log is walked. */
unsigned ipg_audit_rotated_count(const char *path)
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

static int each_counted(const char *line, size_t len, void *arg)
{
	struct ipg_audit_each_ctx *c = arg;

	c->line++;
	return c->fn(line, len, c->arg);
}

static int each_file(struct ipg_audit_each_ctx *c, const char *name,
		     int must_exist)
{
	int r;

	c->file = name;
	c->line = 0;
	r = ipg_audit_file_lines(name, each_counted, c);
	if (r == -ENOENT && !must_exist)
		return 0;
	if (!r)
		c->files++;
	return r;
}

/* Walks every file of the log, oldest first. */
int ipg_audit_each_all(const char *path, struct ipg_audit_each_ctx *c)
{
	static __thread char name[PATH_MAX];
	unsigned n = ipg_audit_rotated_count(path);
	int r = 0;

	for (unsigned i = n; !r && i > 0; i--) {
		ipg_audit_rotated_name(name, sizeof(name), path, i);
		r = each_file(c, name, 1);
	}
	if (!r) {
		ipg_audit_rotating_name(name, sizeof(name), path);
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
	struct ipg_audit_each_ctx c = { .fn = fn, .arg = arg };

	return ipg_audit_each_all(path, &c);
}

/* The "prev" link a line claims, for the first line after rotation. */
int ipg_audit_line_link(const char *line, size_t len, char prev[IPG_HASH_HEX],
			uint64_t *seq)
{
	const char *p = memmem(line, len, IPG_AUDIT_PREV_KEY,
			       strlen(IPG_AUDIT_PREV_KEY));

	if (!p || (size_t)(line + len - p) < strlen(IPG_AUDIT_PREV_KEY) + 64 ||
	    sscanf(line, "{\"seq\":%" SCNu64 ",", seq) != 1 || !*seq)
		return -EBADMSG;
	memcpy(prev, p + strlen(IPG_AUDIT_PREV_KEY), 64);
	prev[64] = '\0';
	return 0;
}

/* The head record: "LAST_SEQ HASH FIRST_SEQ\n", fixed width. Returns 0,
 * -ENODATA for an empty file, -EBADMSG for one that is not a head record,
 * or the read's negative errno. */
int ipg_audit_read_head_fd(int fd, uint64_t *seq, char hash[IPG_HASH_HEX],
			   uint64_t *first)
{
	char buf[IPG_AUDIT_HEAD_LEN + 1] = { 0 };
	ssize_t n = pread(fd, buf, IPG_AUDIT_HEAD_LEN, 0);

	if (n < 0)
		return -errno;
	if (!n)
		return -ENODATA;
	if (n != IPG_AUDIT_HEAD_LEN || buf[IPG_AUDIT_HEAD_LEN - 1] != '\n' ||
	    sscanf(buf, "%20" SCNu64 " %64[0-9a-f] %20" SCNu64, seq, hash,
		   first) != 3 ||
	    strlen(hash) != 64)
		return -EBADMSG;
	return 0;
}

const char *ipg_audit_head_problem(int err, char *buf, size_t size)
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
