// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdlib.h>

#include "harness.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static const char *current;
static int skipped_now;
int harness_failed_now;

void harness_register(const char *name, test_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

const char *harness_current(void)
{
	return current ? current : "(setup)";
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s (%s:%d): ", harness_current(), file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	harness_failed_now = 1;
}

void harness_skip(const char *why)
{
	fprintf(stderr, "SKIP %s: %s\n", harness_current(), why);
	skipped_now = 1;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int harness_main(const char *suite, int argc, char **argv, int (*setup)(void),
		 void (*teardown)(void))
{
	int passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (setup && setup()) {
		/* A suite that cannot set up fails loudly: every case counts. */
		for (int i = 0; i < n_tests; i++)
			if (wanted(tests[i].name, argc, argv))
				failed++;
		fprintf(stderr, "FAIL %s: setup failed; %d cases not run\n",
			suite, failed);
		printf("RESULT %s passed=0 failed=%d skipped=0\n", suite,
		       failed);
		return 1;
	}
	for (int i = 0; i < n_tests; i++) {
		if (!wanted(tests[i].name, argc, argv))
			continue;
		current = tests[i].name;
		harness_failed_now = 0;
		skipped_now = 0;
		tests[i].fn();
		if (harness_failed_now)
			failed++;
		else if (skipped_now)
			skipped++;
		else
			passed++;
		printf("%s %s\n",
		       harness_failed_now ? "not ok" :
		       skipped_now	  ? "skip" :
					    "ok",
		       current);
	}
	current = NULL;
	if (teardown)
		teardown();
	printf("RESULT %s passed=%d failed=%d skipped=%d\n", suite, passed,
	       failed, skipped);
	return failed ? 1 : 0;
}
