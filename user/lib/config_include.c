// SPDX-License-Identifier: GPL-2.0
/* Include lines: "include PATTERN" at the top level of the main file reads
 * the files the pattern matches, in byte order of their paths, each holding
 * list blocks only (and comments). Files come from the disk (glob(3)), from
 * texts given by the caller, or from a config being cloned. */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "config.h"
#include "config_lines.h"
#include "config_parse.h"

#define INCLUDE_FILE_MAX (16u << 20)
#define INCLUDED_TOTAL_MAX (64u << 20)

/* A file an include line matched, in the order it is read. */
struct match {
	const char *path;
	const char *text; /* NULL: read it from the disk */
};

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct match *)a)->path,
		      ((const struct match *)b)->path);
}

/* @pattern as a path: relative ones start in the main file's directory. */
static void resolve_pattern(const struct parse_ctx *p, const char *pattern,
			    char *out, size_t size)
{
	const char *slash = strrchr(p->main_name, '/');

	if (pattern[0] == '/' || !slash)
		snprintf(out, size, "%s", pattern);
	else
		snprintf(out, size, "%.*s/%s", (int)(slash - p->main_name),
			 p->main_name, pattern);
}

/* The texts @p's source holds that include line @ordinal (pattern
 * @pattern) matches, sorted, into *@out (caller frees); their count. */
static int match_texts(const struct parse_ctx *p, int ordinal,
		       const char *pattern, struct match **out)
{
	const struct include_src *src = p->src;
	struct match *m = calloc((size_t)src->n + 1, sizeof(*m));
	int n = 0;

	if (!m)
		return -ENOMEM;
	for (int i = 0; i < src->n; i++) {
		if (src->mode == INCLUDE_ORDINAL ?
			    src->ordinals[i] != ordinal :
			    fnmatch(pattern, src->texts[i].path,
				    FNM_PATHNAME | FNM_PERIOD) != 0)
			continue;
		m[n].path = src->texts[i].path;
		m[n++].text = src->texts[i].text;
	}
	if (src->mode == INCLUDE_TEXTS)
		qsort(m, (size_t)n, sizeof(*m), by_path);
	*out = m;
	return n;
}

/* A directory that is not there matches nothing; one that cannot be
 * read stops the glob. */
static int glob_error(const char *path, int err)
{
	(void)path;
	return err != ENOENT && err != ENOTDIR;
}

/* The paths glob(3) finds for @pattern, sorted, into *@out and @g. */
static int match_disk(struct parse_ctx *p, const struct tok *t,
		      const char *pattern, glob_t *g, struct match **out)
{
	struct match *m;
	int r = glob(pattern, GLOB_NOSORT, glob_error, g);

	if (r == GLOB_NOMATCH)
		g->gl_pathc = 0;
	else if (r == GLOB_NOSPACE)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	else if (r)
		return fail_at(p, t->col,
			       "cannot read the directories %s names; check "
			       "that they exist and may be read",
			       pattern);
	m = calloc(g->gl_pathc + 1, sizeof(*m));
	if (!m)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	for (size_t i = 0; i < g->gl_pathc; i++)
		m[i].path = g->gl_pathv[i];
	qsort(m, g->gl_pathc, sizeof(*m), by_path);
	*out = m;
	return (int)g->gl_pathc;
}

/* Reads matched file @m from the disk into @b: a regular file, not the
 * main file, at most 16 MiB, no NUL byte. */
static int read_match(struct parse_ctx *p, const struct tok *t,
		      const struct match *m, struct ipg_buf *b)
{
	struct stat st, main_st;
	int r;

	if (stat(m->path, &st))
		return fail_at(p, t->col, "cannot read %s: %s", m->path,
			       strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail_at(p, t->col,
			       "%s is not a regular file; the pattern should "
			       "match config files only",
			       m->path);
	if (!stat(p->main_name, &main_st) && main_st.st_dev == st.st_dev &&
	    main_st.st_ino == st.st_ino)
		return fail_at(p, t->col,
			       "the pattern matches the main config file %s "
			       "itself; narrow it, e.g. lists.d/*.conf",
			       p->main_name);
	r = ipg_read_file(m->path, INCLUDE_FILE_MAX, b);
	if (r == -EFBIG)
		return fail_at(p, t->col, "%s is larger than 16 MiB", m->path);
	if (r)
		return fail_at(p, t->col, "cannot read %s: %s", m->path,
			       strerror(-r));
	if (strlen(b->s) != b->len)
		return fail_at(p, t->col, "%s: NUL byte in the file", m->path);
	return 0;
}

/* Adds matched file @m (text @text) to @c and reads its lines. */
static int include_file(struct parse_ctx *p, struct ipg_config *c,
			const struct tok *t, int ordinal, const char *path,
			const char *text)
{
	struct parse_ctx saved = *p;
	struct ipg_config_file *f;
	size_t len = strlen(text);
	int r;

	for (int i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i].path, path))
			return fail_at(p, t->col,
				       "%s is already included by an earlier "
				       "include line; each file is read once",
				       path);
	if (p->src->mode == INCLUDE_TEXTS && !strcmp(path, p->main_name))
		return fail_at(p, t->col,
			       "the pattern matches the main config file %s "
			       "itself; narrow it, e.g. lists.d/*.conf",
			       path);
	if (c->n_files == IPG_INCLUDE_FILES_MAX)
		return fail_at(p, t->col, "more than %d included files",
			       IPG_INCLUDE_FILES_MAX);
	if (len > INCLUDED_TOTAL_MAX - p->included_bytes)
		return fail_at(p, t->col,
			       "the included files hold more than 64 MiB");
	p->included_bytes += len;
	f = realloc(c->files, sizeof(*f) * (size_t)(c->n_files + 1));
	if (!f)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	c->files = f;
	f = &c->files[c->n_files];
	memset(f, 0, sizeof(*f));
	f->include = ordinal;
	f->path = strdup(path);
	if (!f->path)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	p->file = c->n_files++;
	p->name = f->path;
	p->line = 0;
	r = ipg_cfg_parse_text(p, c, text);
	p->file = saved.file;
	p->name = saved.name;
	p->line = saved.line;
	return r;
}

int ipg_cfg_parse_include(struct parse_ctx *p, struct ipg_config *c,
			  const struct line_toks *lt)
{
	const struct tok *t = &lt->t[1];
	int ordinal = p->n_includes++, n, r = 0;
	struct match *m = NULL;
	char pattern[PATH_MAX];
	glob_t g = { 0 };

	resolve_pattern(p, t->val, pattern, sizeof(pattern));
	{
		char **v = realloc(c->includes,
				   sizeof(*v) * (size_t)(c->n_includes + 1));

		if (!v || !(v[c->n_includes] = strdup(pattern))) {
			if (v)
				c->includes = v;
			return ipg_fail(p->e, -ENOMEM, "%s: out of memory",
					p->name);
		}
		c->includes = v;
		c->n_includes++;
	}
	if (p->src->mode == INCLUDE_DISK)
		n = match_disk(p, t, pattern, &g, &m);
	else
		n = match_texts(p, ordinal, pattern, &m);
	if (n == -ENOMEM)
		r = ipg_fail(p->e, n, "%s: out of memory", p->name);
	else if (n < 0)
		r = n;
	if (!r && !n && !strpbrk(t->val, "*?["))
		ipg_cfg_warn(c, "include %s (%s line %d) matches no file",
			     t->val, p->name, p->line);
	for (int i = 0; i < n && !r; i++) {
		struct ipg_buf b = { 0 };

		if (!m[i].text)
			r = read_match(p, t, &m[i], &b);
		if (!r)
			r = include_file(p, c, t, ordinal, m[i].path,
					 m[i].text ? m[i].text : b.s);
		ipg_buf_free(&b);
	}
	free(m);
	if (p->src->mode == INCLUDE_DISK)
		globfree(&g);
	return r;
}
