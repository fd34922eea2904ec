// SPDX-License-Identifier: GPL-2.0
/* The output writer: one set of calls gives valid JSON (commas, nesting,
 * escaping, null) in one mode and the text formats in the other, and a call
 * that does not nest is reported. No root needed. */
#include <errno.h>

#include "buf.h"
#include "harness.h"
#include "print.h"

/* A small document with every kind of call, written in @json mode. */
static int render(struct ipg_buf *b, bool json)
{
	struct ipg_print p;

	ipg_print_init(&p, b, json);
	ipg_print_open_object(&p, NULL);
	ipg_print_text(&p, "%-6s", "state");
	ipg_print_bool(&p, IPG_PR_JSON, "enabled", NULL, true);
	ipg_print_string(&p, IPG_PR_ANY, "mode", "%s mode\n", "drop");
	ipg_print_u64(&p, IPG_PR_ANY, "hits", "hits %5s\n",
		      18446744073709551615ull);
	ipg_print_open_array(&p, "items");
	for (int i = 0; i < 2; i++) {
		ipg_print_open_object(&p, NULL);
		ipg_print_string(&p, IPG_PR_ANY | IPG_PR_SAFE, "label",
				 "  <%s>\n", i ? "tab\there" : "say \"hi\" \\");
		ipg_print_open_array(&p, "empty");
		ipg_print_close_array(&p);
		ipg_print_close_object(&p);
	}
	ipg_print_close_array(&p);
	ipg_print_string(&p, IPG_PR_ANY, "until", "until %s\n", NULL);
	ipg_print_null(&p, "entry");
	ipg_print_open_array(&p, "names");
	ipg_print_string(&p, IPG_PR_JSON, NULL, NULL, "a");
	ipg_print_string(&p, IPG_PR_JSON, NULL, NULL, "Zürich\n");
	ipg_print_close_array(&p);
	ipg_print_u64(&p, IPG_PR_TEXT, NULL, "total %s\n", 7);
	ipg_print_close_object(&p);
	return ipg_print_end(&p);
}

/* render() in @json mode gives exactly @want. */
static void expect_render(bool json, const char *want)
{
	struct ipg_buf b = { 0 };

	ASSERT_OK(render(&b, json));
	ASSERT_STR(b.s, want);
	ipg_buf_free(&b);
}

TEST(test_print_json_has_commas_nesting_escapes_and_null)
{
	CHECK(expect_render(true, "{\"enabled\":true,\"mode\":\"drop\","
				  "\"hits\":18446744073709551615,\"items\":["
				  "{\"label\":\"say \\\"hi\\\" \\\\\","
				  "\"empty\":[]},"
				  "{\"label\":\"tab\\u0009here\","
				  "\"empty\":[]}],"
				  "\"until\":null,\"entry\":null,"
				  "\"names\":[\"a\",\"Zürich\\n\"]}\n"));
}

TEST(test_print_text_uses_formats_and_skips_json_only_and_absent)
{
	CHECK(expect_render(false, "state drop mode\n"
				   "hits 18446744073709551615\n"
				   "  <say \"hi\" \\x5c>\n"
				   "  <tab\\x09here>\n"
				   "total 7\n"));
}

TEST(test_print_text_pads_numbers_like_printf)
{
	struct ipg_buf b = { 0 };
	struct ipg_print p;

	ipg_print_init(&p, &b, false);
	ipg_print_text(&p, "  %-8s", "dropped");
	ipg_print_u64(&p, IPG_PR_ANY, NULL, " %6s|\n", 42);
	ASSERT_OK(ipg_print_end(&p));
	ASSERT_STR(b.s, "  dropped      42|\n");
	ipg_buf_free(&b);
}

TEST(test_print_empty_object_and_array_in_array)
{
	struct ipg_buf b = { 0 };
	struct ipg_print p;

	ipg_print_init(&p, &b, true);
	ipg_print_open_array(&p, NULL);
	ipg_print_open_object(&p, NULL);
	ipg_print_close_object(&p);
	ipg_print_open_array(&p, NULL);
	ipg_print_u64(&p, IPG_PR_ANY, NULL, NULL, 0);
	ipg_print_close_array(&p);
	ipg_print_bool(&p, IPG_PR_ANY, NULL, NULL, false);
	ipg_print_close_array(&p);
	ASSERT_OK(ipg_print_end(&p));
	ASSERT_STR(b.s, "[{},[0],false]\n");
	ipg_buf_free(&b);
}

/* Misuse makes invalid JSON; it must be reported, in either mode. */
static int misuse(int how, bool json)
{
	struct ipg_buf b = { 0 };
	struct ipg_print p;
	int r;

	ipg_print_init(&p, &b, json);
	ipg_print_open_object(&p, NULL);
	if (how == 0) /* a member without a key */
		ipg_print_u64(&p, IPG_PR_ANY, NULL, "%s", 1);
	if (how == 1) { /* a key inside an array */
		ipg_print_open_array(&p, "a");
		ipg_print_string(&p, IPG_PR_JSON, "k", NULL, "v");
		ipg_print_close_array(&p);
	}
	if (how == 2) /* closing an array that is an object */
		ipg_print_close_array(&p);
	if (how == 5) { /* deeper than the writer follows */
		ipg_print_open_array(&p, "deep");
		for (int i = 0; i < IPG_PRINT_DEPTH - 1; i++)
			ipg_print_open_array(&p, NULL);
		for (int i = 0; i < IPG_PRINT_DEPTH; i++)
			ipg_print_close_array(&p);
	}
	if (how != 3) /* 3: left open */
		ipg_print_close_object(&p);
	if (how == 4) /* a second document */
		ipg_print_open_object(&p, NULL);
	r = ipg_print_end(&p);
	ipg_buf_free(&b);
	return r;
}

TEST(test_print_reports_calls_that_do_not_nest)
{
	for (int how = 0; how < 6; how++) {
		ASSERT_EQ(misuse(how, true), -EINVAL);
		ASSERT_EQ(misuse(how, false), -EINVAL);
	}
}

TEST(test_print_text_only_keys_are_not_checked)
{
	struct ipg_buf b = { 0 };
	struct ipg_print p;

	ipg_print_init(&p, &b, true);
	ipg_print_open_array(&p, NULL);
	/* Text-only fields may carry a key or not: JSON never sees them. */
	ipg_print_u64(&p, IPG_PR_TEXT, "ignored", "%s", 1);
	ipg_print_string(&p, IPG_PR_JSON, NULL, NULL, "x");
	ipg_print_close_array(&p);
	ASSERT_OK(ipg_print_end(&p));
	ASSERT_STR(b.s, "[\"x\"]\n");
	ipg_buf_free(&b);
}

int main(int argc, char **argv)
{
	return harness_main("unit/print", argc, argv, NULL, NULL);
}
