// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the config parser never crashes, and what it accepts
 * renders to text that parses again to the same policy. */
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct ipg_config a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *out;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ipg_config_parse(&a, text, "fuzz", NULL) == 0) {
		out = ipg_config_render(&a);
		if (!out || ipg_config_parse(&b, out, "fuzz", NULL) != 0)
			abort();
		if (a.policy.n_entries != b.policy.n_entries ||
		    memcmp(&a.policy.kern, &b.policy.kern,
			   sizeof(a.policy.kern)) ||
		    a.n_interfaces != b.n_interfaces)
			abort();
		for (uint32_t i = 0; i < a.policy.n_entries; i++)
			if (!ipg_prefix_equal(&a.policy.entries[i].prefix,
					      &b.policy.entries[i].prefix) ||
			    strcmp(a.policy.entries[i].label,
				   b.policy.entries[i].label))
				abort();
		free(out);
		ipg_config_free(&b);
		ipg_config_free(&a);
	}
	free(text);
	return 0;
}
