/* SPDX-License-Identifier: GPL-2.0 */
/* The config file: a line-oriented text that people edit and the daemon
 * rewrites, keeping every comment, label and line it did not change. */
#ifndef IPGATE_CONFIG_H
#define IPGATE_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "policy.h"

#define IPG_CONFIG_DEFAULT "/etc/ipgate/ipgate.conf"
#define IPG_IFACES_MAX 16
#define IPG_OVERRIDE_MAX_DEFAULT_S (24 * 3600)
#define IPG_BREAKGLASS_PORT_DEFAULT 62201

enum ipg_line_kind {
	IPG_LINE_OTHER = 0, /* blank or comment only */
	IPG_LINE_INTERFACE,
	IPG_LINE_ENABLED,
	IPG_LINE_PROTECT,
	IPG_LINE_MAX_ENTRIES,
	IPG_LINE_MODE,
	IPG_LINE_OVERRIDE_MAX,
	IPG_LINE_BREAKGLASS_PORT,
	IPG_LINE_ALLOW,
};

struct ipg_config_line {
	enum ipg_line_kind kind;
	char *text; /* as written, without the newline */
	struct ipg_prefix prefix; /* IPG_LINE_ALLOW: the entry it holds */
};

struct ipg_config {
	char interfaces[IPG_IFACES_MAX][IF_NAMESIZE];
	int n_interfaces;
	uint32_t override_max_s;
	uint16_t breakglass_port; /* udp; 0: off */
	struct ipg_policy_spec policy; /* enabled, mode, ports, entries */
	/* The document, line by line. */
	struct ipg_config_line *lines;
	int n_lines;
	/* Notes that are not errors, e.g. an entry inside another. */
	char warnings[4][256];
	int n_warnings;
};

/* Parses @text; @name names the file in messages. On error, @c is left
 * empty and @e says "NAME:LINE:COL: what is wrong; what was expected". */
int ipg_config_parse(struct ipg_config *c, const char *text, const char *name,
		     struct ipg_error *e);
int ipg_config_load(struct ipg_config *c, const char *path,
		    struct ipg_error *e);
void ipg_config_free(struct ipg_config *c);

/* The document as text, each line ending in a newline; caller frees. */
char *ipg_config_render(const struct ipg_config *c);

/* Whether ipgated may write the config back to @path: not when it is a
 * symbolic link or on a read-only mount (managed elsewhere, such as a
 * Kubernetes ConfigMap). Returns 0 or -EROFS saying so. */
int ipg_config_writable(const char *path, struct ipg_error *e);

/* Writes @c to @path atomically: a temporary file, fsync, rename, fsync of
 * the directory, keeping the file's mode, owner and group. On failure the
 * old file is untouched. */
int ipg_config_save(const struct ipg_config *c, const char *path,
		    struct ipg_error *e);

/* Edits that keep the rest of the document. Each validates first and
 * changes nothing on error. */
int ipg_config_set_enabled(struct ipg_config *c, bool enabled,
			   struct ipg_error *e);
int ipg_config_add(struct ipg_config *c, const struct ipg_prefix *p,
		   const char *label, struct ipg_error *e);
int ipg_config_remove(struct ipg_config *c, const struct ipg_prefix *p,
		      struct ipg_error *e);

/* A deep copy of @src, made by rendering and parsing it again, so that it
 * is what a reload of the saved file gives; rule ids are kept. */
int ipg_config_clone(struct ipg_config *dst, const struct ipg_config *src,
		     struct ipg_error *e);

/* What changed from @a to @b: text lines ("+ allow ...", "- allow ...",
 * "~ enabled: false -> true"), and two JSON objects for the audit log
 * holding the changed settings, the removed (before) or added (after)
 * entries, and the entry count. */
struct ipg_config_diff {
	struct ipg_buf text, before, after;
	int changes, entries_changed;
};
int ipg_config_diff(const struct ipg_config *a, const struct ipg_config *b,
		    struct ipg_config_diff *d);
void ipg_config_diff_free(struct ipg_config_diff *d);

/* The protected ports as the config writes them: "tcp/443 udp/443". */
void ipg_config_ports(const struct ipg_policy *k, struct ipg_buf *b);

/* Parses a duration such as 30m, 2h, 24h, 90s, 1d into seconds. */
int ipg_duration_parse(const char *s, uint32_t *seconds);

#endif
