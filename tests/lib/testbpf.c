// SPDX-License-Identifier: GPL-2.0
#include <sched.h>
#include <stdio.h>
#include <time.h>
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

double test_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *flipper(void *arg)
{
	struct test_flipper *f = arg;
	struct ipg_error e;

	/* Flips only count while packets run. */
	while (!__atomic_load_n(&f->packets_running, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&f->flipping, __ATOMIC_RELAXED))
		sched_yield();
	for (long i = 0;
	     i < f->max && __atomic_load_n(&f->flipping, __ATOMIC_RELAXED);
	     i++) {
		if (ipg_datapath_apply_list(f->dp, f->id, f->pol[i & 1], &e)) {
			fprintf(stderr, "flip: %s\n", e.msg);
			break;
		}
		__atomic_store_n(&f->flips, i + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&f->flipping, 0, __ATOMIC_RELEASE);
	return NULL;
}

int test_flipper_start(struct test_flipper *f)
{
	f->flips = 0;
	f->packets_running = 0;
	f->flipping = 1;
	return pthread_create(&f->thread, NULL, flipper, f);
}

void test_flipper_packet(struct test_flipper *f)
{
	if (!f->packets_running)
		__atomic_store_n(&f->packets_running, 1, __ATOMIC_RELEASE);
}

int test_flipper_running(struct test_flipper *f)
{
	return __atomic_load_n(&f->flipping, __ATOMIC_ACQUIRE);
}

long test_flipper_stop(struct test_flipper *f)
{
	__atomic_store_n(&f->flipping, 0, __ATOMIC_RELEASE);
	pthread_join(f->thread, NULL);
	return f->flips;
}
