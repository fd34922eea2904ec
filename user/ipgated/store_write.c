// SPDX-License-Identifier: GPL-2.0
/* The fleet's store, the other way: changes made on this host (one
 * transaction each, answered once this host runs its revision), this
 * host's record under hosts/, `ipgate fleet`, and a list's trail in the
 * store (`ipgate log --list NAME [--verify]`). docs/design.md, "The
 * fleet". */
#include "store.h"

/* ---- changes made here ---- */

static void write_unlink(struct store_write *w)
{
	struct store *st = w->d->store;

	for (struct store_write **p = &st->writes; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
}

/* Frees @w once its requester is answered and no request of the store
 * client still holds it (a deadline answers before the store does). */
static void write_free_if_done(struct store_write *w)
{
	if (!w->answered || w->in_flight)
		return;
	ipg_buf_free(&w->out);
	free(w);
}

/* Answers the change's requester (once) and forgets it. With @err 0, a
 * @msg is a note: the change was made but not as asked (not run here). */
void write_end(struct store_write *w, int err, const char *msg)
{
	struct ipg_ctl_msg rep = { 0 };

	if (w->answered)
		return;
	write_unlink(w);
	if (!err && msg)
		ipg_buf_printf(&w->out, "note: %s\n", msg);
	ipg_ctl_set(&rep, "code", ipg_ctl_code_name(err));
	if (msg)
		ipg_ctl_set(&rep, "message", msg);
	if (w->out.s)
		ipg_ctl_setn(&rep, "out", w->out.s, w->out.len);
	if (msg)
		pr_info("store: change to list %s: %s", w->list, msg);
	if (w->later)
		w->later(w->d, w->later_arg, w->later_id, err, &rep);
	ipg_ctl_free(&rep);
	w->later = NULL;
	w->answered = true;
	write_free_if_done(w);
}

/* Whether this host refused list @list's text of revision @rev or later. */
static const struct store_refusal *refused_at(const struct store *st,
					      const char *list, int64_t rev)
{
	for (int i = 0; i < st->n_refused; i++)
		if (!strcmp(st->refused[i].name, list) &&
		    st->refused[i].mod_revision >= rev)
			return &st->refused[i];
	return NULL;
}

/* Writes whose revision this host now runs, or whose time is up. */
void writes_check(struct daemon *d)
{
	struct store *st = d->store;
	struct store_write *w = st ? st->writes : NULL;

	while (w) {
		struct store_write *next = w->next;
		const struct store_refusal *f;
		char msg[768];

		if (w->revision && st->revision >= w->revision &&
		    (f = refused_at(st, w->list, w->revision))) {
			snprintf(msg, sizeof(msg),
				 "written to the store as revision %" PRId64
				 ", but this host refused it (%s): the "
				 "list's previous text runs here",
				 w->revision, f->why);
			write_end(w, 0, msg);
		} else if (w->revision && st->revision >= w->revision) {
			ipg_buf_printf(&w->out,
				       "revision %" PRId64
				       " (the fleet's store), enforced here\n",
				       w->revision);
			write_end(w, 0, NULL);
		} else if (time(NULL) >= w->deadline) {
			if (w->revision)
				snprintf(msg, sizeof(msg),
					 "written to the store as revision "
					 "%" PRId64
					 ", but this host does not run it yet "
					 "(it runs %" PRId64 "): see ipgate "
					 "status",
					 w->revision, st->revision);
			else
				snprintf(msg, sizeof(msg),
					 "the store did not answer in %d s; "
					 "the change may or may not have been "
					 "made: re-read list %s",
					 STORE_WRITE_WAIT_S, w->list);
			write_end(w, w->revision ? 0 : -ETIMEDOUT, msg);
		}
		w = next;
	}
}

/* A lost race, second step: who made the list's current revision (its
 * audit record). */
static void on_winner(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		      void *arg)
{
	struct store_write *w = arg;
	char msg[512], who[160] = "outside ipgate (no audit record)";

	(void)c;
	w->in_flight = false;
	if (w->answered) {
		write_free_if_done(w);
		return;
	}
	if (!r->err && r->reply.n_kvs) {
		json_t *j = json_loadb((const char *)r->reply.kvs[0].value,
				       r->reply.kvs[0].value_len, 0, NULL);
		const char *u = json_string_value(json_object_get(j, "user"));
		const char *h = json_string_value(json_object_get(j, "host"));

		if (u) {
			struct ipg_buf b = { 0 };

			/* Another host's words: no terminal escapes. */
			ipg_buf_text_safe(&b, u);
			ipg_buf_printf(&b, " on ");
			ipg_buf_text_safe(&b, h ?: "?");
			snprintf(who, sizeof(who), "%s", b.s ?: "?");
			ipg_buf_free(&b);
		}
		json_decref(j);
	}
	snprintf(msg, sizeof(msg),
		 "list %s changed meanwhile (revision %" PRId64
		 " by %s); re-read it and retry",
		 w->list, w->now_revision, who);
	write_end(w, -ESTALE, msg);
}

static void audit_key(char *out, size_t size, const char *list, int64_t create,
		      int64_t version)
{
	snprintf(out, size, "audit/%s/%020" PRId64 "/%020" PRId64, list, create,
		 version);
}

static void on_txn(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		   void *arg)
{
	struct store_write *w = arg;
	char key[160], msg[700];

	w->in_flight = false;
	if (w->answered) {
		/* Its deadline answered it already. */
		write_free_if_done(w);
		return;
	}
	if (r->err) {
		snprintf(msg, sizeof(msg),
			 r->err == -ETIMEDOUT || r->err == -ECONNRESET ?
				 "the store's answer was lost (%s): list %s "
				 "may or may not have changed: re-read it" :
				 "the store is unreachable (%s): list %s is "
				 "unchanged",
			 r->message, w->list);
		write_end(w,
			  r->err == -ETIMEDOUT || r->err == -ECONNRESET ?
				  -ETIMEDOUT :
				  -EAGAIN,
			  msg);
		return;
	}
	if (r->succeeded) {
		/* The watch brings the revision; only it says connected. */
		w->revision = r->revision;
		writes_check(w->d);
		return;
	}
	/* The list changed since this change's base: who did it? */
	if (r->n_replies && r->replies[0].n_kvs) {
		const struct ipg_etcd_kv *kv = &r->replies[0].kvs[0];

		w->now_revision = kv->mod_revision;
		w->now_create = kv->create_revision;
		w->now_version = kv->version;
		audit_key(key, sizeof(key), w->list, kv->create_revision,
			  kv->version);
		if (!ipg_etcd_range(c, key, false, on_winner, w)) {
			w->in_flight = true;
			return;
		}
	}
	snprintf(msg, sizeof(msg),
		 "list %s changed meanwhile (%s); re-read it and retry",
		 w->list,
		 r->n_replies && r->replies[0].n_kvs ? "by another writer" :
						       "it was deleted");
	write_end(w, -ESTALE, msg);
}

/* The list a store file of the config is ("PREFIX lists/NAME"). */
static const char *file_list(const struct daemon *d, const char *path)
{
	size_t n = strlen(d->cfg.store.prefix);

	if (strncmp(path, d->cfg.store.prefix, n))
		return NULL;
	return list_key(path + n);
}

bool store_writing(const struct daemon *d, const char *list)
{
	for (const struct store_write *w = d->store ? d->store->writes : NULL;
	     w; w = w->next)
		if (!strcmp(w->list, list))
			return true;
	return false;
}

bool store_writes(const struct daemon *d, const struct ipg_config *next)
{
	if (!d->store)
		return false;
	for (int i = 0; i < next->n_files; i++)
		if (next->files[i].dirty && file_list(d, next->files[i].path))
			return true;
	return false;
}

int store_write(struct req *q, const struct ipg_config *next,
		const struct ipg_config_diff *diff)
{
	struct daemon *d = q->d;
	struct store *st = d->store;
	struct ipg_etcd_cmp cmp[IPG_LISTS_MIN];
	struct ipg_etcd_op ops[2 * IPG_LISTS_MIN], fail[IPG_LISTS_MIN];
	char keys[IPG_LISTS_MIN][2][160];
	char *texts[IPG_LISTS_MIN] = { 0 };
	struct ipg_buf rec[IPG_LISTS_MIN] = { 0 };
	struct store_write *w = calloc(1, sizeof(*w));
	struct ipg_etcd_txn t = { .cmp = cmp, .success = ops, .failure = fail };
	char since[40], now[40];
	size_t n = 0;
	int r = 0;

	if (!w)
		return reply_err(q, -ENOMEM, "out of memory");
	w->d = d;
	if (!st->connected) {
		format_utc(st->down_since ? st->down_since : time(NULL), since,
			   sizeof(since));
		free(w);
		return reply_errf(q, -EAGAIN,
				  "the fleet's store is unreachable since %s "
				  "(%s): changes to its lists wait for it; the "
				  "lists that run stay enforced",
				  since, st->error);
	}
	format_utc(time(NULL), now, sizeof(now));
	for (int i = 0; i < next->n_files && !r; i++) {
		const char *name = file_list(d, next->files[i].path);
		const struct store_doc *doc;
		char before[IPG_HASH_HEX] = "", after[IPG_HASH_HEX];

		if (!next->files[i].dirty || !name)
			continue;
		if (n == IPG_LISTS_MIN) {
			r = reply_err(q, -E2BIG,
				      "a change writes at most 64 of the "
				      "store's lists at once");
			break;
		}
		doc = doc_find(st->docs, st->n_docs, name);
		texts[n] = ipg_config_render_file(next, i);
		if (!texts[n] || !doc) {
			r = reply_errf(q, texts[n] ? -ENOENT : -ENOMEM,
				       texts[n] ?
					       "list %s is not in the store" :
					       "out of memory",
				       name);
			break;
		}
		if (!n)
			snprintf(w->list, sizeof(w->list), "%s", name);
		ipg_audit_sha256(doc->text, strlen(doc->text), before);
		ipg_audit_sha256(texts[n], strlen(texts[n]), after);
		/* The fleet's audit record: chained by the list's texts
		 * (before is the last record's after) and by its key, the
		 * list's version. */
		ipg_buf_printf(&rec[n], "{\"time\":\"%s\",\"host\":", now);
		ipg_buf_json_str(&rec[n], st->host);
		ipg_buf_printf(&rec[n], ",\"user\":");
		ipg_buf_json_str(&rec[n], q->who.user ?: "?");
		ipg_buf_printf(&rec[n], ",\"client\":");
		if (q->who.client)
			ipg_buf_json_str(&rec[n], q->who.client);
		else
			ipg_buf_printf(&rec[n], "null");
		ipg_buf_printf(&rec[n], ",\"action\":");
		ipg_buf_json_str(&rec[n], ipg_ctl_get(q->m, "cmd") ?: "?");
		ipg_buf_printf(&rec[n],
			       ",\"list\":\"%s\",\"base_revision\":%" PRId64
			       ",\"version\":%" PRId64
			       ",\"text_before_sha256\":\"%s\""
			       ",\"text_after_sha256\":\"%s\""
			       ",\"before\":%s,\"after\":%s}",
			       name, doc->mod_revision, doc->version + 1,
			       before, after, diff->before.s ?: "null",
			       diff->after.s ?: "null");
		if (rec[n].oom) {
			r = reply_err(q, -ENOMEM, "out of memory");
			break;
		}
		snprintf(keys[n][0], sizeof(keys[n][0]), "lists/%s", name);
		audit_key(keys[n][1], sizeof(keys[n][1]), name,
			  doc->create_revision, doc->version + 1);
		cmp[n] = (struct ipg_etcd_cmp){ .key = keys[n][0],
						.target = IPG_ETCD_MOD,
						.result = IPG_ETCD_EQUAL,
						.number = doc->mod_revision };
		ops[2 * n] =
			(struct ipg_etcd_op){ .type = IPG_ETCD_OP_PUT,
					      .key = keys[n][0],
					      .value = texts[n],
					      .value_len = strlen(texts[n]) };
		ops[2 * n + 1] =
			(struct ipg_etcd_op){ .type = IPG_ETCD_OP_PUT,
					      .key = keys[n][1],
					      .value = rec[n].s,
					      .value_len = rec[n].len };
		fail[n] = (struct ipg_etcd_op){ .type = IPG_ETCD_OP_RANGE,
						.key = keys[n][0] };
		n++;
	}
	if (!r) {
		t.n_cmp = t.n_failure = n;
		t.n_success = 2 * n;
		w->later = q->later;
		w->later_arg = q->later_arg;
		w->later_id = q->later_id;
		w->deadline = time(NULL) + STORE_WRITE_WAIT_S;
		/* The CLI's lines: what changed, then the revision. */
		w->out = q->out;
		memset(&q->out, 0, sizeof(q->out));
		ipg_buf_printf(&w->out, "%s", diff->text.s ?: "");
		r = ipg_etcd_txn(st->etcd, &t, on_txn, w);
		w->in_flight = !r;
		if (r) {
			ipg_buf_free(&w->out);
			r = reply_errf(q, r,
				       "cannot send the change to the "
				       "store: %s",
				       strerror(-r));
		}
	}
	for (size_t i = 0; i < n + 1 && i < IPG_LISTS_MIN; i++) {
		free(texts[i]);
		ipg_buf_free(&rec[i]);
	}
	if (r) {
		free(w);
		return r;
	}
	w->next = st->writes;
	st->writes = w;
	/* Nobody waits (a change ipgated makes itself): answered in the
	 * log only. */
	return q->later ? -EINPROGRESS : 0;
}

/* ---- this host in the fleet ---- */

static void publish(struct daemon *d);

static void on_published(struct ipg_etcd *c, const struct ipg_etcd_result *r,
			 void *arg)
{
	struct daemon *d = arg;

	(void)c;
	if (r->err) {
		d->store->publish = true; /* again at the next tick */
		if (r->err == -ENOENT)
			d->store->lease = 0;
	}
}

static void on_lease(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		     void *arg)
{
	struct daemon *d = arg;
	struct store *st = d->store;

	(void)c;
	st->leasing = false;
	if (r->err)
		return; /* the tick asks again */
	st->lease = r->lease;
	st->keepalive_at = time(NULL) + KEEPALIVE_S;
	publish(d);
}

static void on_keepalive(struct ipg_etcd *c, const struct ipg_etcd_result *r,
			 void *arg)
{
	struct daemon *d = arg;

	struct store *st = d->store;

	(void)c;
	/* Gone (it expired while the store was away): a new one, and the
	 * record again. */
	if (r->err == -ENOENT) {
		st->lease = 0;
		st->publish = true;
	}
	if (r->err)
		return;
	st->heard_at = time(NULL);
	/* The renewal had to go to another member than the watch's: the
	 * watch's member may be hung, and a hung member's watch is silent. */
	if (r->endpoint != st->watch_endpoint && st->watch &&
	    ipg_etcd_watch_running(st->watch))
		store_rewatch(d);
}

/* The record of this host: what it runs and whether it refused any. */
static char *host_record(struct daemon *d)
{
	struct store *st = d->store;
	char now[40], since[40];
	json_t *j, *a = json_array(), *ifs = json_array();
	char *text;

	format_utc(time(NULL), now, sizeof(now));
	format_utc(st->started, since, sizeof(since));
	for (int i = 0; i < st->n_refused; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:I, s:s}", "list",
				     st->refused[i].name, "revision",
				     (json_int_t)st->refused[i].mod_revision,
				     "error", st->refused[i].why));
	for (int i = 0; i < d->cfg.n_interfaces; i++)
		json_array_append_new(ifs, json_string(d->cfg.interfaces[i]));
	j = json_pack("{s:s, s:I, s:i, s:o, s:o, s:b, s:s, s:s}", "host",
		      st->host, "revision", (json_int_t)st->revision, "lists",
		      st->n_docs, "refused", a, "interfaces", ifs, "attached",
		      !d->detached, "time", now, "since", since);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return text;
}

static void publish(struct daemon *d)
{
	struct store *st = d->store;
	char key[2][96];
	char *rec;

	if (!st->lease) {
		if (!st->leasing &&
		    !ipg_etcd_lease_grant(st->etcd, LEASE_TTL_S, on_lease, d))
			st->leasing = true;
		return;
	}
	rec = host_record(d);
	if (!rec)
		return;
	snprintf(key[0], sizeof(key[0]), "hosts/%s", st->host);
	snprintf(key[1], sizeof(key[1]), "seen/%s", st->host);
	struct ipg_etcd_op ops[2] = {
		{ .type = IPG_ETCD_OP_PUT,
		  .key = key[0],
		  .value = rec,
		  .value_len = strlen(rec),
		  .lease = st->lease },
		{ .type = IPG_ETCD_OP_PUT,
		  .key = key[1],
		  .value = rec,
		  .value_len = strlen(rec) },
	};
	struct ipg_etcd_txn t = { .success = ops, .n_success = 2 };

	if (!ipg_etcd_txn(st->etcd, &t, on_published, d)) {
		st->publish = false;
		st->published_at = time(NULL);
	}
	free(rec);
}

/* The tick's share: renew the lease, publish what changed. */
void fleet_tick(struct daemon *d)
{
	struct store *st = d->store;
	time_t now = time(NULL);

	if (!st->connected)
		return;
	if (st->lease && now >= st->keepalive_at) {
		st->keepalive_at = now + KEEPALIVE_S;
		ipg_etcd_lease_keepalive(st->etcd, st->lease, on_keepalive, d);
	}
	if (st->publish || !st->lease || now - st->published_at >= REPUBLISH_S)
		publish(d);
}

/* `ipgate fleet`: every host that ever published, from the store. */
struct fleet_ask {
	struct daemon *d;
	void (*later)(struct daemon *d, void *arg, uint64_t id, int err,
		      const struct ipg_ctl_msg *rep);
	void *later_arg;
	uint64_t later_id;
	bool json;
};

static const struct ipg_etcd_kv *kv_named(const struct ipg_etcd_op_reply *r,
					  const char *key)
{
	for (size_t i = 0; i < r->n_kvs; i++)
		if (!strcmp(r->kvs[i].key, key))
			return &r->kvs[i];
	return NULL;
}

static void on_fleet(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		     void *arg)
{
	struct fleet_ask *f = arg;
	struct ipg_ctl_msg rep = { 0 };
	struct ipg_buf out = { 0 };
	struct ipg_print p;
	int64_t target = 0;
	int err = 0;

	(void)c;
	if (r->err || r->n_replies < 3) {
		err = r->err ? r->err : -EPROTO;
		ipg_ctl_set(&rep, "message", r->message);
		goto done;
	}
	/* What every host should run: the newest list's revision. */
	for (size_t i = 0; i < r->replies[2].n_kvs; i++)
		if (r->replies[2].kvs[i].mod_revision > target)
			target = r->replies[2].kvs[i].mod_revision;
	ipg_print_init(&p, &out, f->json);
	ipg_print_open_object(&p, NULL);
	ipg_print_u64(&p, IPG_PR_JSON, "revision", NULL, (uint64_t)target);
	ipg_print_text(&p, "the store's lists: revision %" PRId64 "\n", target);
	ipg_print_text(&p, "%-24s %10s %8s  %s\n", "HOST", "REVISION", "AGE",
		       "STATE");
	ipg_print_open_array(&p, "hosts");
	for (size_t i = 0; i < r->replies[1].n_kvs; i++) {
		const struct ipg_etcd_kv *seen = &r->replies[1].kvs[i];
		const char *name = seen->key + 5; /* "seen/" */
		char hk[96], at[40] = "";
		const struct ipg_etcd_kv *live;
		json_t *j;
		int64_t rev;
		const char *state;
		struct tm tm = { 0 };
		long age = -1;

		snprintf(hk, sizeof(hk), "hosts/%s", name);
		live = kv_named(&r->replies[0], hk);
		j = json_loadb((const char *)(live ? live : seen)->value,
			       (live ? live : seen)->value_len, 0, NULL);
		rev = json_integer_value(json_object_get(j, "revision"));
		snprintf(at, sizeof(at), "%s",
			 json_string_value(json_object_get(j, "time")) ?: "");
		if (strptime(at, "%Y-%m-%dT%H:%M:%SZ", &tm))
			age = (long)(time(NULL) - timegm(&tm));
		state = !live ? "gone" :
			json_array_size(json_object_get(j, "refused")) ?
				"refusing" :
			rev < target ? "behind" :
				       "ok";
		ipg_print_open_object(&p, NULL);
		ipg_print_string(&p, IPG_PR_ANY | IPG_PR_SAFE, "host", "%-24s",
				 name);
		ipg_print_u64(&p, IPG_PR_ANY, "revision", " %10s",
			      (uint64_t)rev);
		ipg_print_text(&p, " %7lds", age < 0 ? 0 : age);
		ipg_print_u64(&p, IPG_PR_JSON, "age", NULL,
			      (uint64_t)(age < 0 ? 0 : age));
		ipg_print_string(&p, IPG_PR_ANY, "state", "  %s\n", state);
		ipg_print_close_object(&p);
		json_decref(j);
	}
	ipg_print_close_array(&p);
	ipg_print_close_object(&p);
	if (out.s)
		ipg_ctl_setn(&rep, "out", out.s, out.len);
done:
	ipg_ctl_set(&rep, "code", ipg_ctl_code_name(err));
	if (err && !ipg_ctl_get(&rep, "message"))
		ipg_ctl_set(&rep, "message", "the store did not answer");
	f->later(f->d, f->later_arg, f->later_id, err, &rep);
	ipg_ctl_free(&rep);
	ipg_buf_free(&out);
	free(f);
}

int do_fleet(struct req *q)
{
	struct store *st = q->d->store;
	struct fleet_ask *f;
	struct ipg_etcd_op ops[3] = {
		{ .type = IPG_ETCD_OP_RANGE, .key = "hosts/", .prefix = true },
		{ .type = IPG_ETCD_OP_RANGE, .key = "seen/", .prefix = true },
		{ .type = IPG_ETCD_OP_RANGE, .key = "lists/", .prefix = true },
	};
	struct ipg_etcd_txn t = { .success = ops, .n_success = 3 };

	if (!st)
		return reply_err(q, -ENOENT,
				 "no fleet: this host has no store (the "
				 "config's store setting)");
	if (!q->later)
		return reply_err(q, -ENOTSUP, "fleet: ask over the socket");
	f = calloc(1, sizeof(*f));
	if (!f)
		return reply_err(q, -ENOMEM, "out of memory");
	*f = (struct fleet_ask){ .d = q->d,
				 .later = q->later,
				 .later_arg = q->later_arg,
				 .later_id = q->later_id,
				 .json = q->json };
	if (ipg_etcd_txn(st->etcd, &t, on_fleet, f)) {
		free(f);
		return reply_err(q, -ENOMEM, "out of memory");
	}
	return -EINPROGRESS;
}

/* ---- the fleet's trail of a list ---- */

struct trail_ask {
	struct fleet_ask a;
	char list[IPG_LIST_NAME_MAX + 1];
	bool verify;
	size_t max; /* records shown, newest last; 0: all */
};

/* The audit record @kv (key audit/NAME/CREATE/VERSION) as a line. */
static void trail_line(struct ipg_print *p, const struct ipg_etcd_kv *kv,
		       json_t *j, bool json)
{
	const char *k;
	json_t *v;

	if (json) {
		/* The records themselves, one a line, as `log` gives. */
		char *t = json_dumps(j, JSON_COMPACT);

		ipg_buf_printf(p->b, "%s\n", t ? t : "null");
		free(t);
		return;
	}
	(void)kv;
	/* Records are other hosts' words: no terminal escapes. */
	for (int f = 0; f < 4; f++) {
		static const char *const keys[] = { "time", "host", "user",
						    "action" };
		static const int width[] = { 22, 13, 21, 9 };
		struct ipg_buf b = { 0 };

		ipg_buf_text_safe(
			&b,
			json_string_value(json_object_get(j, keys[f])) ?: "?");
		ipg_print_text(p, "%-*s", width[f], b.s ?: "?");
		ipg_buf_free(&b);
	}
	ipg_print_text(
		p, "v%lld ",
		(long long)json_integer_value(json_object_get(j, "version")));
	/* What the change added and removed: the diff's entries. */
	json_object_foreach(j, k, v)
	{
		json_t *lists, *l, *e;
		size_t i, m;

		if (strcmp(k, "before") && strcmp(k, "after"))
			continue;
		lists = json_object_get(v, "lists");
		json_array_foreach(lists, i, l)
		{
			json_array_foreach(json_object_get(l, "entries"), m, e)
			{
				struct ipg_buf b = { 0 };

				ipg_buf_text_safe(
					&b,
					json_string_value(json_object_get(e, "cidr")) ?:
						"?");
				ipg_print_text(p, " %c%s",
					       strcmp(k, "after") ? '-' : '+',
					       b.s ? b.s : "");
				ipg_buf_free(&b);
			}
		}
	}
	ipg_print_text(p, "\n");
}

static void on_trail(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		     void *arg)
{
	struct trail_ask *t = arg;
	struct store *st = t->a.d->store;
	const struct store_doc *doc = doc_find(st->docs, st->n_docs, t->list);
	const struct ipg_etcd_op_reply *rr = &r->reply;
	struct ipg_ctl_msg rep = { 0 };
	struct ipg_buf out = { 0 };
	struct ipg_print p;
	char last_after[IPG_HASH_HEX] = "", msg[512] = "";
	int64_t last_create = -1, last_version = 0;
	size_t from;
	int err = r->err;

	(void)c;
	if (err) {
		snprintf(msg, sizeof(msg), "%s", r->message);
		goto done;
	}
	ipg_print_init(&p, &out, t->a.json && !t->verify);
	from = t->max && rr->n_kvs > t->max ? rr->n_kvs - t->max : 0;
	for (size_t i = 0; i < rr->n_kvs && !*msg; i++) {
		const struct ipg_etcd_kv *kv = &rr->kvs[i];
		json_t *j = json_loadb((const char *)kv->value, kv->value_len,
				       0, NULL);
		long long create = 0, version = 0;
		const char *before, *after;

		if (!j || sscanf(kv->key, "audit/%*[^/]/%lld/%lld", &create,
				 &version) != 2) {
			snprintf(msg, sizeof(msg),
				 "%s is not an audit record of ipgate",
				 kv->key);
			json_decref(j);
			break;
		}
		before = json_string_value(
			json_object_get(j, "text_before_sha256"));
		after = json_string_value(
			json_object_get(j, "text_after_sha256"));
		/* One chain per incarnation of the key (CREATE). */
		if (t->verify && create == last_create &&
		    (version != last_version + 1 || !before ||
		     strcmp(before, last_after)))
			snprintf(msg, sizeof(msg), "the chain breaks at %s: %s",
				 kv->key,
				 version != last_version + 1 ?
					 "a version is missing before it" :
					 "its text before is not the last "
					 "record's text after");
		if (!t->verify && i >= from)
			trail_line(&p, kv, j, t->a.json);
		last_create = create;
		last_version = version;
		snprintf(last_after, sizeof(last_after), "%s", after ?: "");
		json_decref(j);
	}
	if (t->verify && !*msg) {
		char now[IPG_HASH_HEX] = "";

		if (doc)
			ipg_audit_sha256(doc->text, strlen(doc->text), now);
		if (doc && rr->n_kvs &&
		    (doc->create_revision != last_create ||
		     doc->version != last_version || strcmp(now, last_after)))
			snprintf(msg, sizeof(msg),
				 "list %s was changed outside ipgate after its "
				 "last audit record (version %" PRId64
				 " of the key, %s)",
				 t->list, doc->version,
				 strcmp(now, last_after) ?
					 "its text is not the record's" :
					 "no record of that version");
		else
			ipg_print_text(&p,
				       "verified: %zu record(s) of list %s in "
				       "the store, chained%s\n",
				       rr->n_kvs, t->list,
				       doc ? ", and the last is its text" :
					     " (the list is gone)");
	}
	if (!*msg && out.s)
		ipg_ctl_setn(&rep, "out", out.s, out.len);
	if (*msg)
		err = -EBADMSG;
done:
	ipg_ctl_set(&rep, "code", ipg_ctl_code_name(err));
	if (*msg)
		ipg_ctl_set(&rep, "message", msg);
	t->a.later(t->a.d, t->a.later_arg, t->a.later_id, err, &rep);
	ipg_ctl_free(&rep);
	ipg_buf_free(&out);
	free(t);
}

bool store_log(struct req *q, const char *list, int *r)
{
	struct store *st = q->d->store;
	struct trail_ask *t;
	const char *ls = ipg_ctl_get(q->m, "lines");
	char key[96];

	if (!st || !list || !strcmp(list, "default"))
		return false;
	if (!q->later) {
		*r = reply_err(q, -ENOTSUP, "log: ask over the socket");
		return true;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*r = reply_err(q, -ENOMEM, "out of memory");
		return true;
	}
	t->a = (struct fleet_ask){ .d = q->d,
				   .later = q->later,
				   .later_arg = q->later_arg,
				   .later_id = q->later_id,
				   .json = q->json };
	snprintf(t->list, sizeof(t->list), "%s", list);
	t->verify = ipg_ctl_flag(q->m, "verify");
	t->max = ls ? strtoul(ls, NULL, 10) : 20;
	snprintf(key, sizeof(key), "audit/%s/", list);
	if (ipg_etcd_range(st->etcd, key, true, on_trail, t)) {
		free(t);
		*r = reply_err(q, -ENOMEM, "out of memory");
		return true;
	}
	*r = -EINPROGRESS;
	return true;
}
