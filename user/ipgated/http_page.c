// SPDX-License-Identifier: GPL-2.0
/* The settings page and the break-glass page: files embedded in the binary
 * (page.S), served under the strict Content-Security-Policy; and the
 * break-glass page's POST. */
#include "http.h"

#define ASSET(sym) extern const char sym##_start[], sym##_end[]
ASSET(page_index_html);
ASSET(page_app_css);
ASSET(page_app_js);
ASSET(page_favicon_svg);
ASSET(page_breakglass_html);
ASSET(page_breakglass_js);

#define HTML "text/html; charset=utf-8"
#define SVG "image/svg+xml"

static const struct asset {
	const char *path, *ctype, *start, *end;
} assets[] = {
	{ "/", HTML, page_index_html_start, page_index_html_end },
	{ "/app.css", "text/css; charset=utf-8", page_app_css_start,
	  page_app_css_end },
	{ "/app.js", "text/javascript; charset=utf-8", page_app_js_start,
	  page_app_js_end },
	{ "/favicon.svg", SVG, page_favicon_svg_start, page_favicon_svg_end },
	/* Asked for by browsers that did not read the page's link. */
	{ "/favicon.ico", SVG, page_favicon_svg_start, page_favicon_svg_end },
	{ "/breakglass", HTML, page_breakglass_html_start,
	  page_breakglass_html_end },
	{ "/breakglass.js", "text/javascript; charset=utf-8",
	  page_breakglass_js_start, page_breakglass_js_end },
};

bool page_route(struct hreq *h)
{
	if (!strcmp(h->url, "/v1/breakglass")) {
		http_breakglass(h);
		return true;
	}
	for (size_t i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
		const struct asset *a = &assets[i];

		if (strcmp(h->url, a->path))
			continue;
		h->page = true;
		if (strcmp(h->method, "GET") && strcmp(h->method, "HEAD")) {
			hproblem(h, 405, NULL,
				 "%s is not allowed here; use GET", h->method);
			return true;
		}
		ipg_buf_free(&h->out);
		ipg_buf_append(&h->out, a->start, (size_t)(a->end - a->start));
		if (h->out.oom) {
			hproblem(h, 500, NULL, "out of memory for %s", a->path);
			return true;
		}
		h->status = 200;
		h->ctype = a->ctype;
		return true;
	}
	return false;
}
