// SPDX-License-Identifier: GPL-2.0
/* The settings page and the break-glass page, embedded in the binary. */
#include "http.h"

bool page_route(struct hreq *h)
{
	(void)h;
	return false;
}
