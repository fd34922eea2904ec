// SPDX-License-Identifier: GPL-2.0
/* Changes to the config document that keep every other line as written,
 * and writing it back to its file. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "config_lines.h"
#include "config_parse.h"

int ipg_config_writable(const char *path, struct ipg_error *e)
{
	char dir[PATH_MAX], target[PATH_MAX];
	struct statvfs vfs;
	struct stat st;
	ssize_t n;

	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		return ipg_fail(e, -EROFS,
				"%s is a symbolic link (to %s): the config is "
				"managed elsewhere (a ConfigMap, a package, "
				"configuration management); change it there, "
				"and ipgated applies it when the file changes",
				path, n > 0 ? target : "?");
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (!statvfs(dirname(dir), &vfs) && (vfs.f_flag & ST_RDONLY))
		return ipg_fail(e, -EROFS,
				"%s is on a read-only mount: the config is "
				"managed elsewhere; change it there, and "
				"ipgated applies it when the file changes",
				path);
	return 0;
}

int ipg_config_save(const struct ipg_config *c, const char *path,
		    struct ipg_error *e)
{
	char *text = ipg_config_render(c);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_write_atomic_keep(path, text, strlen(text), 0644);
	free(text);
	if (r)
		return ipg_fail(e, r, "cannot write %s: %s", path,
				strerror(-r));
	return 0;
}

static int replace_text(struct ipg_config_line *l, const char *text)
{
	char *t = strdup(text);

	if (!t)
		return -ENOMEM;
	free(l->text);
	l->text = t;
	return 0;
}

/* Where an edit of one list happens: its lines, its policy, the file it is
 * written in. */
struct target {
	struct ipg_config_list *list; /* NULL: the top level */
	struct ipg_config_line **lines;
	int *n;
	struct ipg_policy_spec *spec;
	char prefix[IPG_LIST_NAME_MAX + 16]; /* "list NAME: " in messages */
	char indent[32];
};

/* The leading white space of the block's first setting, or 4 spaces. */
static void block_indent(const struct ipg_config_list *l, char *out,
			 size_t size)
{
	for (int i = 1; i + 1 < l->n_lines; i++) {
		const char *s = l->lines[i].text;
		size_t n = strspn(s, " \t");

		if (l->lines[i].kind == IPG_LINE_OTHER || n >= size)
			continue;
		memcpy(out, s, n);
		out[n] = '\0';
		return;
	}
	snprintf(out, size, "    ");
}

static int target_of(struct ipg_config *c, const char *name, struct target *t,
		     struct ipg_error *e)
{
	memset(t, 0, sizeof(*t));
	t->lines = &c->lines;
	t->n = &c->n_lines;
	t->spec = &c->policy;
	if (!name || !strcmp(name, "default"))
		return 0;
	t->list = ipg_config_list_find(c, name);
	if (!t->list)
		return ipg_fail(e, -ENOENT,
				"there is no list named \"%s\"; `ipgate lists` "
				"shows them",
				name);
	t->lines = &t->list->lines;
	t->n = &t->list->n_lines;
	t->spec = &t->list->policy;
	snprintf(t->prefix, sizeof(t->prefix), "list %s: ", name);
	block_indent(t->list, t->indent, sizeof(t->indent));
	return 0;
}

/* Marks the file @t's lines are in as edited, and numbers its blocks. */
static void touched(struct ipg_config *c, const struct target *t)
{
	struct ipg_config_file *f;

	if (!t->list || t->list->file < 0) {
		c->dirty = true;
		ipg_config_renumber(c->lines, c->n_lines);
		return;
	}
	f = &c->files[t->list->file];
	f->dirty = true;
	ipg_config_renumber(f->lines, f->n_lines);
}

/* Where a new top-level line goes when none of its kind exists: the end,
 * or, when list blocks or include lines follow, after the last setting
 * before the first of them. */
static int top_end(const struct ipg_config *c)
{
	int first = -1, at;

	for (int i = 0; i < c->n_lines && first < 0; i++)
		if (c->lines[i].kind == IPG_LINE_BLOCK ||
		    c->lines[i].kind == IPG_LINE_INCLUDE)
			first = i;
	if (first < 0)
		return c->n_lines;
	for (at = first; at > 0 && c->lines[at - 1].kind == IPG_LINE_OTHER;
	     at--)
		;
	return at ? at : first;
}

/* Where a line of kind @kind goes: after the last of @after, else where
 * @fallback says. */
static int place(const struct target *t, enum ipg_line_kind after, int fallback)
{
	int at = -1;

	for (int i = 0; i < *t->n; i++)
		if ((*t->lines)[i].kind == after)
			at = i + 1;
	return at >= 0 ? at : fallback;
}

/* The first line of kind @kind, else @fallback. */
static int first_of(const struct target *t, enum ipg_line_kind kind,
		    int fallback)
{
	for (int i = 0; i < *t->n; i++)
		if ((*t->lines)[i].kind == kind)
			return i;
	return fallback;
}

static int set_enabled(struct ipg_config *c, struct target *t, bool enabled,
		       struct ipg_error *e)
{
	char text[1200];
	int at = place(t, IPG_LINE_ENABLED, -1), r;

	if (at >= 0) {
		struct ipg_config_line *l = &(*t->lines)[at - 1];
		const char *cm = ipg_config_line_comment(l);

		snprintf(text, sizeof(text), "%.*senabled %s%s%s",
			 (int)strspn(l->text, " \t"), l->text,
			 enabled ? "yes" : "no", *cm ? "  " : "", cm);
		r = replace_text(l, text);
	} else {
		snprintf(text, sizeof(text), "%senabled %s", t->indent,
			 enabled ? "yes" : "no");
		if (t->list)
			at = place(t, IPG_LINE_ADDRESS, 1);
		else
			at = first_of(t, IPG_LINE_ALLOW, top_end(c));
		r = ipg_config_insert_line(t->lines, t->n, at, IPG_LINE_ENABLED,
					   text, strlen(text), NULL);
	}
	if (r)
		return ipg_fail(e, r, "out of memory");
	t->spec->kern.enabled = enabled;
	if (t->list)
		t->list->set |= IPG_LIST_SET_ENABLED;
	touched(c, t);
	return 0;
}

/* Writes @label as a bare word when it can be one, else quoted. */
static void format_label(const char *label, char *out, size_t size)
{
	bool bare = *label && *label != '"' && *label != '#';
	size_t n = 0;

	for (const char *s = label; *s; s++)
		if (*s == ' ' || *s == '\t')
			bare = false;
	if (bare) {
		snprintf(out, size, "%s", label);
		return;
	}
	out[n++] = '"';
	for (const char *s = label; *s && n + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	out[n] = '\0';
}

static int add(struct ipg_config *c, struct target *t,
	       const struct ipg_prefix *p, const char *label, int64_t expires,
	       struct ipg_error *e)
{
	char text[300], cidr[IPG_PREFIX_STRLEN], lab[IPG_LABEL_MAX * 2 + 4];
	char when[IPG_TIME_STRLEN + 10] = "";
	struct ipg_error pe = { { 0 } };
	int at, r;

	r = ipg_policy_add(t->spec, p, label, &pe);
	if (r)
		return ipg_fail(e, r, "%s%s", t->prefix, pe.msg);
	t->spec->entries[t->spec->n_entries - 1].expires = expires;
	at = place(t, IPG_LINE_ALLOW, t->list ? *t->n - 1 : top_end(c));
	ipg_prefix_format(p, cidr, sizeof(cidr));
	if (expires) {
		strcpy(when, " expires ");
		ipg_time_format(expires, when + strlen(when),
				sizeof(when) - strlen(when));
	}
	if (label && *label) {
		format_label(label, lab, sizeof(lab));
		snprintf(text, sizeof(text), "%sallow %-18s %s%s", t->indent,
			 cidr, lab, when);
	} else if (expires) {
		snprintf(text, sizeof(text), "%sallow %-18s%s", t->indent, cidr,
			 when);
	} else {
		snprintf(text, sizeof(text), "%sallow %s", t->indent, cidr);
	}
	r = ipg_config_insert_line(t->lines, t->n, at, IPG_LINE_ALLOW, text,
				   strlen(text), p);
	if (r) {
		t->spec->n_entries--;
		return ipg_fail(e, r, "out of memory");
	}
	touched(c, t);
	return 0;
}

static int remove_entry(struct ipg_config *c, struct target *t,
			const struct ipg_prefix *p, struct ipg_error *e)
{
	struct ipg_policy_spec *s = t->spec;
	int idx = ipg_policy_find(s, p);
	char cidr[IPG_PREFIX_STRLEN];

	if (idx < 0) {
		ipg_prefix_format(p, cidr, sizeof(cidr));
		if (t->list)
			return ipg_fail(e, -ENOENT, "%s is not in list %s",
					cidr, t->list->name);
		return ipg_fail(e, -ENOENT, "%s is not in the list", cidr);
	}
	for (int i = 0; i < *t->n; i++) {
		if ((*t->lines)[i].kind == IPG_LINE_ALLOW &&
		    ipg_prefix_equal(&(*t->lines)[i].prefix, p)) {
			ipg_config_delete_line(*t->lines, t->n, i);
			break;
		}
	}
	memmove(&s->entries[idx], &s->entries[idx + 1],
		sizeof(s->entries[0]) * (s->n_entries - (uint32_t)idx - 1));
	s->n_entries--;
	touched(c, t);
	return 0;
}

int ipg_config_set_enabled(struct ipg_config *c, bool enabled,
			   struct ipg_error *e)
{
	return ipg_config_list_set_enabled(c, NULL, enabled, e);
}

int ipg_config_add(struct ipg_config *c, const struct ipg_prefix *p,
		   const char *label, int64_t expires, struct ipg_error *e)
{
	return ipg_config_list_add(c, NULL, p, label, expires, e);
}

int ipg_config_remove(struct ipg_config *c, const struct ipg_prefix *p,
		      struct ipg_error *e)
{
	return ipg_config_list_remove(c, NULL, p, e);
}

int ipg_config_list_set_enabled(struct ipg_config *c, const char *list,
				bool enabled, struct ipg_error *e)
{
	struct target t;
	int r = target_of(c, list, &t, e);

	return r ? r : set_enabled(c, &t, enabled, e);
}

int ipg_config_list_add(struct ipg_config *c, const char *list,
			const struct ipg_prefix *p, const char *label,
			int64_t expires, struct ipg_error *e)
{
	struct target t;
	int r = target_of(c, list, &t, e);

	return r ? r : add(c, &t, p, label, expires, e);
}

int ipg_config_list_remove(struct ipg_config *c, const char *list,
			   const struct ipg_prefix *p, struct ipg_error *e)
{
	struct target t;
	int r = target_of(c, list, &t, e);

	return r ? r : remove_entry(c, &t, p, e);
}

/* A file save_all() writes: its path, new text, and old text to put back. */
struct pending {
	const char *path;
	char *text;
	struct ipg_buf old;
	bool had_old;
};

/* Puts back the first @n files of @w as they were. */
static void put_back(struct pending *w, int n)
{
	for (int i = 0; i < n; i++) {
		int r = w[i].had_old ?
				ipg_write_atomic_keep(w[i].path, w[i].old.s,
						      w[i].old.len, 0644) :
			unlink(w[i].path) ? -errno :
					    0;

		if (r)
			pr_warn("cannot put %s back as it was: %s", w[i].path,
				strerror(-r));
	}
}

/* Renders what save_all() writes, checking that each may be written and
 * keeping the text each holds now. Returns how many, or a negative errno. */
static int pending_of(const struct ipg_config *c, const char *path,
		      struct pending *w, struct ipg_error *e)
{
	int n = 0, r = 0;

	for (int i = 0; i <= c->n_files && !r; i++) {
		bool main_file = i == c->n_files;
		struct pending *p = &w[n];

		if (main_file ? !c->dirty : !c->files[i].dirty)
			continue;
		p->path = main_file ? path : c->files[i].path;
		r = ipg_config_writable(p->path, e);
		if (r)
			break;
		n++;
		p->text = main_file ? ipg_config_render_saved(c) :
				      ipg_config_render_file(c, i);
		if (!p->text)
			r = ipg_fail(e, -ENOMEM, "out of memory");
		else
			p->had_old =
				!ipg_read_file(p->path, 64u << 20, &p->old);
	}
	return r ? r : n;
}

int ipg_config_save_all(struct ipg_config *c, const char *path,
			struct ipg_error *e)
{
	struct pending *w = calloc((size_t)c->n_files + 1, sizeof(*w));
	int n, done = 0, r = 0;

	if (!w)
		return ipg_fail(e, -ENOMEM, "out of memory");
	n = pending_of(c, path, w, e);
	if (n < 0)
		r = n;
	while (!r && done < n) {
		r = ipg_write_atomic_keep(w[done].path, w[done].text,
					  strlen(w[done].text), 0644);
		if (r)
			ipg_fail(e, r, "cannot write %s: %s", w[done].path,
				 strerror(-r));
		else
			done++;
	}
	if (r)
		put_back(w, done);
	for (int i = 0; i < c->n_files + 1; i++) {
		free(w[i].text);
		ipg_buf_free(&w[i].old);
	}
	free(w);
	if (r)
		return r;
	c->dirty = false;
	for (int i = 0; i < c->n_files; i++)
		c->files[i].dirty = false;
	return 0;
}

/* Gives the entries of each list of @dst the rule ids they have in @src. */
static void keep_ids(struct ipg_config *dst, const struct ipg_config *src)
{
	ipg_policy_keep_ids(&dst->policy, src->policy.entries,
			    src->policy.n_entries);
	for (int i = 0; i < dst->n_lists; i++) {
		struct ipg_config_list *l = dst->lists[i];
		const struct ipg_config_list *s =
			i < src->n_lists &&
					!strcmp(src->lists[i]->name, l->name) ?
				src->lists[i] :
				ipg_config_list_find(src, l->name);

		if (s)
			ipg_policy_keep_ids(&l->policy, s->policy.entries,
					    s->policy.n_entries);
	}
}

int ipg_config_clone(struct ipg_config *dst, const struct ipg_config *src,
		     struct ipg_error *e)
{
	struct ipg_config_text *texts;
	struct include_src from = { .mode = INCLUDE_ORDINAL,
				    .n = src->n_files };
	int *ordinals, r = 0;
	char *text;

	texts = calloc((size_t)src->n_files + 1, sizeof(*texts));
	ordinals = calloc((size_t)src->n_files + 1, sizeof(*ordinals));
	text = ipg_config_render(src);
	if (!texts || !ordinals || !text)
		r = -ENOMEM;
	for (int i = 0; i < src->n_files && !r; i++) {
		texts[i].path = src->files[i].path;
		texts[i].text = ipg_config_render_file(src, i);
		ordinals[i] = src->files[i].include;
		if (!texts[i].text)
			r = -ENOMEM;
	}
	from.texts = texts;
	from.ordinals = ordinals;
	if (r)
		ipg_fail(e, r, "out of memory");
	else
		r = ipg_cfg_parse_all(dst, text, "config", &from, e);
	if (!r) {
		keep_ids(dst, src);
		memcpy(dst->hidden_tail, src->hidden_tail,
		       sizeof(dst->hidden_tail));
		dst->dirty = src->dirty;
		for (int i = 0; i < dst->n_files && i < src->n_files; i++)
			dst->files[i].dirty = src->files[i].dirty;
	}
	for (int i = 0; texts && i < src->n_files; i++)
		free((char *)texts[i].text);
	free(texts);
	free(ordinals);
	free(text);
	return r;
}

/* Renders @lines with the block of list @target written as @block. */
static void render_sub(const struct ipg_config_line *lines, int n,
		       const struct ipg_config_list *target, const char *block,
		       struct ipg_buf *b)
{
	for (int i = 0; i < n; i++) {
		if (lines[i].kind == IPG_LINE_BLOCK &&
		    lines[i].list == target) {
			ipg_buf_append(b, block, strlen(block));
			continue;
		}
		ipg_config_render_lines(&lines[i], 1, b);
	}
	ipg_buf_append(b, "", 0);
}

static int count_lines(const char *s)
{
	int n = *s && s[strlen(s) - 1] != '\n';

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* After @block failed in place: checks it alone (no limit of entries
 * but the hard one), so that a syntax error names the line of the body
 * (in @file) it is on. Returns 0 when it is fine alone: the error was one
 * of the whole config (a claim, a limit inherited), left in @e as it was. */
static int check_body(const char *block, int body_lines, const char *file,
		      struct ipg_error *e)
{
	static const char head[] = "max-entries 1024\n";
	struct ipg_config alone;
	struct ipg_error e2 = { { 0 } };
	struct ipg_buf t = { 0 };
	size_t flen = strlen(file);
	int r, line, col, n;
	char *colon;

	memset(&alone, 0, sizeof(alone));
	ipg_buf_printf(&t, "%s%s", head, block);
	r = t.oom ? -ENOMEM :
		    ipg_config_parse_texts(&alone, t.s, file, NULL, 0, &e2);
	ipg_config_free(&alone);
	ipg_buf_free(&t);
	if (!r || strncmp(e2.msg, file, flen) || e2.msg[flen] != ':')
		return 0;
	/* "FILE:LINE:COL: ..." of head and block: the body starts at 3. An
	 * error past the body (the block as a whole) is the config's. */
	colon = e2.msg + flen;
	if (sscanf(colon, ":%d:%d:%n", &line, &col, &n) == 2 && line > 2 &&
	    line - 2 <= body_lines) {
		snprintf(e->msg, sizeof(e->msg), "%s:%d:%d:%s", file, line - 2,
			 col, colon + n);
		return r;
	}
	return 0;
}

/* Refuses a body line that would leave the block: "}", or "list",
 * "include" or any other word that is not a list's own setting, so that a
 * list's Save can never reach the top level or another list. */
static int body_lines_ok(const char *body, const char *file, const char *name,
			 struct ipg_error *e)
{
	static const char *const own[] = { "address",	   "enabled",
					   "allow",	   "protect",
					   "mode",	   "max-entries",
					   "override-max", NULL };
	int line = 1;

	for (const char *s = body; *s; line++) {
		size_t n;
		bool ok = false;

		s += strspn(s, " \t\r");
		n = strcspn(s, " \t\r\n#");
		for (int i = 0; own[i] && n; i++)
			ok |= strlen(own[i]) == n && !strncmp(s, own[i], n);
		if (n && !ok)
			return ipg_fail(e, -EINVAL,
					"%s:%d:1: \"%.*s\" cannot stand inside "
					"list %s; the file holds only a list's "
					"own lines (address, enabled, allow, "
					"protect, mode, max-entries, "
					"override-max)",
					file, line, (int)(n > 40 ? 40 : n), s,
					name);
		s = strchr(s, '\n');
		if (!s)
			break;
		s++;
	}
	return 0;
}

/* In an error of the whole config, each place "WHERE:LINE" on a line of
 * the replaced block (its "list" line at @at in @where, the body @n lines
 * long) is said as the line of the body file @file instead. */
static void remap_error(struct ipg_error *e, const char *where, int at, int n,
			const char *file)
{
	size_t wlen = strlen(where);
	struct ipg_buf b = { 0 };
	const char *s = e->msg, *hit;

	while ((hit = strstr(s, where))) {
		const char *num = hit + wlen;
		char *end;
		long line = *num == ':' ? strtol(num + 1, &end, 10) : 0;

		if (line <= at || line > at + n) {
			ipg_buf_append(&b, s, (size_t)(num - s));
			s = num;
			continue;
		}
		ipg_buf_append(&b, s, (size_t)(hit - s));
		ipg_buf_printf(&b, "%s:%ld", file, line - at);
		s = end;
	}
	ipg_buf_printf(&b, "%s", s);
	if (b.s && !b.oom)
		snprintf(e->msg, sizeof(e->msg), "%s", b.s);
	ipg_buf_free(&b);
}

int ipg_config_list_replace(struct ipg_config *dst,
			    const struct ipg_config *src, const char *name,
			    const char *body, const char *file,
			    const char *main_path, struct ipg_error *e)
{
	const struct ipg_config_list *l = ipg_config_list_find(src, name);
	struct ipg_buf block = { 0 }, main_text = { 0 };
	struct ipg_config_text *texts;
	struct include_src from = { .mode = INCLUDE_ORDINAL,
				    .n = src->n_files };
	int *ordinals, r = 0;

	if (!l)
		return ipg_fail(e, -ENOENT,
				"no list named \"%s\"; to make one, add a "
				"\"list %s { ... }\" block to the config",
				name, name);
	r = body_lines_ok(body, file, name, e);
	if (r)
		return r;
	ipg_buf_printf(&block, "list %s {\n%s%s}\n", name, body,
		       *body && body[strlen(body) - 1] != '\n' ? "\n" : "");
	if (block.oom)
		return ipg_fail(e, -ENOMEM, "out of memory");
	texts = calloc((size_t)src->n_files + 1, sizeof(*texts));
	ordinals = calloc((size_t)src->n_files + 1, sizeof(*ordinals));
	if (!texts || !ordinals)
		r = ipg_fail(e, -ENOMEM, "out of memory");
	render_sub(src->lines, src->n_lines, l, block.s, &main_text);
	for (int i = 0; i < src->n_files && !r; i++) {
		struct ipg_buf t = { 0 };

		render_sub(src->files[i].lines, src->files[i].n_lines, l,
			   block.s, &t);
		texts[i].path = src->files[i].path;
		texts[i].text = t.s;
		ordinals[i] = src->files[i].include;
		if (t.oom || !t.s)
			r = ipg_fail(e, -ENOMEM, "out of memory");
	}
	if (!r && main_text.oom)
		r = ipg_fail(e, -ENOMEM, "out of memory");
	from.texts = texts;
	from.ordinals = ordinals;
	if (!r) {
		r = ipg_cfg_parse_all(dst, main_text.s ? main_text.s : "",
				      main_path, &from, e);
		if (r && !check_body(block.s, count_lines(body), file, e))
			remap_error(e,
				    l->file < 0 ? main_path :
						  src->files[l->file].path,
				    l->line, count_lines(body), file);
	}
	/* Only list @name changed: the same lists, in the same order. */
	for (int i = 0; !r && i <= src->n_lists; i++)
		if (i == src->n_lists ?
			    dst->n_lists != src->n_lists :
			    i >= dst->n_lists || strcmp(dst->lists[i]->name,
							src->lists[i]->name)) {
			ipg_config_free(dst);
			r = ipg_fail(e, -EINVAL,
				     "%s: the text changes more than list %s; "
				     "nothing applied",
				     file, name);
		}
	if (!r) {
		keep_ids(dst, src);
		memcpy(dst->hidden_tail, src->hidden_tail,
		       sizeof(dst->hidden_tail));
		dst->dirty = src->dirty || l->file < 0;
		for (int i = 0; i < dst->n_files && i < src->n_files; i++)
			dst->files[i].dirty = src->files[i].dirty ||
					      i == l->file;
	}
	for (int i = 0; texts && i < src->n_files; i++)
		free((char *)texts[i].text);
	free(texts);
	free(ordinals);
	ipg_buf_free(&main_text);
	ipg_buf_free(&block);
	return r;
}

/* Copies @n lines, their texts too; block lines point at the list of the
 * same index in @lists. */
static struct ipg_config_line *copy_lines(const struct ipg_config_line *src,
					  int n,
					  struct ipg_config_list *const *lists)
{
	struct ipg_config_line *l = calloc((size_t)n + 1, sizeof(*l));

	for (int i = 0; l && i < n; i++) {
		l[i] = src[i];
		if (src[i].kind == IPG_LINE_BLOCK)
			l[i].list = lists[src[i].list->idx];
		else if (!(l[i].text = strdup(src[i].text))) {
			ipg_config_free_lines(l, i);
			return NULL;
		}
	}
	return l;
}

/* A list of its own, as @s is (entries past n_entries are not copied). */
static struct ipg_config_list *copy_list(const struct ipg_config_list *s)
{
	struct ipg_config_list *l = malloc(sizeof(*l));

	if (!l)
		return NULL;
	memcpy(l, s, offsetof(struct ipg_config_list, policy.entries));
	memcpy(l->policy.entries, s->policy.entries,
	       sizeof(s->policy.entries[0]) * s->policy.n_entries);
	l->refs = 1;
	l->lines = copy_lines(s->lines, s->n_lines, NULL);
	if (!l->lines) {
		free(l);
		return NULL;
	}
	return l;
}

int ipg_config_cow(struct ipg_config *dst, const struct ipg_config *src,
		   const char *name, struct ipg_error *e)
{
	const struct ipg_config_list *t = ipg_config_list_find(src, name);
	int file = t ? t->file : -1, r = 0;

	if (name && strcmp(name, "default") && !t)
		return ipg_fail(e, -ENOENT, "no list named \"%s\"", name);
	*dst = *src;
	dst->lines = NULL;
	dst->files = NULL;
	dst->includes = NULL;
	dst->lists = calloc((size_t)src->n_lists + 1, sizeof(*dst->lists));
	dst->n_lists = dst->n_files = dst->n_includes = dst->n_lines = 0;
	if (!dst->lists)
		return ipg_fail(e, -ENOMEM, "out of memory");
	/* Lists in the edited file are copied, the others shared. */
	for (int i = 0; i < src->n_lists && !r; i++) {
		struct ipg_config_list *l = src->lists[i];

		if (l->file == file)
			l = copy_list(l);
		else
			l->refs++;
		if (l)
			dst->lists[dst->n_lists++] = l;
		else
			r = -ENOMEM;
	}
	if (!r &&
	    !(dst->lines = copy_lines(src->lines, src->n_lines, dst->lists)))
		r = -ENOMEM;
	if (!r)
		dst->n_lines = src->n_lines;
	dst->files = calloc((size_t)src->n_files + 1, sizeof(*dst->files));
	dst->includes =
		calloc((size_t)src->n_includes + 1, sizeof(*dst->includes));
	if (!dst->files || !dst->includes)
		r = -ENOMEM;
	for (int i = 0; i < src->n_files && !r; i++) {
		struct ipg_config_file *f = &dst->files[i];

		*f = src->files[i];
		f->path = strdup(src->files[i].path);
		f->lines = copy_lines(src->files[i].lines,
				      src->files[i].n_lines, dst->lists);
		if (!f->path || !f->lines) {
			free(f->path);
			ipg_config_free_lines(f->lines, 0);
			r = -ENOMEM;
			break;
		}
		dst->n_files++;
	}
	for (int i = 0; i < src->n_includes && !r; i++) {
		dst->includes[i] = strdup(src->includes[i]);
		if (!dst->includes[i])
			r = -ENOMEM;
		else
			dst->n_includes++;
	}
	if (r) {
		ipg_config_free(dst);
		return ipg_fail(e, r, "out of memory");
	}
	return 0;
}
