/* SPDX-License-Identifier: GPL-2.0 */
/* A small test harness: TEST() registers a case, ASSERT_*() print the test,
 * the expectation and the actual value, and end the case on failure. */
#ifndef IPGATE_TEST_HARNESS_H
#define IPGATE_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);

void harness_register(const char *name, test_fn fn);
/* Runs every case (or those named in argv); prints one line per failure and
 * a closing "RESULT <suite> passed=N failed=N skipped=N"; returns the exit
 * code. @setup runs once first; a non-zero return fails the whole suite. */
int harness_main(const char *suite, int argc, char **argv, int (*setup)(void),
		 void (*teardown)(void));

void harness_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks the current case skipped, with the reason; it must then return. */
void harness_skip(const char *why);
const char *harness_current(void);

extern int harness_failed_now;

#define TEST(name)                                                     \
	static void name(void);                                        \
	__attribute__((constructor)) static void register_##name(void) \
	{                                                              \
		harness_register(#name, name);                         \
	}                                                              \
	static void name(void)

#define FAIL(...)                                              \
	do {                                                   \
		harness_fail(__FILE__, __LINE__, __VA_ARGS__); \
		return;                                        \
	} while (0)

#define ASSERT_TRUE(c)                           \
	do {                                     \
		if (!(c))                        \
			FAIL("expected %s", #c); \
	} while (0)

#define ASSERT_EQ(a, b)                                                       \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b)                                                 \
			FAIL("%s == %s: expected %lld, got %lld", #a, #b, _b, \
			     _a);                                             \
	} while (0)

#define ASSERT_OK(e)                                                  \
	do {                                                          \
		long long _r = (long long)(e);                        \
		if (_r != 0)                                          \
			FAIL("%s: expected 0, got %lld (%s)", #e, _r, \
			     strerror((int)(_r < 0 ? -_r : _r)));     \
	} while (0)

#define ASSERT_STR(a, b)                                                     \
	do {                                                                 \
		const char *_a = (a), *_b = (b);                             \
		if (strcmp(_a, _b))                                          \
			FAIL("%s: expected \"%s\", got \"%s\"", #a, _b, _a); \
	} while (0)

/* Runs a helper that may fail, and returns from the test if it did. */
#define CHECK(call)                     \
	do {                            \
		call;                   \
		if (harness_failed_now) \
			return;         \
	} while (0)

#endif
