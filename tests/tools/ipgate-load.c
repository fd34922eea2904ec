// SPDX-License-Identifier: GPL-2.0
/* A test-only loader until ipgated exists: loads the filter, applies a
 * policy given on the command line, attaches it, or detaches it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "datapath.h"
#include "verdict.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: ipgate-load [--pin-dir DIR] [--mode drop|reject] "
		"[--disabled] [--protect tcp/N|udp/N]... [--allow CIDR]... "
		"attach IFACE...\n"
		"       ipgate-load detach IFACE...\n"
		"       ipgate-load stats [--pin-dir DIR]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct ipg_policy_spec pol;
	struct ipg_datapath_opts o = { .pin_dir = IPG_PIN_DIR_DEFAULT };
	struct ipg_datapath *dp = NULL;
	struct ipg_error e = { { 0 } };
	int i, r = 0;

	ipg_log_set_level(getenv("IPGATE_VERBOSE") ? 2 : 0);
	ipg_policy_init(&pol);
	pol.kern.enabled = 1;
	pol.max_entries = IPG_RULES_MAX;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--pin-dir") && i + 1 < argc) {
			o.pin_dir = argv[++i];
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			i++;
			pol.kern.mode = !strcmp(argv[i], "reject") ?
						IPG_MODE_REJECT : IPG_MODE_DROP;
		} else if (!strcmp(argv[i], "--disabled")) {
			pol.kern.enabled = 0;
		} else if (!strcmp(argv[i], "--protect") && i + 1 < argc) {
			unsigned port;
			char proto[4];

			if (sscanf(argv[++i], "%3[a-z]/%u", proto, &port) != 2 ||
			    port > 65535 ||
			    ipg_policy_set_port(&pol,
						!strcmp(proto, "udp") ? IPPROTO_UDP :
						!strcmp(proto, "tcp") ? IPPROTO_TCP : -1,
						(uint16_t)port, true)) {
				fprintf(stderr, "ipgate-load: bad port \"%s\"\n",
					argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--allow") && i + 1 < argc) {
			struct ipg_prefix p;

			i++;
			if (ipg_prefix_parse(argv[i], &p, &e) ||
			    ipg_policy_add(&pol, &p, NULL, &e)) {
				fprintf(stderr, "ipgate-load: %s\n", e.msg);
				return 2;
			}
		} else {
			return usage();
		}
	}
	if (i >= argc)
		return usage();

	if (!strcmp(argv[i], "detach")) {
		for (i++; i < argc; i++)
			if (ipg_datapath_detach(argv[i], &e)) {
				fprintf(stderr, "ipgate-load: %s\n", e.msg);
				r = 1;
			}
		return r;
	}
	if (ipg_datapath_open(&dp, &o, &e)) {
		fprintf(stderr, "ipgate-load: %s\n", e.msg);
		return 1;
	}
	if (!strcmp(argv[i], "stats")) {
		uint64_t st[IPG_STAT_MAX];

		if (ipg_datapath_stats(dp, st) == 0)
			for (int s = 0; s < IPG_STAT_MAX; s++)
				printf("%-20s %llu\n", ipg_stat_name(s),
				       (unsigned long long)st[s]);
	} else if (!strcmp(argv[i], "attach")) {
		r = ipg_datapath_apply(dp, &pol, &e);
		for (i++; !r && i < argc; i++)
			r = ipg_datapath_attach(dp, argv[i], IPG_XDP_AUTO, NULL, &e);
		if (r)
			fprintf(stderr, "ipgate-load: %s\n", e.msg);
	} else {
		r = usage();
	}
	ipg_datapath_close(dp);
	return r ? 1 : 0;
}
