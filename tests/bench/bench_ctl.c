// SPDX-License-Identifier: GPL-2.0
/* Control-plane latency: requests to a running ipgated, each answered after
 * its policy is flipped and its audit record fsynced. N add/remove changes
 * against a 50-entry list, then N/5 applies alternating two 50-entry
 * files. Prints "ctl KIND MICROSECONDS" per request.
 *   bench_ctl SOCKET N FILE_A FILE_B
 * With LIST (a printf pattern taking the request's number modulo K, e.g.
 * c%04d) the N changes go to named lists instead (no applies):
 *   bench_ctl SOCKET N - - LIST K */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "ctl.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int call(const char *sock, struct ipg_ctl_msg *req, const char *kind)
{
	struct ipg_ctl_msg rep;
	struct ipg_error e = { { 0 } };
	double t0 = now_us();
	int r = ipg_ctl_call(sock, req, &rep, &e);
	const char *code = ipg_ctl_get(&rep, "code");

	const char *out = ipg_ctl_get(&rep, "out");

	/* A request that changed nothing would measure nothing. */
	if (!r && out && strstr(out, "nothing to change")) {
		fprintf(stderr, "bench_ctl: %s changed nothing\n", kind);
		ipg_ctl_free(&rep);
		return -1;
	}
	if (r || !code || strcmp(code, "ok")) {
		fprintf(stderr, "bench_ctl: %s: %s %s\n", kind, e.msg,
			ipg_ctl_get(&rep, "message") ?
				ipg_ctl_get(&rep, "message") :
				"");
		ipg_ctl_free(&rep);
		return -1;
	}
	printf("ctl %s %.1f\n", kind, now_us() - t0);
	ipg_ctl_free(&rep);
	return 0;
}

int main(int argc, char **argv)
{
	struct ipg_buf a = { 0 }, b = { 0 };
	int n;

	const char *list = argc >= 7 ? argv[5] : NULL;
	int k = argc >= 7 ? atoi(argv[6]) : 1;

	if (argc < 5 || k < 1) {
		fprintf(stderr, "usage: bench_ctl SOCKET N FILE_A FILE_B, or "
				"bench_ctl SOCKET N - - LIST K\n");
		return 2;
	}
	n = atoi(argv[2]);
	if (!list && (ipg_read_file(argv[3], 1 << 20, &a) ||
		      ipg_read_file(argv[4], 1 << 20, &b)))
		return 1;
	for (int i = 0; i < n; i++) {
		struct ipg_ctl_msg req = { 0 };
		char cidr[32], name[64];
		/* Each list gets an add, then a remove of the same entry. */
		int round = list ? i / k : i;

		snprintf(cidr, sizeof(cidr), "203.0.113.%d",
			 1 + (round / 2) % 250);
		ipg_ctl_set(&req, "cmd", round % 2 ? "remove" : "add");
		ipg_ctl_set(&req, "cidr", cidr);
		if (list) {
			snprintf(name, sizeof(name), list, i % k);
			ipg_ctl_set(&req, "list", name);
		}
		if (call(argv[1], &req,
			 list	   ? (k > 1 ? "list-spread" : "list-same") :
			 round % 2 ? "remove" :
				     "add"))
			return 1;
		ipg_ctl_free(&req);
	}
	for (int i = 0; !list && i < n / 5; i++) {
		struct ipg_ctl_msg req = { 0 };
		const struct ipg_buf *t = i % 2 ? &a : &b;

		ipg_ctl_set(&req, "cmd", "apply");
		ipg_ctl_setn(&req, "text", t->s, t->len);
		if (call(argv[1], &req, "apply"))
			return 1;
		ipg_ctl_free(&req);
	}
	ipg_buf_free(&a);
	ipg_buf_free(&b);
	return 0;
}
