/* SPDX-License-Identifier: GPL-2.0 */
/* Outcome counters of the XDP program: indices of the per-CPU stats map. */
#ifndef IPGATE_STATS_H
#define IPGATE_STATS_H

enum ipg_stat {
	IPG_STAT_PASS_NON_IP = 0, /* not IPv4/IPv6 */
	IPG_STAT_PASS_UNPROTECTED, /* no protected port */
	IPG_STAT_PASS_FRAGMENT, /* non-first fragment: carries no ports */
	IPG_STAT_PASS_ALLOWED, /* protected, source allowlisted */
	IPG_STAT_PASS_DISABLED, /* protected, list disabled */
	IPG_STAT_PASS_OVERRIDE, /* protected, emergency override running */
	IPG_STAT_PASS_BREAKGLASS, /* protected, source has a live break-glass grant */
	IPG_STAT_DROP_DENIED, /* protected, source not allowlisted */
	IPG_STAT_DROP_MALFORMED, /* unparseable, source not allowlisted */
	IPG_STAT_TX_RESET, /* reject mode: blocked SYN answered */
	IPG_STAT_MAX,
};

#endif
