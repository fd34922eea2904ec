// SPDX-License-Identifier: GPL-2.0
/* The config document held line by line: the main file, the files include
 * lines matched, and the list blocks, each block's lines kept with its
 * list; rendering them back, finding lists, freeing. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "config_lines.h"

int ipg_config_insert_line(struct ipg_config_line **lines, int *n, int at,
			   enum ipg_line_kind kind, const char *text,
			   size_t len, const struct ipg_prefix *prefix)
{
	struct ipg_config_line *ls, *l;

	ls = realloc(*lines, sizeof(*ls) * (size_t)(*n + 1));
	if (!ls)
		return -ENOMEM;
	*lines = ls;
	memmove(&ls[at + 1], &ls[at], sizeof(*ls) * (size_t)(*n - at));
	l = &ls[at];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	if (text) {
		l->text = strndup(text, len);
		if (!l->text) {
			memmove(&ls[at], &ls[at + 1],
				sizeof(*ls) * (size_t)(*n - at));
			return -ENOMEM;
		}
	}
	if (prefix)
		l->prefix = *prefix;
	(*n)++;
	return 0;
}

void ipg_config_delete_line(struct ipg_config_line *lines, int *n, int at)
{
	free(lines[at].text);
	memmove(&lines[at], &lines[at + 1],
		sizeof(lines[0]) * (size_t)(*n - at - 1));
	(*n)--;
}

void ipg_config_free_lines(struct ipg_config_line *lines, int n)
{
	for (int i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
}

int ipg_config_line_no(const struct ipg_config_line *lines, int idx)
{
	int no = 1;

	for (int i = 0; i < idx; i++)
		no += lines[i].kind == IPG_LINE_BLOCK ? lines[i].list->n_lines :
							1;
	return no;
}

void ipg_config_renumber(struct ipg_config_line *lines, int n)
{
	int no = 1;

	for (int i = 0; i < n; i++) {
		if (lines[i].kind != IPG_LINE_BLOCK) {
			no++;
			continue;
		}
		lines[i].list->line = no;
		no += lines[i].list->n_lines;
	}
}

void ipg_config_render_lines(const struct ipg_config_line *lines, int n,
			     struct ipg_buf *b)
{
	for (int i = 0; i < n; i++) {
		const struct ipg_config_list *l = lines[i].list;

		if (lines[i].kind == IPG_LINE_BLOCK) {
			ipg_config_render_lines(l->lines, l->n_lines, b);
			continue;
		}
		ipg_buf_append(b, lines[i].text, strlen(lines[i].text));
		ipg_buf_append(b, "\n", 1);
	}
}

static char *render(const struct ipg_config_line *lines, int n)
{
	struct ipg_buf b = { 0 };

	ipg_config_render_lines(lines, n, &b);
	ipg_buf_append(&b, "", 0);
	if (b.oom) {
		ipg_buf_free(&b);
		return NULL;
	}
	return b.s ? b.s : strdup("");
}

char *ipg_config_render(const struct ipg_config *c)
{
	return render(c->lines, c->n_lines);
}

char *ipg_config_render_saved(const struct ipg_config *c)
{
	char *t = render(c->lines, c->n_lines);
	size_t n = t ? strlen(t) : 0, k = strlen(c->hidden_tail);

	/* The tail stays last: top-level lines go before includes. */
	if (t && k && n > k && t[n - 1] == '\n' &&
	    !strncmp(t + n - k - 1, c->hidden_tail, k) &&
	    (n == k + 1 || t[n - k - 2] == '\n'))
		t[n - k - 1] = '\0';
	return t;
}

char *ipg_config_render_file(const struct ipg_config *c, int file)
{
	if (file < 0 || file >= c->n_files)
		return NULL;
	return render(c->files[file].lines, c->files[file].n_lines);
}

struct ipg_config_list *ipg_config_list_new(const char *name, int file)
{
	struct ipg_config_list *l = malloc(sizeof(*l));

	if (!l)
		return NULL;
	/* Only what is in use is written, so that 1,000 lists do not cost
	 * 1,000 times the room of 1,024 entries. */
	memset(l, 0, offsetof(struct ipg_config_list, policy.entries));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->file = file;
	l->refs = 1;
	l->policy.kern.mode = IPG_MODE_DROP;
	l->policy.max_entries = IPG_RULES_MAX;
	return l;
}

void ipg_config_list_free(struct ipg_config_list *l)
{
	if (!l)
		return;
	ipg_config_free_lines(l->lines, l->n_lines);
	free(l);
}

void ipg_config_free(struct ipg_config *c)
{
	ipg_config_free_lines(c->lines, c->n_lines);
	c->lines = NULL;
	c->n_lines = 0;
	for (int i = 0; i < c->n_lists; i++)
		if (--c->lists[i]->refs <= 0)
			ipg_config_list_free(c->lists[i]);
	free(c->lists);
	c->lists = NULL;
	c->n_lists = 0;
	for (int i = 0; i < c->n_files; i++) {
		free(c->files[i].path);
		ipg_config_free_lines(c->files[i].lines, c->files[i].n_lines);
	}
	free(c->files);
	c->files = NULL;
	c->n_files = 0;
	for (int i = 0; i < c->n_includes; i++)
		free(c->includes[i]);
	free(c->includes);
	c->includes = NULL;
	c->n_includes = 0;
}

static bool is_default(const char *name)
{
	return !name || !strcmp(name, "default");
}

struct ipg_config_list *ipg_config_list_find(const struct ipg_config *c,
					     const char *name)
{
	if (is_default(name))
		return NULL;
	for (int i = 0; i < c->n_lists; i++)
		if (!strcmp(c->lists[i]->name, name))
			return c->lists[i];
	return NULL;
}

const struct ipg_config_list *ipg_config_list_for(const struct ipg_config *c,
						  const struct ipg_prefix *dst)
{
	for (int i = 0; i < c->n_lists; i++)
		for (int a = 0; a < c->lists[i]->n_addrs; a++)
			if (ipg_prefix_equal(&c->lists[i]->addrs[a], dst))
				return c->lists[i];
	return NULL;
}

const struct ipg_policy_spec *ipg_config_policy(const struct ipg_config *c,
						const char *name)
{
	const struct ipg_config_list *l;

	if (is_default(name))
		return &c->policy;
	l = ipg_config_list_find(c, name);
	return l ? &l->policy : NULL;
}

const char *ipg_config_list_file(const struct ipg_config *c,
				 const struct ipg_config_list *l,
				 const char *main_path)
{
	return l->file >= 0 && l->file < c->n_files ? c->files[l->file].path :
						      main_path;
}
