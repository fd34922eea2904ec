// SPDX-License-Identifier: GPL-2.0
/* The fleet's store: with "store etcd URL,...", the named lists live in
 * etcd, one key a list ("PREFIX lists/NAME", its block in the config's
 * grammar). ipgated reads them all, watches the prefix and runs each
 * revision through the same pipeline as a reload (validate, flip, audit
 * naming the revision); a document that does not validate is refused on
 * this host and the list's previous text stays. What runs is kept on disk
 * (STATE_DIR/store.json), so a start enforces it at once, and the filter
 * never opens because the store is down. docs/design.md, "The fleet". */
#include "store.h"

int64_t store_list_revision(const struct daemon *d, const char *name)
{
	const struct store_doc *doc =
		d->store ? doc_find(d->store->docs, d->store->n_docs, name) :
			   NULL;

	return doc ? doc->mod_revision : 0;
}

bool store_mode(const struct daemon *d)
{
	return d->cfg.store.n_endpoints > 0;
}

static void docs_free(struct store_doc *docs, int n)
{
	for (int i = 0; i < n; i++)
		free(docs[i].text);
	free(docs);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct store_doc *)a)->name,
		      ((const struct store_doc *)b)->name);
}

const struct store_doc *doc_find(const struct store_doc *docs, int n,
				 const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(docs[i].name, name))
			return &docs[i];
	return NULL;
}

/* A copy of @n documents (room for @room more). */
static struct store_doc *docs_copy(const struct store_doc *docs, int n,
				   int room)
{
	struct store_doc *c = calloc((size_t)(n + room) + 1, sizeof(*c));

	for (int i = 0; c && i < n; i++) {
		c[i] = docs[i];
		c[i].text = strdup(docs[i].text);
		if (!c[i].text) {
			docs_free(c, i);
			return NULL;
		}
	}
	return c;
}

/* The path a document's text has in the config: PREFIX lists/NAME. */
static void doc_path(const struct ipg_config *local, const char *name,
		     char *out, size_t size)
{
	snprintf(out, size, "%slists/%s", local->store.prefix, name);
}

/* ---- the running config: the local file and the documents ---- */

/* Records document @i as refused with @why (once). */
static void refuse(const struct store_doc *docs, int i, const char *why,
		   struct store_refusal *refused, int *n_refused)
{
	struct store_refusal *f;

	for (int k = 0; k < *n_refused; k++)
		if (!strcmp(refused[k].name, docs[i].name))
			return;
	f = &refused[(*n_refused)++];
	snprintf(f->name, sizeof(f->name), "%s", docs[i].name);
	f->mod_revision = docs[i].mod_revision;
	snprintf(f->why, sizeof(f->why), "%s", why);
}

static bool refused_now(const struct store_refusal *refused, int n,
			const char *name)
{
	for (int k = 0; k < n; k++)
		if (!strcmp(refused[k].name, name))
			return true;
	return false;
}

/* Document @i runs as it ran before (@keep's text), or not at all. */
static void use_kept(const struct store_doc *docs, int i,
		     const struct store_doc *keep, int n_keep, const char **use)
{
	const struct store_doc *k = doc_find(keep, n_keep, docs[i].name);

	use[i] = k ? k->text : NULL;
}

/* One parse of the host's file @local_text (as parsed into @local) with
 * the documents whose text @use gives (NULL: left out), into @out; each
 * document must hold the one list its key names. */
static int parse_with(struct daemon *d, const struct ipg_config *local,
		      const char *local_text, const struct store_doc *docs,
		      const char *const *use, int n, struct ipg_config *out,
		      struct ipg_error *e)
{
	struct ipg_config_text *texts = calloc((size_t)n + 1, sizeof(*texts));
	char(*paths)[PATH_MAX] = calloc((size_t)n + 1, sizeof(*paths));
	struct ipg_buf main_text = { 0 };
	int m = 0, r;

	if (!texts || !paths) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto out;
	}
	ipg_buf_printf(&main_text, "%s%s", local_text,
		       *local_text && local_text[strlen(local_text) - 1] !=
					       '\n' ?
			       "\n" :
			       "");
	ipg_buf_printf(&main_text, "include %slists/*\n", local->store.prefix);
	for (int i = 0; i < n; i++) {
		if (!use[i])
			continue;
		doc_path(local, docs[i].name, paths[m], PATH_MAX);
		texts[m].path = paths[m];
		texts[m++].text = use[i];
	}
	if (main_text.oom) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto out;
	}
	r = ipg_config_parse_texts(out, main_text.s, d->o.config, texts, m, e);
	for (int i = 0; !r && i < out->n_lists; i++) {
		const struct ipg_config_list *l = out->lists[i];
		const char *path = l->file >= 0 ? out->files[l->file].path : "";
		char want[PATH_MAX];

		doc_path(local, l->name, want, sizeof(want));
		if (strcmp(path, want)) {
			r = ipg_fail(e, -EINVAL,
				     "%s: holds list %s; the key of a list is "
				     "%slists/%s",
				     path, l->name, local->store.prefix,
				     l->name);
			ipg_config_free(out);
		}
	}
	if (!r)
		snprintf(out->hidden_tail, sizeof(out->hidden_tail),
			 "include %slists/*", local->store.prefix);
out:
	free(texts);
	free(paths);
	ipg_buf_free(&main_text);
	return r;
}

/* The document in use whose key the message @msg starts with, or -1. */
static int blamed(const struct ipg_config *local, const struct store_doc *docs,
		  const char *const *use, int n, const char *msg)
{
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];
		size_t k;

		doc_path(local, docs[i].name, p, sizeof(p));
		k = strlen(p);
		if (use[i] && !strncmp(msg, p, k) &&
		    (msg[k] == ':' || msg[k] == ' '))
			return i;
	}
	return -1;
}

/* Parses @local_text (the host's own file) with documents @docs as the
 * named lists, into @out. Only a document that changed (not in @keep as
 * it is, what ran before) is ever refused: alone first, then for what it
 * does to the others (an address another list claims). A refused one
 * runs as @keep has it, or not at all if new. @refused gets each refusal
 * (room for @n). Fails when the host's file does not validate, or when
 * nothing changed and yet the whole does not (a cache from elsewhere). */
static int build(struct daemon *d, const char *local_text,
		 const struct store_doc *docs, int n,
		 const struct store_doc *keep, int n_keep,
		 struct ipg_config *out, struct store_refusal *refused,
		 int *n_refused, struct ipg_error *e)
{
	const char **use = calloc((size_t)n + 1, sizeof(*use));
	bool *changed = calloc((size_t)n + 1, sizeof(*changed));
	struct ipg_config *local = calloc(1, sizeof(*local));
	int r;

	*n_refused = 0;
	if (!use || !changed || !local) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto out;
	}
	/* The host's file alone first: its errors are its own, and it may
	 * not write lists of its own. */
	r = ipg_config_parse(local, local_text, d->o.config, e);
	if (!r && (local->n_lists || local->n_includes))
		r = ipg_fail(e, -EINVAL,
			     "%s: with a store, the named lists live in it: "
			     "move the list blocks and include lines out of "
			     "this file (into the store's %slists/NAME keys)",
			     d->o.config, local->store.prefix);
	if (r)
		goto out;
	for (int i = 0; i < n; i++) {
		const struct store_doc *k =
			doc_find(keep, n_keep, docs[i].name);

		changed[i] = !k || strcmp(k->text, docs[i].text);
	}
	/* Each changed document alone: its own errors, one parse each. */
	for (int i = 0; i < n; i++) {
		if (!changed[i])
			continue;
		for (int k = 0; k < n; k++)
			use[k] = k == i ? docs[k].text : NULL;
		r = parse_with(d, local, local_text, docs, use, n, out, e);
		if (!r) {
			ipg_config_free(out);
			continue;
		}
		if (r == -ENOMEM)
			goto out;
		refuse(docs, i, e->msg, refused, n_refused);
	}
	for (int i = 0; i < n; i++) {
		const struct store_doc *k =
			doc_find(keep, n_keep, docs[i].name);

		use[i] = !changed[i] ? docs[i].text :
			 refused_now(refused, *n_refused, docs[i].name) ?
				       (k ? k->text : NULL) :
				       docs[i].text;
	}
	/* Together: a conflict is the changed documents' fault. */
	for (;;) {
		int bad, left = 0;

		r = parse_with(d, local, local_text, docs, use, n, out, e);
		if (!r || r == -ENOMEM)
			break;
		bad = blamed(local, docs, use, n, e->msg);
		if (bad >= 0 && changed[bad] && use[bad] == docs[bad].text) {
			left = 1;
			use_kept(docs, bad, keep, n_keep, use);
			refuse(docs, bad, e->msg, refused, n_refused);
			continue;
		}
		for (int i = 0; i < n; i++) {
			char msg[sizeof(e->msg) + 32];

			if (!changed[i] || use[i] != docs[i].text)
				continue;
			snprintf(msg, sizeof(msg), "with the other lists: %s",
				 e->msg);
			use_kept(docs, i, keep, n_keep, use);
			refuse(docs, i, msg, refused, n_refused);
			left++;
		}
		if (!left)
			break; /* nothing of this batch to blame */
	}
out:
	if (local)
		ipg_config_free(local);
	free(local);
	free(use);
	free(changed);
	return r;
}

/* ---- the cache on disk ---- */

static void cache_path(struct daemon *d, char *out, size_t size)
{
	snprintf(out, size, "%s/store.json", d->o.state_dir);
}

/* Keeps documents @docs (@n) of @revision in STATE_DIR/store.json: what
 * runs, or (maps too small) what a restart must size them for. */
static void cache_write(struct daemon *d, const struct store_doc *docs, int n,
			int64_t revision)
{
	char path[PATH_MAX];
	json_t *j = json_object(), *a = json_array();
	char *text;
	int r;

	for (int i = 0; a && i < n; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:I, s:I, s:I}", "name",
				     docs[i].name, "text", docs[i].text,
				     "mod_revision",
				     (json_int_t)docs[i].mod_revision,
				     "create_revision",
				     (json_int_t)docs[i].create_revision,
				     "version", (json_int_t)docs[i].version));
	json_object_set_new(j, "revision", json_integer(revision));
	json_object_set_new(j, "prefix", json_string(d->cfg.store.prefix));
	json_object_set_new(j, "lists", a);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	cache_path(d, path, sizeof(path));
	r = text ? ipg_write_atomic(path, text, strlen(text), 0600) : -ENOMEM;
	if (r)
		pr_warn("cannot keep the store's lists in %s: %s; a start "
			"while the store is down would run without them",
			path, strerror(-r));
	free(text);
}

/* The documents and revision a previous run kept; none when the file is
 * missing or for another prefix. */
static int cache_read(struct daemon *d, struct store_doc **docs, int *n,
		      int64_t *revision)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *j, *a, *v;
	size_t i;

	*docs = NULL;
	*n = 0;
	*revision = 0;
	cache_path(d, path, sizeof(path));
	if (access(path, F_OK))
		return 0;
	j = json_load_file(path, 0, &err);
	a = j ? json_object_get(j, "lists") : NULL;
	if (!j || !json_is_array(a) ||
	    !json_is_integer(json_object_get(j, "revision")) ||
	    strcmp(json_string_value(json_object_get(j, "prefix")) ?: "",
		   d->cfg.store.prefix)) {
		pr_warn("%s is not this store's lists (%s); starting without "
			"them until the store answers",
			path,
			j ? "another prefix, or fields missing" : err.text);
		json_decref(j);
		return 0;
	}
	*docs = calloc(json_array_size(a) + 1, sizeof(**docs));
	if (!*docs) {
		json_decref(j);
		return -ENOMEM;
	}
	json_array_foreach(a, i, v)
	{
		const char *name =
			json_string_value(json_object_get(v, "name"));
		const char *text =
			json_string_value(json_object_get(v, "text"));
		struct store_doc *o = &(*docs)[*n];

		if (!name || !text || !ipg_list_name_ok(name) ||
		    doc_find(*docs, *n, name))
			continue;
		snprintf(o->name, sizeof(o->name), "%s", name);
		o->text = strdup(text);
		o->mod_revision =
			json_integer_value(json_object_get(v, "mod_revision"));
		o->create_revision = json_integer_value(
			json_object_get(v, "create_revision"));
		o->version = json_integer_value(json_object_get(v, "version"));
		if (o->text)
			(*n)++;
	}
	*revision = json_integer_value(json_object_get(j, "revision"));
	json_decref(j);
	return 0;
}

/* ---- start ---- */

int store_config(struct daemon *d, const char *local_text,
		 struct ipg_config *out, struct ipg_error *e)
{
	struct store *st = d->store;
	int n = st ? st->n_docs : 0, n_refused, r;
	struct store_refusal *refused = calloc((size_t)n + 1, sizeof(*refused));

	if (!refused)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = build(d, local_text, st ? st->docs : NULL, n, NULL, 0, out, refused,
		  &n_refused, e);
	free(refused);
	return r;
}

int store_load(struct daemon *d, const char *local_text, struct ipg_error *e)
{
	struct store *st = calloc(1, sizeof(*st));
	struct store_refusal *refused;
	struct ipg_config *c;
	int r, n_refused;

	if (!st)
		return ipg_fail(e, -ENOMEM, "out of memory");
	d->store = st;
	st->retry_s = RETRY_FIRST_S;
	st->started = time(NULL);
	if (*d->cfg.store.host)
		snprintf(st->host, sizeof(st->host), "%s", d->cfg.store.host);
	else if (gethostname(st->host, sizeof(st->host) - 1))
		snprintf(st->host, sizeof(st->host), "unknown");
	r = cache_read(d, &st->docs, &st->n_docs, &st->revision);
	if (r)
		return ipg_fail(e, r, "out of memory");
	refused = calloc((size_t)st->n_docs + 1, sizeof(*refused));
	c = calloc(1, sizeof(*c));
	if (!refused || !c) {
		free(refused);
		free(c);
		return ipg_fail(e, -ENOMEM, "out of memory");
	}
	r = build(d, local_text, st->docs, st->n_docs, NULL, 0, c, refused,
		  &n_refused, e);
	/* A kept set that cannot run at all (copied from another host?):
	 * the host's file alone, until the store answers. */
	if (r && r != -ENOMEM && st->n_docs) {
		pr_warn("store: the lists kept in %s/store.json do not run "
			"here (%s); starting without them until the store "
			"answers",
			d->o.state_dir, e->msg);
		docs_free(st->docs, st->n_docs);
		st->docs = NULL;
		st->n_docs = 0;
		st->revision = 0;
		r = build(d, local_text, NULL, 0, NULL, 0, c, refused,
			  &n_refused, e);
	}
	for (int i = 0; !r && i < n_refused; i++)
		pr_warn("store: the kept list %s does not validate: %s; it "
			"waits for the store",
			refused[i].name, refused[i].why);
	if (!r) {
		st->stored = docs_copy(st->docs, st->n_docs, 0);
		st->n_stored = st->stored ? st->n_docs : 0;
		ipg_config_free(&d->cfg);
		d->cfg = *c;
		if (st->n_docs)
			pr_info("store: running %d list(s) of revision %" PRId64
				" kept in %s/store.json until the store answers",
				st->n_docs - n_refused, st->revision,
				d->o.state_dir);
	}
	free(refused);
	free(c);
	return r;
}

/* ---- applying what the store holds ---- */

static void note_refusals(struct daemon *d, const struct store_refusal *f,
			  int n)
{
	struct store *st = d->store;
	struct ipg_actor who;
	struct ipg_error e;

	actor_self(&who, "ipgated");
	for (int i = 0; i < n; i++) {
		struct ipg_buf after = { 0 };
		bool known = false;

		for (int k = 0; k < st->n_refused && !known; k++)
			known = !strcmp(st->refused[k].name, f[i].name) &&
				st->refused[k].mod_revision ==
					f[i].mod_revision;
		if (known)
			continue;
		pr_warn("store: list %s at revision %" PRId64
			" refused: %s; its previous text stays",
			f[i].name, f[i].mod_revision, f[i].why);
		ipg_buf_printf(&after, "{\"revision\":%" PRId64 ",\"error\":",
			       f[i].mod_revision);
		ipg_buf_json_str(&after, f[i].why);
		ipg_buf_printf(&after, "}");
		if (!after.oom &&
		    ipg_audit_append_lists(&d->audit, &who, "rejected-store",
					   (const char *const[]){ f[i].name },
					   1, NULL, after.s, &e))
			pr_warn("%s", e.msg);
		ipg_buf_free(&after);
		if (st->n_refused == REFUSED_MAX)
			memmove(st->refused, st->refused + 1,
				sizeof(st->refused[0]) * (REFUSED_MAX - 1));
		else
			st->n_refused++;
		st->refused[st->n_refused - 1] = f[i];
		st->publish = true;
	}
}

/* A revision that cannot run here: the running lists stay, nothing moves
 * past it (the next batch would be built on what runs and lose it), and
 * the tick reads everything again later. */
static void apply_failed(struct daemon *d, int64_t revision, const char *why)
{
	struct store *st = d->store;

	pr_warn("store: revision %" PRId64 " cannot run here: %s; the running "
		"lists stay, and the store is read again in %d s",
		revision, why, st->retry_s);
	snprintf(st->apply_error, sizeof(st->apply_error),
		 "revision %" PRId64 " cannot run here: %s", revision, why);
	if (st->watch) {
		ipg_etcd_watch_free(st->watch);
		st->watch = NULL;
	}
	st->retry_at = time(NULL) + st->retry_s;
	st->retry_s = st->retry_s * 2 > RETRY_MAX_S ? RETRY_MAX_S :
						      st->retry_s * 2;
	st->publish = true;
}

/* Runs documents @want (taken over) as of @revision: a change through the
 * pipeline, audited as "store" with the revision. */
static void apply(struct daemon *d, struct store_doc *want, int n,
		  int64_t revision)
{
	struct store *st = d->store;
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	struct req q = { .d = d, .m = &m, .rep = &rep, .force = 1 };
	struct store_refusal *refused = calloc((size_t)n + 1, sizeof(*refused));
	struct ipg_config *next = calloc(1, sizeof(*next));
	struct ipg_error e = { { 0 } };
	char rev[32];
	int r, n_refused = 0;

	qsort(want, (size_t)n, sizeof(*want), by_name);
	if (!refused || !next) {
		pr_warn("store: out of memory; revision %" PRId64
			" waits for the next read",
			revision);
		docs_free(want, n);
		goto out;
	}
	r = build(d, d->cfg_text, want, n, st->docs, st->n_docs, next, refused,
		  &n_refused, &e);
	note_refusals(d, refused, n_refused);
	if (r) {
		apply_failed(d, revision, e.msg);
		docs_free(want, n);
		goto out;
	}
	snprintf(q.user, sizeof(q.user), "ipgated");
	actor_self(&q.who, "ipgated");
	snprintf(rev, sizeof(rev), "%" PRId64, revision);
	ipg_ctl_set(&m, "revision", rev);
	r = commit_store(&q, next);
	if (r) {
		/* Too many lists for the maps: kept, so that a restart sizes
		 * them for what the store holds. */
		if (r == -ENOSPC)
			cache_write(d, want, n, st->revision);
		apply_failed(d, revision,
			     ipg_ctl_get(&rep, "message") ?: "refused");
		docs_free(want, n);
		goto out;
	}
	/* What the store holds, refused documents included. */
	{
		struct store_doc *copy = docs_copy(want, n, 0);

		if (copy) {
			docs_free(st->stored, st->n_stored);
			st->stored = copy;
			st->n_stored = n;
		}
	}
	/* What runs now: refused documents stand as they ran before (the
	 * key's revisions stay the store's: a change made here replaces the
	 * refused text). */
	for (int i = 0; i < n_refused; i++)
		for (int k = 0; k < n; k++)
			if (!strcmp(want[k].name, refused[i].name)) {
				const struct store_doc *old = doc_find(
					st->docs, st->n_docs, want[k].name);

				free(want[k].text);
				want[k].text = old ? strdup(old->text) : NULL;
			}
	for (int k = 0; k < n;)
		if (!want[k].text) {
			memmove(&want[k], &want[k + 1],
				sizeof(*want) * (size_t)(n - k - 1));
			n--;
		} else {
			k++;
		}
	/* A list that runs as the store has it is refused no more. */
	for (int i = 0; i < st->n_refused;) {
		bool still = false;

		for (int k = 0; k < n_refused && !still; k++)
			still = !strcmp(refused[k].name, st->refused[i].name);
		/* Not refused by this batch: it runs as the store has it,
		 * or is gone from the store. */
		if (!still) {
			memmove(&st->refused[i], &st->refused[i + 1],
				sizeof(st->refused[0]) *
					(size_t)(st->n_refused - i - 1));
			st->n_refused--;
		} else {
			i++;
		}
	}
	docs_free(st->docs, st->n_docs);
	st->docs = want;
	st->n_docs = n;
	st->revision = revision;
	st->apply_error[0] = '\0';
	cache_write(d, st->docs, st->n_docs, st->revision);
	st->publish = true;
	writes_check(d);
out:
	free(refused);
	free(next);
	ipg_buf_free(&q.out);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
}

const char *list_key(const char *key)
{
	if (strncmp(key, "lists/", 6) || !ipg_list_name_ok(key + 6))
		return NULL;
	return key + 6;
}

/* A key's value as a document's text: a NUL byte becomes a control
 * character, which the parser refuses naming its line and column (a text
 * cut at the NUL could validate as something else). */
static char *doc_text(const unsigned char *v, size_t len)
{
	char *t = malloc(len + 1);

	if (!t)
		return NULL;
	for (size_t i = 0; i < len; i++)
		t[i] = v[i] ? (char)v[i] : '\x01';
	t[len] = '\0';
	return t;
}

static void set_up(struct store *st)
{
	if (st->down_since)
		pr_info("store: reachable again after %ld s",
			(long)(time(NULL) - st->down_since));
	st->connected = true;
	st->heard_at = time(NULL);
	st->down_since = 0;
	st->error[0] = '\0';
	st->retry_s = RETRY_FIRST_S;
}

static void set_down(struct store *st, const char *why)
{
	if (!st->down_since) {
		st->down_since = time(NULL);
		pr_warn("store: unreachable (%s); enforcing the lists of "
			"revision %" PRId64 " meanwhile",
			why, st->revision);
	}
	st->connected = false;
	snprintf(st->error, sizeof(st->error), "%s", why);
	st->retry_at = time(NULL) + st->retry_s;
	st->retry_s = st->retry_s * 2 > RETRY_MAX_S ? RETRY_MAX_S :
						      st->retry_s * 2;
}

static void watch_start(struct daemon *d, int64_t from);

/* The full read: every list, then the watch from the revision after. */
static void on_range(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		     void *arg)
{
	struct daemon *d = arg;
	struct store *st = d->store;
	const struct ipg_etcd_op_reply *rr = &r->reply;
	struct store_doc *want;
	int n = 0;

	(void)c;
	st->reading = false;
	if (r->err) {
		set_down(st, r->message);
		return;
	}
	set_up(st);
	want = calloc(rr->n_kvs + 1, sizeof(*want));
	if (!want) {
		set_down(st, "out of memory");
		return;
	}
	for (size_t i = 0; i < rr->n_kvs; i++) {
		const char *name = list_key(rr->kvs[i].key);

		if (!name)
			continue;
		snprintf(want[n].name, sizeof(want[n].name), "%s", name);
		want[n].text = doc_text(rr->kvs[i].value, rr->kvs[i].value_len);
		want[n].mod_revision = rr->kvs[i].mod_revision;
		want[n].create_revision = rr->kvs[i].create_revision;
		want[n].version = rr->kvs[i].version;
		if (want[n].text)
			n++;
	}
	apply(d, want, n, r->revision);
	watch_start(d, r->revision + 1);
}

static void read_all(struct daemon *d)
{
	struct store *st = d->store;

	if (st->reading)
		return;
	if (ipg_etcd_range(st->etcd, "lists/", true, on_range, d)) {
		set_down(st, "cannot ask the store (out of memory)");
		return;
	}
	st->reading = true;
}

static void on_events(struct ipg_etcd_watch *w, const struct ipg_etcd_event *ev,
		      size_t n, void *arg)
{
	struct daemon *d = arg;
	struct store *st = d->store;
	struct store_doc *want;
	int m = st->n_stored;
	bool lists = false;

	set_up(st);
	for (size_t i = 0; i < n; i++)
		lists |= list_key(ev[i].kv.key) != NULL;
	if (!lists)
		return;
	want = docs_copy(st->stored, st->n_stored, (int)n);
	if (!want) {
		/* Read everything again once memory allows. */
		ipg_etcd_watch_free(w);
		st->watch = NULL;
		set_down(st, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = list_key(ev[i].kv.key);
		int k;

		if (!name)
			continue;
		for (k = 0; k < m && strcmp(want[k].name, name); k++)
			;
		if (k == m) {
			if (ev[i].deleted)
				continue;
			snprintf(want[m].name, sizeof(want[m].name), "%s",
				 name);
			m++;
		}
		free(want[k].text);
		want[k].text = NULL;
		if (ev[i].deleted) {
			memmove(&want[k], &want[k + 1],
				sizeof(*want) * (size_t)(m - k - 1));
			m--;
			continue;
		}
		want[k].text = doc_text(ev[i].kv.value, ev[i].kv.value_len);
		want[k].mod_revision = ev[i].kv.mod_revision;
		want[k].create_revision = ev[i].kv.create_revision;
		want[k].version = ev[i].kv.version;
		if (!want[k].text) {
			memmove(&want[k], &want[k + 1],
				sizeof(*want) * (size_t)(m - k - 1));
			m--;
		}
	}
	apply(d, want, m, ipg_etcd_watch_revision(w));
}

static void on_watch(struct ipg_etcd_watch *w,
		     const struct ipg_etcd_watch_status *s, void *arg)
{
	struct daemon *d = arg;
	struct store *st = d->store;

	switch (s->state) {
	case IPG_ETCD_WATCH_CREATED:
		st->watch_endpoint = s->endpoint;
		set_up(st);
		/* The store is behind what runs here: restored from a backup,
		 * or a new cluster. Its revisions start over: read it all. */
		if (s->revision && s->revision < st->revision) {
			pr_warn("store: at revision %" PRId64
				", behind the %" PRId64
				" this host runs (restored or new?): reading "
				"every list again",
				s->revision, st->revision);
			ipg_etcd_watch_free(w);
			st->watch = NULL;
			read_all(d);
		}
		break;
	case IPG_ETCD_WATCH_PROGRESS:
		set_up(st);
		break;
	case IPG_ETCD_WATCH_COMPACTED:
		/* Events were lost: read everything again (a list deleted
		 * meanwhile goes), then watch from there. */
		pr_info("store: revision %" PRId64
			" was compacted; reading every list again",
			ipg_etcd_watch_revision(w) + 1);
		ipg_etcd_watch_free(w);
		st->watch = NULL;
		read_all(d);
		break;
	case IPG_ETCD_WATCH_CANCELED:
	case IPG_ETCD_WATCH_ENDED:
		set_down(st, s->message && *s->message ? s->message :
							 "the watch ended");
		break;
	}
}

void store_rewatch(struct daemon *d)
{
	pr_info("store: the member serving the watch does not answer; "
		"watching through another");
	watch_start(d, d->store->revision + 1);
}

static void watch_start(struct daemon *d, int64_t from)
{
	struct store *st = d->store;
	struct ipg_etcd_watch_opts o = { .key = "lists/",
					 .prefix = true,
					 .start_revision = from,
					 .progress_notify = true,
					 .on_events = on_events,
					 .on_status = on_watch,
					 .arg = d };

	if (st->watch) {
		ipg_etcd_watch_free(st->watch);
		st->watch = NULL;
	}
	if (ipg_etcd_watch(st->etcd, &o, &st->watch))
		set_down(st, "cannot start the watch");
}

/* ---- the event loop ---- */

int store_open(struct daemon *d)
{
	const struct ipg_store_config *sc = &d->cfg.store;
	struct store *st = d->store;
	const char *eps[IPG_STORE_ENDPOINTS_MAX];
	struct ipg_buf pw = { 0 };
	struct ipg_error e = { { 0 } };
	int r;

	if (!st)
		return 0;
	for (int i = 0; i < sc->n_endpoints; i++)
		eps[i] = sc->endpoints[i];
	if (*sc->password_file) {
		r = ipg_read_file(sc->password_file, 4096, &pw);
		if (r) {
			pr_warn("store: cannot read %s: %s", sc->password_file,
				strerror(-r));
			return r;
		}
		pw.s[strcspn(pw.s, "\r\n")] = '\0';
	}
	struct ipg_etcd_opts o = {
		.endpoints = eps,
		.n_endpoints = (size_t)sc->n_endpoints,
		.prefix = sc->prefix,
		.ca = *sc->ca ? sc->ca : NULL,
		.cert = *sc->cert ? sc->cert : NULL,
		.key = *sc->key ? sc->key : NULL,
		.user = *sc->user ? sc->user : NULL,
		.password = pw.s,
	};
	st->etcd = ipg_etcd_new(&o, &e);
	if (pw.s)
		explicit_bzero(pw.s, pw.len);
	ipg_buf_free(&pw);
	if (!st->etcd) {
		pr_warn("store: %s", e.msg);
		return -EINVAL;
	}
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, ipg_etcd_fd(st->etcd),
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.fd = ipg_etcd_fd(st->etcd) }))
		return -errno;
	read_all(d);
	return 0;
}

bool store_owns(struct daemon *d, int fd)
{
	if (!d->store || !d->store->etcd || fd != ipg_etcd_fd(d->store->etcd))
		return false;
	ipg_etcd_run(d->store->etcd);
	return true;
}

int store_timeout(struct daemon *d)
{
	return d->store && d->store->etcd ?
		       ipg_etcd_timeout_ms(d->store->etcd) :
		       -1;
}

void store_tick(struct daemon *d)
{
	struct store *st = d->store;

	if (!st || !st->etcd)
		return;
	time_t now = time(NULL);

	ipg_etcd_run(st->etcd);
	writes_check(d);
	fleet_tick(d);
	if (st->reading)
		return;
	if (st->watch && ipg_etcd_watch_running(st->watch)) {
		/* A hung member or a lost quorum is silent: the lease's
		 * renewals stop answering too. */
		if (st->connected && now - st->heard_at > STORE_SILENT_S) {
			set_down(st, "no answer from the store");
			ipg_etcd_watch_free(st->watch);
			st->watch = NULL;
		}
		return;
	}
	if (now < st->retry_at)
		return;
	/* No watch: resume it where it was, or read everything. */
	if (st->watch && !ipg_etcd_watch_resume(st->watch))
		st->retry_at = now + st->retry_s;
	else
		read_all(d);
}

void store_close(struct daemon *d)
{
	struct store *st = d->store;

	if (!st)
		return;
	if (st->watch)
		ipg_etcd_watch_free(st->watch);
	/* Outstanding writes get -ECANCELED from the client: answered. */
	if (st->etcd)
		ipg_etcd_free(st->etcd);
	while (st->writes)
		write_end(st->writes, -ECANCELED,
			  "ipgated stopped before the store answered; the "
			  "change may or may not have been made: re-read the "
			  "list");
	docs_free(st->docs, st->n_docs);
	docs_free(st->stored, st->n_stored);
	free(st);
	d->store = NULL;
}

/* ---- what status shows ---- */

void store_render(struct daemon *d, struct ipg_print *p)
{
	struct store *st = d->store;
	char since[40];

	if (!st)
		return;
	ipg_print_open_object(p, "store");
	ipg_print_string(p, IPG_PR_JSON, "endpoints", NULL,
			 d->cfg.store.endpoints[0]);
	ipg_print_text(p, "%-14s etcd %s%s, revision %" PRId64 ", %d list(s)",
		       "store", d->cfg.store.endpoints[0],
		       d->cfg.store.n_endpoints > 1 ? ",..." : "", st->revision,
		       st->n_docs);
	ipg_print_u64(p, IPG_PR_JSON, "revision", NULL, (uint64_t)st->revision);
	ipg_print_u64(p, IPG_PR_JSON, "lists", NULL, (uint64_t)st->n_docs);
	if (st->connected) {
		long ago = (long)(time(NULL) - st->heard_at);

		ipg_print_text(p, "; connected, heard from %ld s ago\n", ago);
		ipg_print_string(p, IPG_PR_JSON, "state", NULL, "connected");
		ipg_print_u64(p, IPG_PR_JSON, "heard_seconds_ago", NULL,
			      (uint64_t)(ago < 0 ? 0 : ago));
	} else {
		format_utc(st->down_since ? st->down_since : time(NULL), since,
			   sizeof(since));
		ipg_print_text(p,
			       "; UNREACHABLE since %s (%s): enforcing the "
			       "lists of that revision\n",
			       since, st->error);
		ipg_print_string(p, IPG_PR_JSON, "state", NULL, "unreachable");
		ipg_print_string(p, IPG_PR_JSON, "since", NULL, since);
		ipg_print_string(p, IPG_PR_JSON, "error", NULL, st->error);
	}
	if (*st->apply_error) {
		ipg_print_text(p, "%-14s CANNOT RUN %s\n", "", st->apply_error);
		ipg_print_string(p, IPG_PR_JSON, "apply_error", NULL,
				 st->apply_error);
	}
	for (int i = 0; i < st->n_refused; i++)
		ipg_print_text(p,
			       "%-14s REFUSED list %s at revision %" PRId64
			       ": %s\n",
			       "", st->refused[i].name,
			       st->refused[i].mod_revision, st->refused[i].why);
	ipg_print_close_object(p);
}
