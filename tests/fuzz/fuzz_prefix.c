// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the prefix parser never crashes, and the canonical form
 * of what it accepts parses back to the same prefix and the same text. */
#include <stdlib.h>
#include <string.h>

#include "prefix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128], canon[IPG_PREFIX_STRLEN], again[IPG_PREFIX_STRLEN];
	struct ipg_prefix p, q;
	struct ipg_error e;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ipg_prefix_parse(text, &p, &e) != 0) {
		if (!e.msg[0])
			abort(); /* every refusal says why */
		return 0;
	}
	ipg_prefix_format(&p, canon, sizeof(canon));
	if (ipg_prefix_parse(canon, &q, &e) != 0 || !ipg_prefix_equal(&p, &q))
		abort();
	ipg_prefix_format(&q, again, sizeof(again));
	if (strcmp(canon, again))
		abort();
	return 0;
}
