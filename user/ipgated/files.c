// SPDX-License-Identifier: GPL-2.0
/* What the config's files were when ipgated last read or wrote them, so
 * that a file event caused by its own write (or by nothing that matters)
 * costs a few stat(2) calls, not a parse of every included file. */
#include <glob.h>

#include "daemon.h"

struct stamp {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

void files_free(struct daemon *d)
{
	for (int i = 0; i < d->n_stamps; i++)
		free(d->stamps[i].path);
	free(d->stamps);
	d->stamps = NULL;
	d->n_stamps = 0;
}

static int stamp_take(struct stamp *s, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime = st.st_mtim;
	return 0;
}

void files_stamp(struct daemon *d)
{
	const struct ipg_config *c = &d->cfg;
	struct stamp *v = calloc((size_t)c->n_files + 1, sizeof(*v));
	int n = 0;

	files_free(d);
	if (!v)
		return; /* then every event parses, as before */
	for (int i = 0; i < c->n_files; i++) {
		v[n].path = strdup(c->files[i].path);
		if (v[n].path && !stamp_take(&v[n], v[n].path))
			n++;
		else
			free(v[n].path);
	}
	d->stamps = v;
	d->n_stamps = n;
	d->stamps_valid = n == c->n_files;
}

void files_restamp(struct daemon *d, char *const *paths, int n)
{
	if (!d->stamps_valid || d->n_stamps != d->cfg.n_files)
		return files_stamp(d);
	for (int k = 0; k < n; k++) {
		int i = 0;

		while (i < d->n_stamps && strcmp(d->stamps[i].path, paths[k]))
			i++;
		if (i == d->n_stamps || stamp_take(&d->stamps[i], paths[k]))
			return files_stamp(d);
	}
}

static bool stamp_same(const struct stamp *s)
{
	struct stamp now = { 0 };

	return !stamp_take(&now, s->path) && now.dev == s->dev &&
	       now.ino == s->ino && now.size == s->size &&
	       now.mtime.tv_sec == s->mtime.tv_sec &&
	       now.mtime.tv_nsec == s->mtime.tv_nsec;
}

static bool stamped(const struct daemon *d, const char *path)
{
	for (int i = 0; i < d->n_stamps; i++)
		if (!strcmp(d->stamps[i].path, path))
			return true;
	return false;
}

bool files_unchanged(struct daemon *d)
{
	int matched = 0;

	if (!d->stamps_valid)
		return false;
	for (int i = 0; i < d->n_stamps; i++)
		if (!stamp_same(&d->stamps[i]))
			return false;
	/* A file the patterns match now and did not before (or the other
	 * way round) is a change too. */
	for (int i = 0; i < d->cfg.n_includes; i++) {
		glob_t g = { 0 };
		int r = glob(d->cfg.includes[i], 0, NULL, &g);
		bool known = true;

		for (size_t j = 0; r == 0 && j < g.gl_pathc && known; j++) {
			known = stamped(d, g.gl_pathv[j]);
			matched++;
		}
		globfree(&g);
		if (!known || (r && r != GLOB_NOMATCH))
			return false;
	}
	return matched == d->n_stamps;
}
