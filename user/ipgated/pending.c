// SPDX-License-Identifier: GPL-2.0
/* Changes that undo themselves unless confirmed (--confirm DURATION): the
 * config files as they were before the change, kept in the state directory
 * until `ipgate confirm`, or until the deadline puts them back through the
 * change pipeline, audited as a rollback. One such change at a time; the
 * record outlives a crash, and a start after the deadline rolls back
 * first. */
#include "daemon.h"

#include <jansson.h>

#define CONFIRM_MAX_S 3600

static void pending_path(struct daemon *d, char *out, size_t size)
{
	snprintf(out, size, "%s/pending", d->o.state_dir);
}

static void pending_clear(struct daemon *d)
{
	char path[PATH_MAX];

	pending_path(d, path, sizeof(path));
	unlink(path);
	json_decref(d->pending);
	d->pending = NULL;
}

uint64_t pending_left(struct daemon *d)
{
	json_int_t deadline;
	time_t now = time(NULL);

	if (!d->pending)
		return 0;
	deadline = json_integer_value(json_object_get(d->pending, "deadline"));
	return deadline > now ? (uint64_t)(deadline - now) : 0;
}

const char *pending_what(struct daemon *d, char *out, size_t size)
{
	if (!d->pending)
		return NULL;
	snprintf(out, size, "%s by %s",
		 json_string_value(json_object_get(d->pending, "action")),
		 json_string_value(json_object_get(d->pending, "user")));
	return out;
}

bool pending_touches(struct daemon *d, const char *list)
{
	json_t *l;
	size_t i;

	if (!d->pending)
		return false;
	json_array_foreach(json_object_get(d->pending, "lists"), i,
			   l) if (!strcmp(json_string_value(l),
					  list)) return true;
	return false;
}

int pending_refuse(struct req *q)
{
	char what[160], left[32];

	if (!q->d->pending)
		return 0;
	format_duration(pending_left(q->d), left, sizeof(left));
	if (ipg_ctl_flag(q->m, "scoped"))
		return reply_errf(q, -EBUSY,
				  "another change awaits confirmation for %s "
				  "more; try again after that",
				  left);
	return reply_errf(q, -EBUSY,
			  "a change (%s) awaits confirmation for %s more: "
			  "`ipgate confirm` keeps it, otherwise it is rolled "
			  "back then; make this change after that",
			  pending_what(q->d, what, sizeof(what)), left);
}

int pending_parse(struct req *q, uint32_t *secs)
{
	const char *s = ipg_ctl_get(q->m, "confirm");

	*secs = 0;
	if (!s)
		return 0;
	if (ipg_duration_parse(s, secs) || !*secs || *secs > CONFIRM_MAX_S)
		return reply_errf(q, -EINVAL,
				  "--confirm \"%s\" is not a duration of 1s "
				  "to 1h, e.g. 2m",
				  s);
	return 0;
}

int pending_begin(struct daemon *d, const struct ipg_actor *who,
		  const char *action, const char *const *lists, int n_lists,
		  uint32_t secs, struct ipg_error *e)
{
	json_t *p, *files, *ls;
	char path[PATH_MAX], *text;
	int r = 0;

	p = json_pack("{s:I, s:s, s:s, s:o, s:o}", "deadline",
		      (json_int_t)(time(NULL) + secs), "action", action, "user",
		      who->user ? who->user : "?", "files", json_array(),
		      "lists", json_array());
	if (!p)
		return ipg_fail(e, -ENOMEM, "out of memory");
	files = json_object_get(p, "files");
	ls = json_object_get(p, "lists");
	for (int i = 0; i < n_lists; i++)
		json_array_append_new(ls, json_string(lists[i]));
	/* Every file as it is now: the rollback writes them back (with a
	 * store, the host's file only: the store's lists are every host's,
	 * and --confirm is refused for them). */
	text = ipg_config_render_saved(&d->cfg);
	if (!text ||
	    json_array_append_new(files, json_pack("{s:s, s:s}", "path",
						   d->o.config, "text", text)))
		r = -ENOMEM;
	free(text);
	for (int i = 0; i < d->cfg.n_files && !r && !store_mode(d); i++) {
		text = ipg_config_render_file(&d->cfg, i);
		if (!text ||
		    json_array_append_new(files, json_pack("{s:s, s:s}", "path",
							   d->cfg.files[i].path,
							   "text", text)))
			r = -ENOMEM;
		free(text);
	}
	if (r) {
		json_decref(p);
		return ipg_fail(e, r, "out of memory");
	}
	text = json_dumps(p, JSON_COMPACT);
	pending_path(d, path, sizeof(path));
	r = text ? ipg_write_atomic(path, text, strlen(text), 0600) : -ENOMEM;
	free(text);
	if (r) {
		json_decref(p);
		return ipg_fail(e, r,
				"cannot record the change to confirm in %s: %s",
				path, strerror(-r));
	}
	json_decref(d->pending);
	d->pending = p;
	return 0;
}

void pending_abort(struct daemon *d)
{
	pending_clear(d);
}

void pending_forget(struct daemon *d)
{
	json_decref(d->pending);
	d->pending = NULL;
}

/* The config the pending record holds: its files' texts, parsed. */
static int pending_config(struct daemon *d, struct ipg_config *c,
			  struct ipg_error *e)
{
	json_t *files = json_object_get(d->pending, "files"), *f;
	struct ipg_config_text *t;
	const char *main_text = NULL;
	size_t i, n = 0;
	int r;

	t = calloc(json_array_size(files) + 1, sizeof(*t));
	if (!t)
		return ipg_fail(e, -ENOMEM, "out of memory");
	json_array_foreach(files, i, f)
	{
		const char *path =
			json_string_value(json_object_get(f, "path"));
		const char *text =
			json_string_value(json_object_get(f, "text"));

		if (!path || !text)
			continue;
		if (!strcmp(path, d->o.config) && !main_text)
			main_text = text;
		else
			t[n++] = (struct ipg_config_text){ path, text };
	}
	if (!main_text) {
		free(t);
		return ipg_fail(e, -EINVAL, "the record holds no main file");
	}
	/* With a store: the host's file as it was, the store's lists as
	 * they run now. */
	r = store_mode(d) ? store_config(d, main_text, c, e) :
			    ipg_config_parse_texts(c, main_text, d->o.config, t,
						   (int)n, e);
	free(t);
	if (r)
		return r;
	/* Every file is written back as it was. */
	c->dirty = true;
	for (int k = 0; k < c->n_files && !store_mode(d); k++)
		c->files[k].dirty = true;
	return 0;
}

/* Puts the config from before the unconfirmed change back. */
static void rollback(struct daemon *d, const char *why)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	struct req q = { .d = d, .m = &m, .rep = &rep, .force = 1 };
	struct ipg_config *prev = calloc(1, sizeof(*prev));
	struct ipg_error e = { { 0 } };
	char what[160];
	int r;

	pending_what(d, what, sizeof(what));
	snprintf(q.user, sizeof(q.user), "ipgated");
	actor_self(&q.who, "ipgated");
	ipg_ctl_set(&m, "reason", why);
	r = prev ? pending_config(d, prev, &e) :
		   ipg_fail(&e, -ENOMEM, "out of memory");
	if (!r)
		r = commit_rollback(&q, prev);
	if (r && !*e.msg && ipg_ctl_get(&rep, "message"))
		snprintf(e.msg, sizeof(e.msg), "%s",
			 ipg_ctl_get(&rep, "message"));
	if (r) {
		/* Tried again at the next tick; the change stays. */
		pr_warn("cannot roll back %s (%s): %s; trying again", what, why,
			e.msg);
	} else {
		pr_warn("rolled back %s: %s", what, why);
		pending_clear(d);
	}
	free(prev);
	ipg_buf_free(&q.out);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
}

void pending_load(struct daemon *d)
{
	char path[PATH_MAX];
	json_error_t err;
	json_t *p;

	pending_path(d, path, sizeof(path));
	if (access(path, F_OK))
		return;
	p = json_load_file(path, 0, &err);
	if (!p || !json_is_integer(json_object_get(p, "deadline")) ||
	    !json_is_array(json_object_get(p, "files"))) {
		pr_warn("%s is not a change to confirm (%s); left alone, and "
			"nothing will be rolled back",
			path, p ? "fields missing" : err.text);
		json_decref(p);
		return;
	}
	d->pending = p;
	if (!pending_left(d))
		rollback(d, "not confirmed (the deadline passed while ipgated "
			    "was down)");
	else
		pr_info("a change awaits confirmation for %" PRIu64 " s",
			pending_left(d));
}

void pending_check(struct daemon *d)
{
	if (d->pending && !pending_left(d))
		rollback(d, "not confirmed");
}

int do_confirm(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_buf after = { 0 };
	const char *list = ipg_ctl_get(q->m, "list");
	struct ipg_error e;
	char what[160];
	json_t *ls;
	int r;

	if (!d->pending) {
		ipg_buf_printf(&q->out, "no change awaits confirmation\n");
		return 0;
	}
	/* A caller scoped to one list confirms only a change of that list. */
	ls = json_object_get(d->pending, "lists");
	if (list && (json_array_size(ls) != 1 || !pending_touches(d, list)) &&
	    ipg_ctl_flag(q->m, "scoped"))
		return reply_err(q, -EPERM,
				 "the change awaiting confirmation is not "
				 "this list's");
	if (list && (json_array_size(ls) != 1 || !pending_touches(d, list)))
		return reply_errf(q, -EPERM,
				  "the change awaiting confirmation (%s) is "
				  "not list %s's alone",
				  pending_what(d, what, sizeof(what)), list);
	pending_what(d, what, sizeof(what));
	ipg_buf_printf(&after, "{\"confirmed\":");
	ipg_buf_json_str(&after, what);
	ipg_buf_printf(&after, "}");
	r = ipg_audit_append_list(
		&d->audit, &q->who, "confirm",
		json_array_size(ls) == 1 ?
			json_string_value(json_array_get(ls, 0)) :
			NULL,
		NULL, after.s, &e);
	ipg_buf_free(&after);
	if (r)
		return reply_errf(q, r, "not confirmed: %s", e.msg);
	pending_clear(d);
	ipg_buf_printf(&q->out, "confirmed: %s stays\n", what);
	log_event(d, IPG_LOG_INFO, "confirm",
		  (const char *const[]){
			  json_string_value(json_array_get(ls, 0)) },
		  json_array_size(ls) == 1 ? 1 : 0, "confirmed %s (by %s)",
		  what, q->who.user);
	return 0;
}
