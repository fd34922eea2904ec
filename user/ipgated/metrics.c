// SPDX-License-Identifier: GPL-2.0
/* GET /metrics: Prometheus' text exposition format. */
#include "http.h"

int metrics_render(struct daemon *d, struct ipg_buf *out)
{
	(void)d;
	ipg_buf_printf(out, "# TYPE ipgate_up gauge\nipgate_up 1\n");
	return 0;
}
