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

int ipg_config_set_enabled(struct ipg_config *c, bool enabled,
			   struct ipg_error *e)
{
	char text[1200];
	int at = -1, r;

	for (int i = 0; i < c->n_lines; i++)
		if (c->lines[i].kind == IPG_LINE_ENABLED)
			at = i;
	if (at >= 0) {
		const char *cm = ipg_config_line_comment(&c->lines[at]);

		snprintf(text, sizeof(text), "enabled %s%s%s",
			 enabled ? "yes" : "no", *cm ? "  " : "", cm);
		r = replace_text(&c->lines[at], text);
	} else {
		int before = c->n_lines;

		for (int i = c->n_lines - 1; i >= 0; i--)
			if (c->lines[i].kind == IPG_LINE_ALLOW)
				before = i;
		r = ipg_config_insert_line(c, before, IPG_LINE_ENABLED,
					   enabled ? "enabled yes" :
						     "enabled no",
					   enabled ? 11 : 10, NULL);
	}
	if (r)
		return ipg_fail(e, r, "out of memory");
	c->policy.kern.enabled = enabled;
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

int ipg_config_add(struct ipg_config *c, const struct ipg_prefix *p,
		   const char *label, struct ipg_error *e)
{
	char text[256], cidr[IPG_PREFIX_STRLEN], lab[IPG_LABEL_MAX * 2 + 4];
	int at = c->n_lines, r;

	r = ipg_policy_add(&c->policy, p, label, e);
	if (r)
		return r;
	for (int i = 0; i < c->n_lines; i++)
		if (c->lines[i].kind == IPG_LINE_ALLOW)
			at = i + 1;
	ipg_prefix_format(p, cidr, sizeof(cidr));
	if (label && *label) {
		format_label(label, lab, sizeof(lab));
		snprintf(text, sizeof(text), "allow %-18s %s", cidr, lab);
	} else {
		snprintf(text, sizeof(text), "allow %s", cidr);
	}
	r = ipg_config_insert_line(c, at, IPG_LINE_ALLOW, text, strlen(text),
				   p);
	if (r) {
		c->policy.n_entries--;
		return ipg_fail(e, r, "out of memory");
	}
	return 0;
}

int ipg_config_remove(struct ipg_config *c, const struct ipg_prefix *p,
		      struct ipg_error *e)
{
	int idx = ipg_policy_find(&c->policy, p);
	char cidr[IPG_PREFIX_STRLEN];

	if (idx < 0) {
		ipg_prefix_format(p, cidr, sizeof(cidr));
		return ipg_fail(e, -ENOENT, "%s is not in the list", cidr);
	}
	for (int i = 0; i < c->n_lines; i++) {
		if (c->lines[i].kind != IPG_LINE_ALLOW ||
		    !ipg_prefix_equal(&c->lines[i].prefix, p))
			continue;
		free(c->lines[i].text);
		memmove(&c->lines[i], &c->lines[i + 1],
			sizeof(c->lines[0]) * (size_t)(c->n_lines - i - 1));
		c->n_lines--;
		break;
	}
	memmove(&c->policy.entries[idx], &c->policy.entries[idx + 1],
		sizeof(c->policy.entries[0]) *
			(c->policy.n_entries - (uint32_t)idx - 1));
	c->policy.n_entries--;
	return 0;
}

int ipg_config_clone(struct ipg_config *dst, const struct ipg_config *src,
		     struct ipg_error *e)
{
	char *text = ipg_config_render(src);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_config_parse(dst, text, "config", e);
	free(text);
	if (!r)
		ipg_policy_keep_ids(&dst->policy, src->policy.entries,
				    src->policy.n_entries);
	return r;
}
