/* SPDX-License-Identifier: GPL-2.0 */
/* Setup shared by the suites that run the XDP program. */
#ifndef IPGATE_TESTBPF_H
#define IPGATE_TESTBPF_H

#include <pthread.h>

#include "datapath.h"

/* Opens an unpinned datapath for @suite; fails loudly without root. */
int test_datapath_open(struct ipg_datapath **dp, const char *suite);

/* CLOCK_MONOTONIC in seconds. */
double test_now_s(void);

/* A thread that flips list @id of @dp to pol[0], pol[1], pol[0] ... @max
 * times, starting once test_flipper_packet() says packets run, so that
 * every flip races them. */
struct test_flipper {
	struct ipg_datapath *dp;
	uint32_t id;
	struct ipg_policy_spec *pol[2];
	long max;
	int flipping; /* cleared to stop early */
	int packets_running;
	long flips; /* done so far */
	pthread_t thread;
};
int test_flipper_start(struct test_flipper *f);
/* Says a packet ran (call after each; cheap). */
void test_flipper_packet(struct test_flipper *f);
/* Whether it still flips. */
int test_flipper_running(struct test_flipper *f);
/* Stops it; returns how many flips it made. */
long test_flipper_stop(struct test_flipper *f);

#endif
