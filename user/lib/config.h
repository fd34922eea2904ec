/* SPDX-License-Identifier: GPL-2.0 */
/* The config file: a line-oriented text that people edit and the daemon
 * rewrites, keeping every comment, label and line it did not change. The
 * top level is the default list; "list NAME { ... }" blocks, in the main
 * file or in files include lines match, are the named lists. */
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
#define IPG_LISTS_MAX 4096
#define IPG_LIST_ADDRS_MAX 64
#define IPG_INCLUDE_FILES_MAX 4096

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
	IPG_LINE_ADDRESS, /* inside a list block */
	IPG_LINE_LIST, /* "list NAME {": the first of a block's lines */
	IPG_LINE_LIST_END, /* "}": the last of a block's lines */
	IPG_LINE_INCLUDE,
	IPG_LINE_BLOCK, /* in a file's lines: a whole list block */
	IPG_LINE_HTTP_LISTEN,
	IPG_LINE_HTTP_TLS_CERT,
	IPG_LINE_HTTP_TLS_KEY,
	IPG_LINE_HTTP_PROXY,
	IPG_LINE_METRICS_PUBLIC,
	IPG_LINE_HTTP_URL,
	IPG_LINE_CHAIN,
	IPG_LINE_BLOCKED_LOG,
	IPG_LINE_STORE,
	IPG_LINE_STORE_PREFIX,
	IPG_LINE_STORE_CA,
	IPG_LINE_STORE_CERT,
	IPG_LINE_STORE_KEY,
	IPG_LINE_STORE_USER,
	IPG_LINE_STORE_PASSWORD,
	IPG_LINE_STORE_HOST,
	IPG_LINE_KINDS /* how many kinds */
};

struct ipg_config_list;

struct ipg_config_line {
	enum ipg_line_kind kind;
	char *text; /* as written, without the newline; NULL for a block */
	struct ipg_prefix prefix; /* IPG_LINE_ALLOW: the entry it holds */
	struct ipg_config_list *list; /* IPG_LINE_BLOCK: the block */
};

/* The settings a list block may write itself; the ones it does not come
 * from the top level (enabled excepted: a list's own, "no" when absent). */
enum ipg_list_set {
	IPG_LIST_SET_ENABLED = 1 << 0,
	IPG_LIST_SET_PROTECT = 1 << 1,
	IPG_LIST_SET_MODE = 1 << 2,
	IPG_LIST_SET_MAX_ENTRIES = 1 << 3,
	IPG_LIST_SET_OVERRIDE_MAX = 1 << 4,
};

/* A named list: a "list NAME { ... }" block, guarding the destinations in
 * addrs. Allocated one by one: policy alone is about 106 KB, of which only
 * the settings and the entries in use are ever written. */
struct ipg_config_list {
	char name[IPG_LIST_NAME_MAX + 1];
	int n_addrs;
	struct ipg_prefix addrs[IPG_LIST_ADDRS_MAX]; /* /32 or /128 each */
	/* "address shared": no address of its own; the customer is known
	 * only from the HTTP request (/v1/check), never judged by XDP. */
	bool shared;
	uint32_t override_max_s; /* resolved */
	unsigned set; /* enum ipg_list_set: what the block writes itself */
	int file; /* -1: the main file; else an index in ipg_config.files */
	int line; /* of "list NAME {" in that file, kept current by edits */
	/* The block as written: "list NAME {", its lines, "}". */
	struct ipg_config_line *lines;
	int n_lines;
	/* Configs holding this list (ipg_config_cow() shares the lists a
	 * change does not touch); freed with the last. */
	int refs;
	int idx; /* its index in the lists of the config that parsed it */
	/* Last: inherited settings resolved; entries past n_entries are
	 * never touched. */
	struct ipg_policy_spec policy;
};

/* A file an include line matched: comments, blank lines, list blocks. */
struct ipg_config_file {
	char *path; /* as the pattern matched it */
	int include; /* which include line matched it: 0 for the first */
	bool dirty; /* edited since it was read or saved */
	struct ipg_config_line *lines;
	int n_lines;
};

/* The HTTP API's settings: the host's own, in the main file only. */
#define IPG_HTTP_PROXIES_MAX 16
#define IPG_HTTP_PATH_MAX 256
struct ipg_http_config {
	struct ipg_prefix addr; /* family 0: no listener */
	uint16_t port;
	char tls_cert[IPG_HTTP_PATH_MAX], tls_key[IPG_HTTP_PATH_MAX];
	/* The address people reach the listener at, for the URLs ipgate
	 * prints (http-public-url); "": from http-listen. */
	char public_url[IPG_HTTP_PATH_MAX];
	/* Peers whose X-Real-IP header /v1/check believes. */
	struct ipg_prefix proxies[IPG_HTTP_PROXIES_MAX];
	int n_proxies;
	bool metrics_public;
};

/* The fleet's store (config_store.c): with endpoints, the named lists live
 * in etcd under prefix "lists/NAME", one key a list, and this host
 * publishes itself under "hosts/NAME". */
#define IPG_STORE_ENDPOINTS_MAX 8
#define IPG_STORE_PREFIX_DEFAULT "/ipgate/"
struct ipg_store_config {
	char endpoints[IPG_STORE_ENDPOINTS_MAX][IPG_HTTP_PATH_MAX];
	int n_endpoints; /* 0: no store; the files are the source */
	char prefix[128];
	char ca[IPG_HTTP_PATH_MAX], cert[IPG_HTTP_PATH_MAX],
		key[IPG_HTTP_PATH_MAX];
	char user[64], password_file[IPG_HTTP_PATH_MAX];
	char host[64]; /* "": the host name */
};

struct ipg_config {
	char interfaces[IPG_IFACES_MAX][IF_NAMESIZE];
	int n_interfaces;
	uint32_t override_max_s;
	uint16_t breakglass_port; /* udp; 0: off */
	/* The pinned XDP program that gets what ipgate passes; "": none. */
	char chain[IPG_HTTP_PATH_MAX];
	/* Blocked-source reports a second per list and CPU; 0: off. */
	uint32_t blocked_budget;
	struct ipg_http_config http;
	struct ipg_store_config store;
	struct ipg_policy_spec policy; /* enabled, mode, ports, entries */
	/* The main file, line by line (a list block is one IPG_LINE_BLOCK). */
	struct ipg_config_line *lines;
	int n_lines;
	bool dirty; /* the main file edited since it was read or saved */
	/* A last line of the main file that its caller added and that is
	 * never saved: in store mode, the include of the store's lists. */
	char hidden_tail[256];
	/* Named lists in the order of the document (an include line's files
	 * where the line stands), and the files include lines matched. */
	struct ipg_config_list **lists;
	int n_lists;
	struct ipg_config_file *files;
	int n_files;
	/* The include lines' patterns as paths (relative ones resolved), so
	 * that the daemon can watch their directories. */
	char **includes;
	int n_includes;
	/* Notes that are not errors, e.g. an entry inside another. */
	char warnings[4][256];
	int n_warnings;
};

/* Parses @text; @name names the file in messages. An include line reads
 * the files its pattern matches (glob(3), relative to the directory of
 * @name), in byte order. On error, @c is left empty and @e says
 * "FILE:LINE:COL: what is wrong; what was expected", FILE being the
 * included file when the error is in one. */
int ipg_config_parse(struct ipg_config *c, const char *text, const char *name,
		     struct ipg_error *e);
int ipg_config_load(struct ipg_config *c, const char *path,
		    struct ipg_error *e);
void ipg_config_free(struct ipg_config *c);

/* A file given as text. */
struct ipg_config_text {
	const char *path;
	const char *text;
};
/* Like ipg_config_parse(), but include lines match only the paths of
 * @files (as glob(3) would match them on disk) and never read the disk. */
int ipg_config_parse_texts(struct ipg_config *c, const char *text,
			   const char *name,
			   const struct ipg_config_text *files, int n_files,
			   struct ipg_error *e);

/* The main file as text, each line ending in a newline; caller frees. */
char *ipg_config_render(const struct ipg_config *c);
/* The main file as saved: without its hidden tail; caller frees. */
char *ipg_config_render_saved(const struct ipg_config *c);
/* Included file @file (an index in c->files) as text; caller frees. */
char *ipg_config_render_file(const struct ipg_config *c, int file);

/* The HTTP listener as ADDRESS:PORT ("[v6]:PORT"), or "off". */
void ipg_http_listen_format(const struct ipg_http_config *h, char *out,
			    size_t size);
/* Whether @a is a loopback address (127.0.0.0/8, ::1). */
bool ipg_addr_loopback(const struct ipg_prefix *a);

/* Whether @s is a list name: 1 to IPG_LIST_NAME_MAX of a-z, 0-9, _ and -,
 * starting with a letter or digit. */
bool ipg_list_name_ok(const char *s);

/* The list named @name, or NULL; "default" and NULL name the top level,
 * which has no struct ipg_config_list: NULL too. */
struct ipg_config_list *ipg_config_list_find(const struct ipg_config *c,
					     const char *name);
/* The list that guards destination @dst (a /32 or /128), or NULL for the
 * top-level list. */
const struct ipg_config_list *ipg_config_list_for(const struct ipg_config *c,
						  const struct ipg_prefix *dst);
/* The policy of list @name ("default" or NULL: the top level), or NULL
 * when there is no such list. */
const struct ipg_policy_spec *ipg_config_policy(const struct ipg_config *c,
						const char *name);
/* The file list @l is written in: @main_path for the main file. */
const char *ipg_config_list_file(const struct ipg_config *c,
				 const struct ipg_config_list *l,
				 const char *main_path);

/* Whether ipgated may write the config back to @path: not when it is a
 * symbolic link or on a read-only mount (managed elsewhere, such as a
 * Kubernetes ConfigMap). Returns 0 or -EROFS saying so. */
int ipg_config_writable(const char *path, struct ipg_error *e);

/* Writes @c to @path atomically: a temporary file, fsync, rename, fsync of
 * the directory, keeping the file's mode, owner and group. On failure the
 * old file is untouched. */
int ipg_config_save(const struct ipg_config *c, const char *path,
		    struct ipg_error *e);

/* Writes each file edited since it was read or saved (c->dirty for the main
 * file at @path: a config parsed from new text sets it to be written),
 * each atomically as ipg_config_save() does, after checking that each may
 * be written (ipg_config_writable()). When one write fails, the files
 * already written get their old text back. Clears the dirty marks. */
int ipg_config_save_all(struct ipg_config *c, const char *path,
			struct ipg_error *e);

/* Edits that keep the rest of the document. Each validates first and
 * changes nothing on error. */
int ipg_config_set_enabled(struct ipg_config *c, bool enabled,
			   struct ipg_error *e);
/* @expires: Unix time the entry stops matching (written "expires TIME"),
 * 0 for never. */
int ipg_config_add(struct ipg_config *c, const struct ipg_prefix *p,
		   const char *label, int64_t expires, struct ipg_error *e);
int ipg_config_remove(struct ipg_config *c, const struct ipg_prefix *p,
		      struct ipg_error *e);
/* The same on list @list ("default" or NULL: the top level, as above),
 * in the file the list is written in, which is marked dirty. Errors name
 * the list; -ENOENT when there is none of that name. */
int ipg_config_list_set_enabled(struct ipg_config *c, const char *list,
				bool enabled, struct ipg_error *e);
int ipg_config_list_add(struct ipg_config *c, const char *list,
			const struct ipg_prefix *p, const char *label,
			int64_t expires, struct ipg_error *e);
int ipg_config_list_remove(struct ipg_config *c, const char *list,
			   const struct ipg_prefix *p, struct ipg_error *e);

/* @src with list @name's block replaced by one whose inside is @body (the
 * lines of a block, without "list NAME {" and "}"), as @dst: "Save" of a
 * whole list. @file names @body in errors, which point at its lines. The
 * file the list is written in is marked dirty. Changes nothing on error. */
int ipg_config_list_replace(struct ipg_config *dst,
			    const struct ipg_config *src, const char *name,
			    const char *body, const char *file,
			    const char *main_path, struct ipg_error *e);

/* @src, to edit list @name ("default" or NULL: the top level) in: a copy
 * that shares with @src every list written in another file than @name's,
 * and copies the rest, so that its cost follows the size of that one file
 * (one file per customer: one list), not of the whole config. Edit only
 * that list (or the top level) in @dst; ipg_config_free() frees either
 * side, a shared list with the last config holding it. */
int ipg_config_cow(struct ipg_config *dst, const struct ipg_config *src,
		   const char *name, struct ipg_error *e);

/* A deep copy of @src, made by rendering and parsing it again (every
 * file, from memory: the disk is not read), so that it is what a reload of
 * the saved files gives; rule ids are kept, in each list; so are the dirty
 * marks. */
int ipg_config_clone(struct ipg_config *dst, const struct ipg_config *src,
		     struct ipg_error *e);

/* What changed from @a to @b: text lines ("+ allow ...", "- allow ...",
 * "~ enabled: false -> true"), and two JSON objects for the audit log
 * holding the changed settings, the removed (before) or added (after)
 * entries, and the entry count. Named lists that changed follow, in text
 * as lines naming the list ("+ list acme ...", "~ acme enabled: ...",
 * "+ acme allow ...") and in JSON under "lists": one object per list
 * holding "list" (its name) and what changed, as above. */
struct ipg_config_diff {
	struct ipg_buf text, before, after;
	int changes, entries_changed;
	/* Named lists added, removed, or whose addresses or resolved policy
	 * changed (also through a top-level setting they inherit). */
	int lists_changed;
	/* The names of the lists that changed, "default" first when the top
	 * level's policy did (its settings, ports or entries); they point
	 * into the two configs. */
	const char **lists;
	int n_lists;
};
int ipg_config_diff(const struct ipg_config *a, const struct ipg_config *b,
		    struct ipg_config_diff *d);
void ipg_config_diff_free(struct ipg_config_diff *d);

/* The protected ports as the config writes them: "tcp/443 udp/443". */
void ipg_config_ports(const struct ipg_ports *k, struct ipg_buf *b);

/* Parses a duration such as 30m, 2h, 24h, 90s, 1d into seconds. */
int ipg_duration_parse(const char *s, uint32_t *seconds);

/* Parses an RFC 3339 time, "2026-12-01T18:00:00Z" or with an offset
 * ("...+01:00"), into Unix seconds; -EINVAL for another form, -ERANGE for
 * a year outside 2000 to 9999. Formats one back, in UTC. */
int ipg_time_parse(const char *s, int64_t *out);
/* What is wrong with a time ipg_time_parse() refused with @r, to follow
 * the time in a message ("is not a time such as ..."). */
const char *ipg_time_error(int r);
#define IPG_TIME_STRLEN 32
void ipg_time_format(int64_t t, char *out, size_t size);

#endif
