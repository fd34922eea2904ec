// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testbpf.h"

int test_datapath_open(struct ipg_datapath **dp, const char *suite)
{
	struct ipg_datapath_opts o = { 0 };
	struct ipg_error e = { { 0 } };

	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (BPF_PROG_TEST_RUN)\n", suite);
		return -1;
	}
	ipg_log_set_level(getenv("IPGATE_TEST_VERBOSE") ? 2 : 0);
	if (ipg_datapath_open(dp, &o, &e)) {
		fprintf(stderr, "%s: %s\n", suite, e.msg);
		return -1;
	}
	return 0;
}
