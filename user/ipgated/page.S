/* SPDX-License-Identifier: GPL-2.0 */
/* The pages' files, embedded in ipgated: NAME_start and NAME_end around
 * each (http_page.c serves them). Paths are from the top of the tree, where
 * make runs. */
	.macro asset name, file
	.section .rodata.page, "a"
	.global \name\()_start, \name\()_end
	.balign 16
\name\()_start:
	.incbin "\file"
\name\()_end:
	.endm

	asset page_index_html, "user/ipgated/page/index.html"
	asset page_app_css, "user/ipgated/page/app.css"
	asset page_app_js, "user/ipgated/page/app.js"
	asset page_favicon_svg, "user/ipgated/page/favicon.svg"
	asset page_breakglass_html, "user/ipgated/page/breakglass.html"
	asset page_breakglass_js, "user/ipgated/page/breakglass.js"

	.section .note.GNU-stack, "", %progbits
