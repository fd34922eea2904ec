// SPDX-License-Identifier: GPL-2.0
/* Reading the audit log for `ipgate log`: the last records, rendered, and
 * verification. */
#include "daemon.h"

static void field_text(const char *line, const char *key, char *out,
		       size_t size)
{
	size_t len;
	const char *v = ipg_json_field(line, key, &len);

	if (v)
		ipg_json_string(v, len, out, size);
	else
		snprintf(out, size, "?");
}

static void render_record(struct ipg_buf *b, const char *line)
{
	char seq[24], time_[40], action[40], user[64], client[64];
	char what[96], list[IPG_LIST_NAME_MAX + 8];
	const char *actor, *before, *after, *lv;
	size_t alen, blen, aflen, llen;

	field_text(line, "seq", seq, sizeof(seq));
	field_text(line, "time", time_, sizeof(time_));
	field_text(line, "action", action, sizeof(action));
	/* The list it changed, when one: "add acme"; several: "apply *". */
	lv = ipg_json_field(line, "list", &llen);
	if (lv && *lv == '"')
		ipg_json_string(lv, llen, list, sizeof(list));
	else
		snprintf(list, sizeof(list), "%s", lv && *lv == '[' ? "*" : "");
	snprintf(what, sizeof(what), "%s%s%s", action, *list ? " " : "", list);
	actor = ipg_json_field(line, "actor", &alen);
	before = ipg_json_field(line, "before", &blen);
	after = ipg_json_field(line, "after", &aflen);
	if (actor) {
		char *a = strndup(actor, alen);

		field_text(a ? a : "{}", "user", user, sizeof(user));
		field_text(a ? a : "{}", "client", client, sizeof(client));
		free(a);
	} else {
		snprintf(user, sizeof(user), "?");
		snprintf(client, sizeof(client), "?");
	}
	ipg_buf_printf(b, "%6s  %s  %-10s %-15s %-16s %.*s -> %.*s\n", seq,
		       time_, user, strcmp(client, "null") ? client : "-", what,
		       before ? (int)blen : 4, before ? before : "null",
		       after ? (int)aflen : 4, after ? after : "null");
}

/* The last @max records of the log, or with @max 0 every record, rendered
 * into @out as it is read. */
struct tail {
	char **lines;
	size_t n, max, next;
	struct ipg_buf *out;
	int json;
	size_t emitted;
	const char *list; /* only records of this list, or NULL */
	uint64_t before; /* only records before this seq; 0: every one */
};

/* Whether @line belongs in list @name's trail: records that changed it,
 * and those of no one list that open or close every list (host-wide
 * overrides, unscoped break-glass keys and grants, detach and attach). */
static bool in_trail(const char *line, const char *name)
{
	static const char *const every[] = { "override-", "breakglass-",
					     "detach", "attach" };
	char action[40];
	size_t len;
	const char *lv = ipg_json_field(line, "list", &len);

	if (ipg_audit_record_of(line, name))
		return true;
	if (lv && *lv != 'n')
		return false;
	field_text(line, "action", action, sizeof(action));
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++)
		if (!strncmp(action, every[i], strlen(every[i])))
			return true;
	return false;
}

/* Appends one record to the reply: the JSON line as stored, or a row under
 * the column heads (printed before the first row). */
static void emit_record(struct tail *t, const char *line)
{
	if (t->json) {
		ipg_buf_printf(t->out, "%s\n", line);
	} else {
		if (!t->emitted)
			ipg_buf_printf(t->out,
				       "%6s  %-24s  %-10s %-15s %-16s %s\n",
				       "SEQ", "TIME", "USER", "CLIENT",
				       "ACTION", "BEFORE -> AFTER");
		render_record(t->out, line);
	}
	t->emitted++;
}

static int keep_line(const char *line, size_t len, void *arg)
{
	struct tail *t = arg;
	char *s = strndup(line, len);

	if (s && t->before) {
		char seq[24];

		field_text(s, "seq", seq, sizeof(seq));
		if (strtoull(seq, NULL, 10) >= t->before) {
			free(s);
			return 0;
		}
	}
	if (s && t->list && !in_trail(s, t->list)) {
		free(s);
		return 0;
	}
	if (s && !t->max) {
		emit_record(t, s);
		free(s);
		return t->out->oom ? -ENOMEM : 0;
	}
	if (!s)
		return -ENOMEM;
	if (t->n < t->max) {
		t->lines[t->n++] = s;
	} else {
		free(t->lines[t->next]);
		t->lines[t->next] = s;
		t->next = (t->next + 1) % t->max;
	}
	return 0;
}

/* log --verify [--anchors]: the chain, the head, and the journal's
 * anchors when the CLI sent them. */
/* The verification report as JSON: one call per field. */
static int verify_json(struct req *q, const struct ipg_audit_report *rep,
		       bool anchored)
{
	struct ipg_print p;

	ipg_print_init(&p, &q->out, true);
	ipg_print_open_object(&p, NULL);
	ipg_print_bool(&p, IPG_PR_JSON, "verified", NULL, true);
	ipg_print_u64(&p, IPG_PR_JSON, "records", NULL, rep->lines);
	ipg_print_u64(&p, IPG_PR_JSON, "first_seq", NULL, rep->first_seq);
	ipg_print_u64(&p, IPG_PR_JSON, "last_seq", NULL, rep->last_seq);
	ipg_print_u64(&p, IPG_PR_JSON, "files", NULL, rep->files);
	ipg_print_bool(&p, IPG_PR_JSON, "head_checked", NULL,
		       rep->head_checked);
	ipg_print_u64(&p, IPG_PR_JSON, "lost_records", NULL, rep->lost);
	ipg_print_bool(&p, IPG_PR_JSON, "anchored", NULL, anchored);
	ipg_print_u64(&p, IPG_PR_JSON, "anchors_matched", NULL,
		      rep->anchors_matched);
	ipg_print_u64(&p, IPG_PR_JSON, "anchors_newest", NULL,
		      rep->anchors_newest);
	ipg_print_u64(&p, IPG_PR_JSON, "anchors_rotated", NULL,
		      rep->anchors_rotated);
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

/* What the anchors proved, and what they could not. */
static void verify_text_anchors(struct ipg_buf *b,
				const struct ipg_audit_report *rep)
{
	ipg_buf_printf(b,
		       "journal anchors: %" PRIu64 " match; records %" PRIu64
		       "-%" PRIu64 " are the ones ipgated wrote\n",
		       rep->anchors_matched, rep->first_seq,
		       rep->anchors_newest);
	if (rep->last_seq > rep->anchors_newest)
		ipg_buf_printf(b,
			       "records %" PRIu64 "-%" PRIu64
			       " are newer than the newest anchor: the "
			       "journal does not pin them\n",
			       rep->anchors_newest + 1, rep->last_seq);
	if (rep->anchors_rotated)
		ipg_buf_printf(b,
			       "%" PRIu64 " anchors name records rotated "
			       "away\n",
			       rep->anchors_rotated);
}

/* The verification report in words. */
static void verify_text(struct ipg_buf *b, const struct ipg_audit_report *rep,
			bool anchored)
{
	ipg_buf_printf(b, "audit log verified: %" PRIu64 " records",
		       rep->lines);
	if (rep->lines)
		ipg_buf_printf(b, " (%" PRIu64 "-%" PRIu64 ")", rep->first_seq,
			       rep->last_seq);
	ipg_buf_printf(b, " in %u file%s%s\n", rep->files,
		       rep->files == 1 ? "" : "s",
		       rep->head_checked ? "; the last record is the one "
					   "ipgated wrote" :
					   "");
	if (rep->first_seq > 1)
		ipg_buf_printf(b,
			       "records before %" PRIu64 " were rotated away\n",
			       rep->first_seq);
	if (anchored)
		verify_text_anchors(b, rep);
	else
		ipg_buf_printf(b,
			       "chain and head consistent; without anchors a "
			       "root rewrite cannot be detected (ipgate log "
			       "--verify --anchors FILE, see the README)\n");
	if (rep->lost &&
	    (!anchored || rep->anchors_newest < rep->last_lost_seq))
		ipg_buf_printf(b,
			       "warning: %" PRIu64 " record%s say%s a start "
			       "found the audit head or tail lost (the last: "
			       "record %" PRIu64 "); records cut before %s "
			       "cannot be excluded\n",
			       rep->lost, rep->lost == 1 ? "" : "s",
			       rep->lost == 1 ? "s" : "", rep->last_lost_seq,
			       rep->lost == 1 ? "it" : "each");
}

static int do_log_verify(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_anchors an = { 0 };
	struct ipg_audit_report rep;
	struct ipg_error e;
	const char *at;
	size_t alen;
	int r;

	at = ipg_ctl_getn(q->m, "anchors", &alen);
	if (at) {
		r = ipg_anchors_parse(&an, at, alen, "the anchors sent", &e);
		if (r) {
			ipg_anchors_free(&an);
			return reply_errf(q, r, "%s", e.msg);
		}
	}
	r = ipg_audit_verify_anchored(d->o.audit_log, d->head_path,
				      at ? &an : NULL, &rep, &e);
	ipg_anchors_free(&an);
	if (r)
		return reply_errf(q, r, "audit log does NOT verify: %s", e.msg);
	if (q->json)
		return verify_json(q, &rep, at != NULL);
	verify_text(&q->out, &rep, at != NULL);
	return 0;
}

int do_log(struct req *q)
{
	struct daemon *d = q->d;
	const char *ls = ipg_ctl_get(q->m, "lines");
	struct tail t = { 0 };
	int r;

	/* A list of the fleet's store: its trail is the store's. */
	if (store_log(q, ipg_ctl_get(q->m, "list"), &r))
		return r;
	if (ipg_ctl_flag(q->m, "verify"))
		return do_log_verify(q);
	/* -n 0: every record, rendered as it is read (no copy kept). */
	t.max = ls ? strtoul(ls, NULL, 10) : 20;
	t.out = &q->out;
	t.json = q->json;
	/* A removed list's trail stays readable: the name need not be in the
	 * config, only well-formed. */
	t.list = ipg_ctl_get(q->m, "list");
	if (t.list && !ipg_list_name_ok(t.list))
		return reply_errf(q, -EINVAL,
				  "--list \"%s\" is not a list name", t.list);
	ls = ipg_ctl_get(q->m, "before");
	t.before = ls ? strtoull(ls, NULL, 10) : 0;
	t.lines = t.max ? calloc(t.max, sizeof(*t.lines)) : NULL;
	if (t.max && !t.lines)
		return reply_errf(q, -ENOMEM,
				  "out of memory for the last %zu records; "
				  "ask for fewer with -n",
				  t.max);
	r = ipg_audit_each(d->o.audit_log, keep_line, &t);
	if (r && r != -ENOENT) {
		reply_errf(q, r, "cannot read %s: %s", d->o.audit_log,
			   strerror(-r));
	} else {
		r = 0;
		for (size_t i = 0; i < t.n; i++)
			emit_record(&t, t.lines[(t.next + i) % t.n]);
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.lines[i]);
	free(t.lines);
	return r;
}
