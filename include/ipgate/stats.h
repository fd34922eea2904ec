/* SPDX-License-Identifier: GPL-2.0 */
/* Outcome counters of the XDP program: indices of the per-CPU stats map,
 * and the names status, `--json` and the tests print them by. */
#ifndef IPGATE_STATS_H
#define IPGATE_STATS_H

/* The one list of counters, in map order: X(id, name, what it counts).
 * The enum below and ipg_stat_name() are both made from it. A name is an
 * output key (status --json) and a row's place a map index: add rows at
 * the end (and bump IPG_ABI_VERSION), never rename one. */
#define IPG_STATS(X)                                                       \
	X(PASS_NON_IP, "passed_non_ip", "not IPv4/IPv6")                   \
	X(PASS_UNPROTECTED, "passed_unprotected", "no protected port")     \
	X(PASS_FRAGMENT, "passed_fragment",                                \
	  "non-first fragment: carries no ports")                          \
	X(PASS_ALLOWED, "passed_allowed", "protected, source allowlisted") \
	X(PASS_DISABLED, "passed_disabled", "protected, list disabled")    \
	X(PASS_OVERRIDE, "passed_override",                                \
	  "protected, emergency override running")                         \
	X(PASS_BREAKGLASS, "passed_breakglass",                            \
	  "protected, source has a live break-glass grant")                \
	X(DROP_DENIED, "dropped", "protected, source not allowlisted")     \
	X(DROP_MALFORMED, "dropped_malformed",                             \
	  "unparseable, source not allowlisted")                           \
	X(TX_RESET, "rejected_reset", "reject mode: blocked SYN answered") \
	X(PASS_SHADOW, "passed_shadow",                                    \
	  "shadow mode: passed, would have been dropped")

enum ipg_stat {
#define IPG_STAT_ENUM_ROW(id, name, what) IPG_STAT_##id,
	IPG_STATS(IPG_STAT_ENUM_ROW)
#undef IPG_STAT_ENUM_ROW
	/* Not a counter: how many there are. */
	IPG_STAT_MAX,
};

#endif
