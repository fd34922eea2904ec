// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "anchors.h"
#include "journal.h"

#define ANCHORS_MAGIC "ipgate-anchors/1\n"
#define F_SEQ "IPGATE_AUDIT_SEQ"
#define F_HASH "IPGATE_AUDIT_HASH"
#define F_LOG "IPGATE_AUDIT_LOG"

int ipg_journal_anchor(void *arg, const char *log, uint64_t seq,
		       const char *hash, const char *action)
{
	struct ipg_buf msg = { 0 };
	char num[24];
	int r;

	snprintf(num, sizeof(num), "%" PRIu64, seq);
	ipg_buf_printf(&msg, "audit record %s (%s) of %s has hash %s", num,
		       action, log, hash);
	if (msg.oom) {
		ipg_buf_free(&msg);
		return -ENOMEM;
	}
	r = ipg_journal_send(
		arg,
		(const struct ipg_jfield[]){
			{ "MESSAGE", msg.s },
			{ "PRIORITY", "6" },
			{ "SYSLOG_IDENTIFIER", program_invocation_short_name },
			{ F_SEQ, num },
			{ F_HASH, hash },
			{ "IPGATE_AUDIT_ACTION", action },
			{ F_LOG, log } },
		7);
	ipg_buf_free(&msg);
	return r;
}

/* The fields of one journal entry that matter here. */
struct entry {
	char seq[24], hash[IPG_HASH_HEX + 1], log[PATH_MAX];
	int has_seq, has_hash, has_log;
};

/* Which of our fields @key names: its buffer and flag, or NULL. */
static char *entry_field(struct entry *en, const char *key, size_t klen,
			 size_t *size, int **has)
{
	static const struct {
		const char *key;
		size_t off, size, has;
	} f[] = {
		{ F_SEQ, offsetof(struct entry, seq),
		  sizeof(((struct entry *)0)->seq),
		  offsetof(struct entry, has_seq) },
		{ F_HASH, offsetof(struct entry, hash),
		  sizeof(((struct entry *)0)->hash),
		  offsetof(struct entry, has_hash) },
		{ F_LOG, offsetof(struct entry, log),
		  sizeof(((struct entry *)0)->log),
		  offsetof(struct entry, has_log) },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (klen == strlen(f[i].key) && !memcmp(key, f[i].key, klen)) {
			*size = f[i].size;
			*has = (int *)((char *)en + f[i].has);
			return (char *)en + f[i].off;
		}
	return NULL;
}

static int is_ours(const char *key, size_t klen)
{
	struct entry en;
	size_t size;
	int *has;

	return entry_field(&en, key, klen, &size, &has) != NULL;
}

static int add_anchor(struct ipg_anchors *s, uint64_t seq, const char *hash)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct ipg_anchor *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n].seq = seq;
	memcpy(s->v[s->n].hash, hash, IPG_HASH_HEX);
	s->n++;
	return 0;
}

/* Takes the anchor of one complete entry, if it has one. */
static int commit(struct ipg_anchors *s, struct entry *en, const char *name,
		  struct ipg_error *e)
{
	uint64_t no = ++s->entries, seq;
	size_t i;
	char *end;

	if (!en->has_seq && !en->has_hash)
		return 0;
	if (!en->has_seq || !en->has_hash)
		return ipg_fail(e, -EBADMSG,
				"%s: entry %" PRIu64 " has %s but no %s", name,
				no, en->has_seq ? F_SEQ : F_HASH,
				en->has_seq ? F_HASH : F_SEQ);
	errno = 0;
	seq = strtoull(en->seq, &end, 10);
	if (!isdigit((unsigned char)en->seq[0]) || *end || errno || !seq)
		return ipg_fail(e, -EBADMSG,
				"%s: entry %" PRIu64 ": %s=\"%s\" is not a "
				"record number",
				name, no, F_SEQ, en->seq);
	for (i = 0; en->hash[i] && strchr("0123456789abcdef", en->hash[i]); i++)
		;
	if (i != 64 || en->hash[i])
		return ipg_fail(e, -EBADMSG,
				"%s: entry %" PRIu64 ": %s=\"%s\" is not a "
				"SHA-256 in hex",
				name, no, F_HASH, en->hash);
	if (en->has_log) {
		if (!en->log[0] || strchr(en->log, '\n'))
			return ipg_fail(e, -EBADMSG,
					"%s: entry %" PRIu64 ": %s is not a "
					"path",
					name, no, F_LOG);
		if (!s->log) {
			s->log = strdup(en->log);
			if (!s->log)
				return ipg_fail(e, -ENOMEM, "out of memory");
		} else if (strcmp(s->log, en->log)) {
			return ipg_fail(e, -EBADMSG,
					"%s: anchors for two audit logs, %s "
					"and %s (entry %" PRIu64
					"); export one with journalctl "
					"%s=PATH",
					name, s->log, en->log, no, F_LOG);
		}
	}
	if (add_anchor(s, seq, en->hash))
		return ipg_fail(e, -ENOMEM, "out of memory");
	return 0;
}

/* Sets one of our fields from @len bytes of @val; others are ignored. */
static int set_field(struct ipg_anchors *s, struct entry *en, const char *key,
		     size_t klen, const char *val, size_t len, const char *name,
		     struct ipg_error *e)
{
	size_t size;
	int *has;
	char *f = entry_field(en, key, klen, &size, &has);

	if (!f)
		return 0;
	if (*has)
		return ipg_fail(e, -EBADMSG,
				"%s: entry %" PRIu64 " has %.*s twice", name,
				s->entries + 1, (int)klen, key);
	if (len >= size || memchr(val, '\0', len))
		return ipg_fail(e, -EBADMSG,
				"%s: entry %" PRIu64 ": %.*s is not valid",
				name, s->entries + 1, (int)klen, key);
	memcpy(f, val, len);
	f[len] = '\0';
	*has = 1;
	return 0;
}

/* ---- journalctl -o json, json-seq, json-pretty: JSON objects ---- */

struct jp {
	const char *s, *end;
};

static void jp_space(struct jp *p)
{
	while (p->s < p->end && (isspace((unsigned char)*p->s) ||
				 *p->s == 0x1e)) /* json-seq's separator */
		p->s++;
}

/* Reads the JSON string at p->s into @out (@size bytes, NUL-ended; *len
 * its length, or @size when it did not fit; @out may be NULL to skip it).
 * Returns 0, or -EBADMSG when there is no string. */
static int jp_string(struct jp *p, char *out, size_t size, size_t *len)
{
	size_t n = 0;

	if (p->s >= p->end || *p->s != '"')
		return -EBADMSG;
	for (p->s++; p->s < p->end && *p->s != '"'; n++) {
		unsigned char c = (unsigned char)*p->s++;
		unsigned u;

		if (c < 0x20)
			return -EBADMSG;
		if (c == '\\') {
			if (p->s >= p->end)
				return -EBADMSG;
			c = (unsigned char)*p->s++;
			switch (c) {
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'u':
				if (p->end - p->s < 4 ||
				    sscanf(p->s, "%4x", &u) != 1)
					return -EBADMSG;
				p->s += 4;
				/* Our fields are ASCII; anything else makes
				 * the value invalid. */
				c = u && u < 0x80 ? (unsigned char)u : 0;
				break;
			case '"':
			case '\\':
			case '/':
				break;
			default:
				return -EBADMSG;
			}
		}
		if (out && n + 1 < size)
			out[n] = (char)c;
	}
	if (p->s >= p->end)
		return -EBADMSG;
	p->s++;
	if (out) {
		out[n < size ? n : size - 1] = '\0';
		*len = n < size ? n : size;
	}
	return 0;
}

/* Skips one JSON value of any kind. */
static int jp_skip(struct jp *p, int depth)
{
	char close;

	jp_space(p);
	if (p->s >= p->end || depth > 32)
		return -EBADMSG;
	if (*p->s == '"')
		return jp_string(p, NULL, 0, NULL);
	if (*p->s != '[' && *p->s != '{') {
		const char *start = p->s;

		while (p->s < p->end &&
		       (isalnum((unsigned char)*p->s) || *p->s == '-' ||
			*p->s == '+' || *p->s == '.'))
			p->s++;
		return p->s > start ? 0 : -EBADMSG;
	}
	close = *p->s == '[' ? ']' : '}';
	p->s++;
	jp_space(p);
	if (p->s < p->end && *p->s == close) {
		p->s++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			jp_space(p);
			if (jp_string(p, NULL, 0, NULL))
				return -EBADMSG;
			jp_space(p);
			if (p->s >= p->end || *p->s++ != ':')
				return -EBADMSG;
		}
		if (jp_skip(p, depth + 1))
			return -EBADMSG;
		jp_space(p);
		if (p->s >= p->end)
			return -EBADMSG;
		if (*p->s == close) {
			p->s++;
			return 0;
		}
		if (*p->s++ != ',')
			return -EBADMSG;
	}
}

static int not_json(const struct ipg_anchors *s, const char *name,
		    struct ipg_error *e)
{
	return ipg_fail(e, -EBADMSG,
			"%s: entry %" PRIu64 " is not a JSON object as "
			"journalctl -o json writes",
			name, s->entries + 1);
}

/* One object's members; our fields must be strings. */
static int json_entry(struct ipg_anchors *s, struct jp *p, const char *name,
		      struct ipg_error *e)
{
	struct entry en = { 0 };
	char key[64], val[PATH_MAX];
	size_t klen, vlen;
	int r;

	p->s++; /* '{' */
	jp_space(p);
	if (p->s < p->end && *p->s == '}') {
		p->s++;
		return commit(s, &en, name, e);
	}
	for (;;) {
		jp_space(p);
		if (jp_string(p, key, sizeof(key), &klen))
			return not_json(s, name, e);
		jp_space(p);
		if (p->s >= p->end || *p->s++ != ':')
			return not_json(s, name, e);
		jp_space(p);
		if (klen < sizeof(key) && is_ours(key, klen)) {
			if (p->s >= p->end || *p->s != '"')
				return ipg_fail(e, -EBADMSG,
						"%s: entry %" PRIu64 ": %s is "
						"not one text value",
						name, s->entries + 1, key);
			if (jp_string(p, val, sizeof(val), &vlen))
				return not_json(s, name, e);
			r = set_field(s, &en, key, klen, val, vlen, name, e);
			if (r)
				return r;
		} else if (jp_skip(p, 0)) {
			return not_json(s, name, e);
		}
		jp_space(p);
		if (p->s >= p->end)
			return not_json(s, name, e);
		if (*p->s == '}') {
			p->s++;
			return commit(s, &en, name, e);
		}
		if (*p->s++ != ',')
			return not_json(s, name, e);
	}
}

static int parse_json(struct ipg_anchors *s, const char *text, size_t len,
		      const char *name, struct ipg_error *e)
{
	struct jp p = { text, text + len };
	int r;

	for (;;) {
		/* Also takes a JSON array of entries. */
		while (jp_space(&p),
		       p.s < p.end &&
			       (*p.s == '[' || *p.s == ']' || *p.s == ','))
			p.s++;
		if (p.s >= p.end)
			return 0;
		if (*p.s != '{')
			return not_json(s, name, e);
		r = json_entry(s, &p, name, e);
		if (r)
			return r;
	}
}

/* ---- journalctl -o export: KEY=VALUE lines, a blank line ends an entry;
 * a binary value is KEY, newline, 64-bit LE length, the bytes, newline. */

static int parse_export(struct ipg_anchors *s, const char *text, size_t len,
			const char *name, struct ipg_error *e)
{
	const char *p = text, *end = text + len;
	struct entry en = { 0 };
	int open = 0, r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *key = p, *eq, *val;
		size_t klen, vlen;

		if (le == p) { /* a blank line ends the entry */
			if (open) {
				r = commit(s, &en, name, e);
				if (r)
					return r;
				memset(&en, 0, sizeof(en));
				open = 0;
			}
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(le - p));
		klen = (size_t)((eq ? eq : le) - p);
		for (size_t i = 0; i < klen; i++)
			if (!isupper((unsigned char)p[i]) &&
			    !isdigit((unsigned char)p[i]) && p[i] != '_')
				klen = 0;
		if (!klen || klen > 64)
			return ipg_fail(e, -EBADMSG,
					"%s: entry %" PRIu64 " is neither "
					"journalctl -o export nor -o json "
					"output",
					name, s->entries + 1);
		if (eq) {
			val = eq + 1;
			vlen = (size_t)(le - val);
			p = nl ? nl + 1 : end;
		} else {
			uint64_t n;

			if (!nl || (size_t)(end - nl - 1) < sizeof(n))
				return ipg_fail(e, -EBADMSG,
						"%s: entry %" PRIu64 ": %.*s "
						"is cut short",
						name, s->entries + 1, (int)klen,
						p);
			memcpy(&n, nl + 1, sizeof(n));
			n = le64toh(n);
			val = nl + 1 + sizeof(n);
			if (n >= (uint64_t)(end - val) || val[n] != '\n')
				return ipg_fail(e, -EBADMSG,
						"%s: entry %" PRIu64 ": %.*s "
						"is cut short",
						name, s->entries + 1, (int)klen,
						p);
			vlen = (size_t)n;
			p = val + n + 1;
		}
		open = 1;
		r = set_field(s, &en, key, klen, val, vlen, name, e);
		if (r)
			return r;
	}
	return open ? commit(s, &en, name, e) : 0;
}

/* ---- the compact form: the magic line, "log PATH", "SEQ HASH" lines ---- */

static int parse_compact(struct ipg_anchors *s, const char *text, size_t len,
			 const char *name, struct ipg_error *e)
{
	const char *p = text + strlen(ANCHORS_MAGIC), *end = text + len;
	struct entry en;
	int r;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *sp;

		memset(&en, 0, sizeof(en));
		sp = memchr(p, ' ', (size_t)(le - p));
		if (!sp)
			return ipg_fail(e, -EBADMSG,
					"%s: entry %" PRIu64
					" is not \"SEQ HASH\"",
					name, s->entries + 1);
		if (sp - p == 3 && !memcmp(p, "log", 3))
			r = set_field(s, &en, F_LOG, strlen(F_LOG), sp + 1,
				      (size_t)(le - sp - 1), name, e);
		else
			r = set_field(s, &en, F_SEQ, strlen(F_SEQ), p, (size_t)(sp - p), name, e) ?:
				    set_field(s, &en, F_HASH, strlen(F_HASH),
					      sp + 1, (size_t)(le - sp - 1),
					      name, e);
		if (!r && en.has_log) {
			/* A log line alone: only its path counts. */
			en.has_seq = en.has_hash = 0;
			if (!s->log && !(s->log = strdup(en.log)))
				r = ipg_fail(e, -ENOMEM, "out of memory");
			else if (strcmp(s->log, en.log))
				r = ipg_fail(e, -EBADMSG,
					     "%s: anchors for two audit logs, "
					     "%s and %s",
					     name, s->log, en.log);
		} else if (!r) {
			r = commit(s, &en, name, e);
		}
		if (r)
			return r;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct ipg_anchor *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->hash, y->hash);
}

int ipg_anchors_parse(struct ipg_anchors *s, const char *text, size_t len,
		      const char *name, struct ipg_error *e)
{
	size_t i = 0, n = 0;
	int r;

	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (len >= strlen(ANCHORS_MAGIC) &&
	    !memcmp(text, ANCHORS_MAGIC, strlen(ANCHORS_MAGIC)))
		r = parse_compact(s, text, len, name, e);
	else if (i < len &&
		 (text[i] == '{' || text[i] == '[' || text[i] == 0x1e))
		r = parse_json(s, text, len, name, e);
	else
		r = parse_export(s, text, len, name, e);
	if (r)
		return r;
	if (!s->n)
		return ipg_fail(e, -ENODATA,
				"%s holds no ipgate audit anchors (none of its "
				"%" PRIu64 " entries has %s and %s); export "
				"them with: journalctl -o export %s=%s",
				name, s->entries, F_SEQ, F_HASH, F_LOG,
				"/var/log/ipgate/audit.jsonl");
	qsort(s->v, s->n, sizeof(*s->v), by_seq);
	for (i = 0; i < s->n; i++)
		if (!n || by_seq(&s->v[n - 1], &s->v[i]))
			s->v[n++] = s->v[i];
	s->n = n;
	return 0;
}

size_t ipg_anchors_encode(const struct ipg_anchors *s, size_t max,
			  struct ipg_buf *out)
{
	size_t from = s->n > max ? s->n - max : 0;

	ipg_buf_printf(out, ANCHORS_MAGIC);
	if (s->log)
		ipg_buf_printf(out, "log %s\n", s->log);
	for (size_t i = from; i < s->n; i++)
		ipg_buf_printf(out, "%" PRIu64 " %s\n", s->v[i].seq,
			       s->v[i].hash);
	return from;
}

void ipg_anchors_free(struct ipg_anchors *s)
{
	free(s->v);
	free(s->log);
	memset(s, 0, sizeof(*s));
}
