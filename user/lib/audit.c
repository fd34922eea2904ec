// SPDX-License-Identifier: GPL-2.0
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
#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
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
	if (body < strlen(link) || strncmp(line + body - strlen(link), link, strlen(link))) {
		*why = "it does not follow the line before (a line was dropped, "
		       "added or moved)";
		return -EBADMSG;
	}
	if (sscanf(line, "{\"seq\":%" SCNu64 ",", &got_seq) != 1 || got_seq != seq) {
		*why = "its sequence number is out of order";
		return -EBADMSG;
	}
	return 0;
}

/* Calls @fn for each line of @path; stops at the first non-zero return. */
static int each_line(const char *path, int (*fn)(const char *, size_t, void *),
		     void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!r && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		r = fn(line, (size_t)n, arg);
	}
	free(line);
	fclose(f);
	return r;
}

struct walk {
	uint64_t seq;
	char hash[IPG_HASH_HEX];
	const char *why;
};

static int walk_line(const char *line, size_t len, void *arg)
{
	struct walk *w = arg;
	char hash[IPG_HASH_HEX];
	int r;

	r = check_line(line, len, w->hash, w->seq + 1, hash, &w->why);
	if (r)
		return r;
	w->seq++;
	memcpy(w->hash, hash, sizeof(hash));
	return 0;
}

int ipg_audit_verify(const char *path, uint64_t *lines, struct ipg_error *e)
{
	struct walk w = { .hash = ZERO_HASH };
	int r = each_line(path, walk_line, &w);

	if (r == -EBADMSG)
		return ipg_fail(e, r, "%s: line %" PRIu64 ": %s", path,
				w.seq + 1, w.why);
	if (r)
		return ipg_fail(e, r, "cannot read %s: %s", path, strerror(-r));
	if (lines)
		*lines = w.seq;
	return 0;
}

int ipg_audit_open(struct ipg_audit *a, const char *path, struct ipg_error *e)
{
	struct walk w = { .hash = ZERO_HASH };
	int r;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (a->fd < 0)
		return ipg_fail(e, -errno, "cannot open the audit log %s: %s",
				path, strerror(errno));
	/* Continue the chain from the last good line; a broken log is
	 * reported, and new lines still chain to what is there. */
	r = each_line(path, walk_line, &w);
	if (r == -EBADMSG)
		pr_warn("audit log %s: line %" PRIu64 ": %s; run 'ipgate log "
			"--verify'", path, w.seq + 1, w.why);
	else if (r)
		pr_warn("audit log %s: %s", path, strerror(-r));
	a->seq = w.seq;
	memcpy(a->last_hash, w.hash, sizeof(a->last_hash));
	return 0;
}

void ipg_audit_close(struct ipg_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
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
	ipg_buf_printf(&b, "\"actor\":{\"uid\":%u,\"user\":", (unsigned)who->uid);
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
		return ipg_fail(e, r ? r : -ENOMEM, "cannot hash the audit record");
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
	ipg_buf_free(&b);
	if (r)
		return ipg_fail(e, r, "cannot write the audit log: %s",
				strerror(-r));
	a->seq++;
	memcpy(a->last_hash, hash, sizeof(hash));
	return 0;
}
