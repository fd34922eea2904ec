/* SPDX-License-Identifier: GPL-2.0 */
/* Setup shared by the suites that run the XDP program. */
#ifndef IPGATE_TESTBPF_H
#define IPGATE_TESTBPF_H

#include "datapath.h"

/* Opens an unpinned datapath for @suite; fails loudly without root. */
int test_datapath_open(struct ipg_datapath **dp, const char *suite);

#endif
