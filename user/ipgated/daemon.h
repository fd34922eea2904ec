/* SPDX-License-Identifier: GPL-2.0 */
/* ipgated's shared state: the daemon, its control connections and one
 * request, and what each file of the daemon offers the others. The design
 * is docs/design.md's. */
#ifndef IPGATED_DAEMON_H
#define IPGATED_DAEMON_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <dirent.h>
#include <openssl/rand.h>

#include "audit.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "datapath.h"
#include "ipgate/host.h"
#include "knock.h"
#include "link.h"
#include "notify.h"
#include "packet.h"
#include "print.h"
#include "verdict.h"

#define STATE_DIR_DEFAULT "/var/lib/ipgate"
#define GROUP_DEFAULT "ipgate"
/* Control connections: a request must arrive within CONN_TIMEOUT_S; a
 * reply is sent as the client reads it, and a client that reads nothing for
 * CONN_SEND_IDLE_S is cut off. One uid other than root holds at most
 * CONNS_PER_UID connections, so no one member of the group can take every
 * slot. */
#define CONNS_MAX 128
#define CONNS_PER_UID 8
#define CONN_TIMEOUT_S 5
#define CONN_SEND_IDLE_S 10
/* A request whose reply waits for the store (a fleet change) is answered
 * within STORE_WRITE_WAIT_S; its connection is kept this long at most. */
#define STORE_WRITE_WAIT_S 10
#define CONN_WAIT_S (STORE_WRITE_WAIT_S + 5)
#define RELOAD_DEBOUNCE_MS 100

struct opts {
	const char *config, *socket, *pin_dir, *audit_log, *state_dir, *group;
	uint64_t audit_rotate;
	unsigned audit_keep;
	int foreground, verbose;
};

struct conn {
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	time_t deadline;
	struct ipg_buf in;
	struct ipg_buf out; /* the encoded reply, while it is being sent */
	size_t out_off;
	uint64_t id; /* tells a reused slot from the connection a reply waits for */
	bool waiting; /* its reply comes later (req.later) */
};

/* Grants a read of both grant maps may return (each family has its own). */
#define IPG_GRANTS_READ (2 * IPG_GRANTS_MAX)

/* An emergency override: of every list (list ""), or of one. */
struct ovr {
	int active;
	uint64_t deadline_ns; /* boot time */
	time_t until; /* wall clock, for people */
	char reason[256], user[64];
	char list[IPG_LIST_NAME_MAX + 1];
};

/* HTTP API tokens (tokens.c): stored hashed. */
#define TOKENS_MAX 256
#define TOKEN_ID_MAX 32
enum token_role { TOKEN_VIEWER, TOKEN_ADMIN };
struct token {
	char id[TOKEN_ID_MAX + 1];
	enum token_role role;
	char list[IPG_LIST_NAME_MAX + 1]; /* "": every list */
	time_t created;
	char hash[IPG_HASH_HEX]; /* SHA-256 of the token, hex */
};

struct http;
struct blocked;
struct store;

struct daemon {
	struct opts o;
	struct ipg_config cfg; /* the running config; the file agrees */
	char *cfg_text; /* the file's text as last loaded or saved */
	char file_error[512]; /* why the file on disk is not running */
	struct ipg_datapath *dp;
	struct ipg_audit audit;
	char head_path[PATH_MAX], detached_path[PATH_MAX], lock_path[PATH_MAX];
	int epfd, sigfd, inofd, debounce_fd, tick_fd, lfd, lock_fd;
	gid_t group_gid;
	int have_group, detached, stop;
	struct conn conns[CONNS_MAX];
	uint64_t conn_ids; /* the last connection's id */

	/* Emergency overrides, as last started: the host-wide one and one
	 * per list at most (each persisted in the state dir, so an end while
	 * the daemon is down is still audited). */
	struct ovr ovr;
	struct ovr *lovr;
	int n_lovr;
	char ovr_path[PATH_MAX], keys_dir[PATH_MAX - 512];
	char nonces_path[PATH_MAX]; /* granted knocks' nonces, kept */

	/* Break-glass: the UDP socket, what was refused and why, and the
	 * knock gate's memory (nonces of granted knocks, grants per source).
	 * The grants themselves, with the key that made each, live only in
	 * the kernel's grant maps. */
	int kfd;
	uint16_t kport;
	struct {
		uint64_t granted, malformed, unknown_key, bad_mac, stale,
			replayed, wrong_source, rate_limited;
	} kstat;
	struct ipg_knock_gate kgate;
	/* Scratch for reading the grant maps (not kept between calls). */
	struct ipg_grant grant_buf[IPG_GRANTS_READ];
	struct ipg_prefix prefix_buf[IPG_GRANTS_READ];
	uint32_t grant_lists_buf[IPG_GRANTS_READ];

	/* The blocked-source log (blocked.c). */
	struct blocked *blocked;
	/* Why the config's chain is not in place (a start runs without it). */
	char chain_error[512];
	/* The maps' kernel memory as last read, and when (show.c). */
	uint64_t mem_bytes;
	time_t mem_at;

	/* The included files as last read or written (files.c). */
	struct stamp *stamps;
	int n_stamps;
	bool stamps_valid;

	/* The service manager (service.c): where to tell it, the STATUS= last
	 * sent, the watchdog's timer (-1: the tick pings) and its last ping
	 * (CLOCK_MONOTONIC, us). */
	struct ipg_notify notify;
	char notify_status[256];
	int wd_fd;
	uint64_t wd_last;

	/* The HTTP API (http.c): NULL when http-listen is off. */
	struct http *http;
	/* The fleet's store (store.c): NULL without one. */
	struct store *store;
	struct token tokens[TOKENS_MAX];
	int n_tokens;
	/* The change awaiting confirmation (pending.c), or NULL. */
	struct json_t *pending;
	int64_t expire_warned; /* when a failed expiry removal last warned */
	/* Changes refused and made, for /metrics. */
	uint64_t changes_ok, changes_refused;
};

/* Everything one request needs to say who asked and how to answer. */
struct req {
	struct daemon *d;
	const struct ipg_ctl_msg *m;
	struct ipg_ctl_msg *rep;
	struct ipg_actor who;
	char user[64], client[64];
	int json, force;
	struct ipg_buf out; /* what the CLI prints */
	/* A reply that comes later: a change the fleet's store must order
	 * first. The transport sets @later; the handler then returns
	 * -EINPROGRESS and later(d, later_arg, later_id, err, rep) is called
	 * once, with the reply. NULL: the transport cannot wait. */
	void (*later)(struct daemon *d, void *arg, uint64_t id, int err,
		      const struct ipg_ctl_msg *rep);
	void *later_arg;
	uint64_t later_id;
};

/* loop.c */
/* Runs command @cmd for @q (who asked is filled in): the reply's code,
 * message and output into q->rep. Returns the handler's result. */
int serve_req(struct req *q, const char *cmd);
int reply_err(struct req *q, int err, const char *msg);
int reply_errf(struct req *q, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int setup_loop(struct daemon *d);
/* Watches the directories of the config's include patterns. */
void watch_includes(struct daemon *d);
void run(struct daemon *d);

/* show.c */
const char *xdp_mode_name(enum ipg_xdp_mode m);
void format_duration(uint64_t s, char *out, size_t size);
void format_utc(time_t t, char *out, size_t size);
uint64_t override_left(struct daemon *d);
/* The same for list @id's own override. */
uint64_t list_override_left(struct daemon *d, uint32_t id);
int do_status(struct req *q);
int do_list(struct req *q);
int do_test(struct req *q);
int print_end(struct req *q, struct ipg_print *p);

/* change.c */
int attach_new(struct daemon *d, const struct ipg_config *prev,
	       const struct ipg_config *next, struct ipg_error *e);
void ephemeral_note(const struct ipg_config *c, struct ipg_buf *out);
int do_add(struct req *q);
int do_remove(struct req *q);
int do_enable(struct req *q);
int do_disable(struct req *q);
int do_apply(struct req *q);
int do_save(struct req *q);
/* Makes @prev the running config as a "rollback" (the request's "reason"
 * in its audit record); takes @prev over. */
int commit_rollback(struct req *q, struct ipg_config *prev);
/* Makes @next (the store's lists of the request's "revision") the running
 * config, audited as "store"; takes @next over. */
int commit_store(struct req *q, struct ipg_config *next);
void actor_self(struct ipg_actor *who, const char *user);
void reload(struct daemon *d, const char *why);

/* lists.c */
/* Makes the kernel run @next's lists, flipping only those that differ
 * from @prev (NULL: every list), dropping lists @next lacks; the rule ids
 * of @next's entries become the kernel's. */
int apply_config(struct daemon *d, const struct ipg_config *prev,
		 struct ipg_config *next, bool undo, struct ipg_error *e);
/* Closes the named lists @prev has and @next lacks (NULL: every list in
 * the kernel that @next lacks), ending their grants: after a change is
 * audited. */
int close_gone(struct daemon *d, const struct ipg_config *prev,
	       const struct ipg_config *next, struct ipg_error *e);
/* The map sizes config @c needs (ipg_datapath_size()). */
void config_sizes(const struct ipg_config *c, struct ipg_datapath_opts *o);
/* What the kernel runs, as a config (for the start's audit); settings the
 * kernel does not hold come from the file. */
int kernel_config(struct daemon *d, struct ipg_config *k);
int req_list(struct req *q, const char **name, uint32_t *id);
int do_lists(struct req *q);

/* files.c */
/* Records the included files as they are now (after a load or a save). */
void files_stamp(struct daemon *d);
/* The same for the included files @paths a change has just written. */
void files_restamp(struct daemon *d, char *const *paths, int n);
void files_free(struct daemon *d);
/* Whether the included files, and the set the patterns match, are still
 * as last recorded: then a file event needs no parse. */
bool files_unchanged(struct daemon *d);

/* log.c */
int do_log(struct req *q);

/* iface.c */
int do_detach(struct req *q);
int do_attach(struct req *q);

/* override.c */
void ovr_load(struct daemon *d);
/* List @name's own override record, or NULL when none runs. */
const struct ovr *ovr_of(const struct daemon *d, const char *name);
int do_override(struct req *q);
void ovr_check(struct daemon *d);

/* breakglass.c */
/* The break-glass keys and live grants, as fields of the open object. */
void bg_render(struct daemon *d, struct ipg_print *p);
/* The counter of knocks that got verdict @v. */
uint64_t *kstat_of(struct daemon *d, enum ipg_knock_verdict v);
int do_breakglass(struct req *q);
/* What a grant gave: its end (UTC, for people) and the list it opens
 * ("": every list). */
struct bg_granted {
	char until[40];
	char list[IPG_LIST_NAME_MAX + 1];
};
/* Lets @addr through for @secs as key @key_id allows (its scope file:
 * one list, or every list), audited as a breakglass-grant by
 * "breakglass:ID" from @addr, @via ("knock", "url") saying how the key
 * came. 0, or a negative errno with why in @e (-ENOENT: the key's scope
 * names no list; counted as an unknown key). */
int bg_grant(struct daemon *d, const char *key_id,
	     const struct ipg_prefix *addr, uint32_t secs, const char *via,
	     struct bg_granted *out, struct ipg_error *e);
/* Judges a key pasted into the break-glass page by @from (the same keys,
 * revocation and per-source grant limit as a knock); a refusal is counted
 * in d->kstat by its verdict. @id: the key's id when the text parses. */
enum ipg_knock_verdict bg_judge_key(struct daemon *d, const char *text,
				    const struct ipg_prefix *from,
				    char id[IPG_KNOCK_ID_MAX + 1]);
/* Reads the granted nonces a previous run kept (start). */
void knock_memory_load(struct daemon *d);
void on_knock(struct daemon *d);
int knock_listen(struct daemon *d);
void grants_check(struct daemon *d);
/* Ends (and audits) every grant scoped to list @id. */
void grants_end_list(struct daemon *d, uint32_t id, const char *how);
/* The live grants into @out (room for IPG_GRANTS_READ), and the list
 * each opens into @lists (may be NULL). */
size_t live_grants(struct daemon *d, struct ipg_prefix *out, uint32_t *lists);

/* main.c */
int start(struct daemon *d);

/* blocked.c: the blocked-source log. */
int blocked_open(struct daemon *d);
int blocked_fd(struct daemon *d);
void blocked_read(struct daemon *d);
void blocked_close(struct daemon *d);
/* Reports read since start, and the sources kept. */
uint64_t blocked_reports(struct daemon *d, uint64_t *sources);
int do_blocked(struct req *q);

/* pending.c: changes made with --confirm. */
/* The request's "confirm" duration into @secs (0: none); the refusal. */
int pending_parse(struct req *q, uint32_t *secs);
/* Refuses (-EBUSY) while a change awaits confirmation. */
int pending_refuse(struct req *q);
/* Keeps the running config's files, to roll back to after @secs. */
int pending_begin(struct daemon *d, const struct ipg_actor *who,
		  const char *action, const char *const *lists, int n_lists,
		  uint32_t secs, struct ipg_error *e);
void pending_abort(struct daemon *d);
/* Stop: lets go of the record in memory (the file stays). */
void pending_forget(struct daemon *d);
/* Start: a record of a previous run; rolls back when its time is up. */
void pending_load(struct daemon *d);
/* The tick: rolls back when the time is up. */
void pending_check(struct daemon *d);
/* Removes entries whose expiry has passed, one audited change per list
 * (change.c). */
void expire_check(struct daemon *d);
/* Seconds left (0: none), and "ACTION by USER" (NULL: none). */
uint64_t pending_left(struct daemon *d);
const char *pending_what(struct daemon *d, char *out, size_t size);
bool pending_touches(struct daemon *d, const char *list);
int do_confirm(struct req *q);

/* tokens.c */
void tokens_load(struct daemon *d);
bool token_id_ok(const char *s);
const char *token_role_name(enum token_role r);
/* The token @bearer is, or NULL (compared in constant time). */
const struct token *token_check(struct daemon *d, const char *bearer);
int do_token(struct req *q);

/* store.c: the fleet's store. */
bool store_mode(const struct daemon *d);
/* The revision of list @name's key in the store (0: not a store list). */
int64_t store_list_revision(const struct daemon *d, const char *name);
/* Start: the store's lists as a previous run kept them (none: the file's
 * settings alone) with @local_text, the host's file, into d->cfg. */
int store_load(struct daemon *d, const char *local_text, struct ipg_error *e);
/* The host's file @local_text with the store's lists that run, into @out
 * (a reload). */
int store_config(struct daemon *d, const char *local_text,
		 struct ipg_config *out, struct ipg_error *e);
/* After the socket: connect, read every list, watch. */
int store_open(struct daemon *d);
/* Whether epoll data @fd is the store client's; then runs it. */
bool store_owns(struct daemon *d, int fd);
int store_timeout(struct daemon *d);
void store_tick(struct daemon *d);
void store_close(struct daemon *d);
void store_render(struct daemon *d, struct ipg_print *p);
/* ipgate log [--verify] --list NAME for a list of the store: its trail
 * there (answered later); false when @list is not the store's. */
bool store_log(struct req *q, const char *list, int *r);
/* ipgate fleet: every host's record in the store (answered later). */
int do_fleet(struct req *q);
/* Whether a change to list @list is on its way to the store. */
bool store_writing(const struct daemon *d, const char *list);
/* Whether candidate @next changes lists of the store. */
bool store_writes(const struct daemon *d, const struct ipg_config *next);
/* Sends the store's lists @next changed (@diff: the audit's before and
 * after) as one transaction; -EINPROGRESS (q->later answers), 0 (nobody
 * waits), or an error with the reply set. */
int store_write(struct req *q, const struct ipg_config *next,
		const struct ipg_config_diff *diff);

/* http.c: the HTTP API on the event loop. */
/* Starts, restarts or stops the listener to match the running config;
 * 0, or an error in @e (the old listener stays). */
int http_apply(struct daemon *d, struct ipg_error *e);
void http_stop(struct daemon *d);
/* Whether epoll data @fd is the HTTP server's; then serve it. */
bool http_owns(struct daemon *d, int fd);
void http_run(struct daemon *d);
/* The tick: cuts off connections whose headers are overdue. */
void http_tick(struct daemon *d);
/* SIGHUP: reads the TLS certificate and key again (when TLS is on). */
void http_reload_tls(struct daemon *d);
/* How long the loop may sleep for the HTTP server's sake (ms; -1: any). */
int http_timeout(struct daemon *d);
/* Requests answered, by status code, for /metrics. */
void http_codes(struct daemon *d,
		void (*fn)(void *ctx, unsigned code, uint64_t n), void *ctx);

/* service.c: each sends nothing without $NOTIFY_SOCKET. */
/* Reads the environment, once (main, after going to the background). */
void notify_open(struct daemon *d);
/* READY=1 and STATUS= (MAINPID= when @forked): enforcing and serving. */
void notify_ready(struct daemon *d, int forked);
void notify_failed(struct daemon *d, int err);
/* RELOADING=1 before a reload reads the file; READY=1 after it. */
void notify_reloading(struct daemon *d);
void notify_reloaded(struct daemon *d);
/* STATUS= when the summary changed (after each request). */
void notify_status(struct daemon *d);
void notify_stopping(struct daemon *d);
/* Records go to the journal, with fields, when stderr is its stream. */
void journal_open(struct daemon *d);
/* A log record of an audited event: the journal also gets IPGATE_ACTION,
 * IPGATE_LIST (the @n @lists, comma-separated), IPGATE_GENERATION (the
 * first list's live one) and IPGATE_AUDIT_SEQ (the last record's). */
void log_event(struct daemon *d, enum ipg_log_level level, const char *action,
	       const char *const *lists, int n, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* The watchdog's own timer when its interval is under 2 s (setup_loop);
 * otherwise the tick pings (notify_tick). */
int notify_watchdog_setup(struct daemon *d);
void notify_tick(struct daemon *d);
void notify_timer(struct daemon *d);

#endif
