// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the config parser never crashes, and what it accepts
 * renders to text that parses again to the same policy, lists included.
 * The input is the main file, then, after each line "%%", one more file
 * (lists.d/0.conf, lists.d/1.conf, ...) that include lines may match:
 * given as texts, so that no input makes the parser read the disk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define FILES_MAX 8

static struct ipg_config a, b;

static bool same_policy(const struct ipg_policy_spec *x,
			const struct ipg_policy_spec *y)
{
	if (x->n_entries != y->n_entries || x->max_entries != y->max_entries ||
	    memcmp(&x->kern, &y->kern, sizeof(x->kern)))
		return false;
	for (uint32_t i = 0; i < x->n_entries; i++)
		if (!ipg_prefix_equal(&x->entries[i].prefix,
				      &y->entries[i].prefix) ||
		    strcmp(x->entries[i].label, y->entries[i].label))
			return false;
	return true;
}

static bool same_config(const struct ipg_config *x, const struct ipg_config *y)
{
	if (!same_policy(&x->policy, &y->policy) ||
	    x->n_interfaces != y->n_interfaces || x->n_lists != y->n_lists ||
	    x->n_files != y->n_files)
		return false;
	for (int i = 0; i < x->n_lists; i++) {
		const struct ipg_config_list *l = x->lists[i], *m = y->lists[i];

		if (strcmp(l->name, m->name) || l->n_addrs != m->n_addrs ||
		    l->set != m->set ||
		    l->override_max_s != m->override_max_s ||
		    memcmp(l->addrs, m->addrs,
			   sizeof(l->addrs[0]) * (size_t)l->n_addrs) ||
		    !same_policy(&l->policy, &m->policy))
			return false;
	}
	return true;
}

/* Splits @text in place at each "\n%%\n" into the main file and texts. */
static int split(char *text, struct ipg_config_text *files, char names[][32])
{
	int n = 0;
	char *s = text, *sep;

	while (n < FILES_MAX && (sep = strstr(s, "\n%%\n"))) {
		sep[1] = '\0';
		snprintf(names[n], sizeof(names[n]), "/f/lists.d/%d.conf", n);
		files[n].path = names[n];
		files[n].text = sep + 4;
		s = sep + 4;
		n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipg_config_text files[FILES_MAX], again[FILES_MAX];
	char *text = malloc(size + 1), *out, *parts[FILES_MAX] = { 0 };
	char names[FILES_MAX][32];
	int n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = split(text, files, names);
	if (ipg_config_parse_texts(&a, text, "/f/ipgate.conf", files, n,
				   NULL) == 0) {
		out = ipg_config_render(&a);
		for (int i = 0; i < a.n_files; i++) {
			parts[i] = ipg_config_render_file(&a, i);
			again[i].path = a.files[i].path;
			again[i].text = parts[i];
			if (!parts[i])
				abort();
		}
		if (!out || ipg_config_parse_texts(&b, out, "/f/ipgate.conf",
						   again, a.n_files, NULL) != 0)
			abort();
		if (!same_config(&a, &b))
			abort();
		ipg_config_free(&b);
		if (ipg_config_clone(&b, &a, NULL) != 0 || !same_config(&a, &b))
			abort();
		for (int i = 0; i < a.n_files; i++)
			free(parts[i]);
		free(out);
		ipg_config_free(&b);
		ipg_config_free(&a);
	}
	free(text);
	return 0;
}
