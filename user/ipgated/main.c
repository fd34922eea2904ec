// SPDX-License-Identifier: GPL-2.0
/* ipgated: owns the policy. One event loop over a signalfd, an inotify
 * watch on the config directory, timers and the control socket. */
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
#include "packet.h"
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
};

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

	/* The emergency override, as last started (persisted in the state
	 * dir, so an end while the daemon is down is still audited). */
	struct {
		int active;
		uint64_t deadline_ns; /* boot time */
		time_t until; /* wall clock, for people */
		char reason[256], user[64];
	} ovr;
	char ovr_path[PATH_MAX], keys_dir[PATH_MAX - 512];

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
};

static int knock_listen(struct daemon *d);
static size_t live_grants(struct daemon *d, struct ipg_prefix *out);
static void bg_render(struct daemon *d, struct ipg_buf *b, int json);

/* ---- helpers ---- */

static int reply_err(struct req *q, int err, const char *msg)
{
	ipg_ctl_set(q->rep, "code", ipg_ctl_code_name(err));
	ipg_ctl_set(q->rep, "message", msg);
	return err;
}

static int reply_errf(struct req *q, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int reply_errf(struct req *q, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_err(q, err, msg);
}

static const char *xdp_mode_name(enum ipg_xdp_mode m)
{
	return m == IPG_XDP_NATIVE  ? "native" :
	       m == IPG_XDP_GENERIC ? "generic" :
				      "auto";
}

static void format_duration(uint64_t s, char *out, size_t size)
{
	if (s >= 3600)
		snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			 s % 60);
	else
		snprintf(out, size, "%" PRIu64 "s", s);
}

static void format_utc(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Seconds of emergency override left, 0 when none runs. */
static uint64_t override_left(struct daemon *d)
{
	uint64_t deadline = 0, now = ipg_boot_ns();

	if (ipg_datapath_get_override(d->dp, &deadline) || deadline <= now)
		return 0;
	return (deadline - now + 999999999ull) / 1000000000ull;
}

static const struct ipg_entry *entry_by_rule(const struct ipg_config *c,
					     uint32_t id)
{
	for (uint32_t i = 0; i < c->policy.n_entries; i++)
		if (c->policy.entries[i].rule_id == id)
			return &c->policy.entries[i];
	return NULL;
}

/* ---- interfaces ---- */

static int has_iface(const struct ipg_config *c, const char *name)
{
	for (int i = 0; i < c->n_interfaces; i++)
		if (!strcmp(c->interfaces[i], name))
			return 1;
	return 0;
}

/* Attaches to every interface of @next that @prev lacks (all of them when
 * @prev is NULL). On failure detaches what it attached. */
static int attach_new(struct daemon *d, const struct ipg_config *prev,
		      const struct ipg_config *next, struct ipg_error *e)
{
	int done[IPG_IFACES_MAX] = { 0 }, r = 0, i;

	if (d->detached)
		return 0;
	for (i = 0; i < next->n_interfaces && !r; i++) {
		enum ipg_xdp_mode m;

		if (prev && has_iface(prev, next->interfaces[i]))
			continue;
		r = ipg_datapath_attach(d->dp, next->interfaces[i],
					IPG_XDP_AUTO, &m, e);
		if (!r) {
			done[i] = 1;
			pr_info("attached to %s (%s)", next->interfaces[i],
				xdp_mode_name(m));
		}
	}
	if (r)
		for (i = 0; i < next->n_interfaces; i++)
			if (done[i])
				ipg_datapath_detach(next->interfaces[i], NULL);
	return r;
}

/* Detaches from every interface of @prev that @next lacks. */
static void detach_gone(const struct ipg_config *prev,
			const struct ipg_config *next)
{
	struct ipg_error e;

	for (int i = 0; i < prev->n_interfaces; i++) {
		if (has_iface(next, prev->interfaces[i]))
			continue;
		if (ipg_datapath_detach(prev->interfaces[i], &e))
			pr_warn("%s", e.msg);
		else
			pr_info("detached from %s", prev->interfaces[i]);
	}
}

/* ---- changes ---- */

/* A warning when protected ports lie in this host's ephemeral port range:
 * a reply to one of the host's own outgoing connections (a webhook, a
 * resolver) may arrive on such a port from a source not on the list, and
 * would be dropped. Empty when there are none, or the range is unknown. */
static void ephemeral_note(const struct ipg_config *c, struct ipg_buf *out)
{
	struct ipg_buf text = { 0 }, ports = { 0 };
	unsigned lo, hi;
	int n;

	if (ipg_read_file("/proc/sys/net/ipv4/ip_local_port_range", 64,
			  &text) ||
	    sscanf(text.s, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535) {
		ipg_buf_free(&text);
		return;
	}
	ipg_buf_free(&text);
	n = ipg_policy_ephemeral_overlap(&c->policy.kern, (uint16_t)lo,
					 (uint16_t)hi, &ports);
	if (n)
		ipg_buf_printf(out,
			       "protected port%s %s lie%s in this host's "
			       "ephemeral range %u-%u "
			       "(net.ipv4.ip_local_port_range): replies to "
			       "the host's own outgoing connections may use "
			       "%s and would be dropped; protect ports "
			       "outside that range, or move the range",
			       n > 1 ? "s" : "", ports.s, n > 1 ? "" : "s", lo,
			       hi, n > 1 ? "them" : "it");
	ipg_buf_free(&ports);
}

/* Whether @addr may reach protected ports under @c (ignoring overrides). */
static int addr_allowed(const struct ipg_config *c,
			const struct ipg_prefix *addr)
{
	return !c->policy.kern.enabled ||
	       ipg_policy_match(&c->policy, addr) >= 0;
}

/* The guards of DESIGN.md's change order: an enabled empty list and the
 * requester's own address. Returns 0 or a refusal. */
static int guard(struct req *q, const struct ipg_config *cur,
		 const struct ipg_config *next)
{
	const struct ipg_policy_spec *p = &next->policy;
	const char *src = ipg_ctl_get(q->m, "client-source");
	struct ipg_prefix addr;
	struct ipg_error e;

	if (q->force)
		return 0;
	if (p->kern.enabled && !p->n_entries &&
	    !(cur->policy.kern.enabled && !cur->policy.n_entries)) {
		struct ipg_buf ports = { 0 };

		ipg_config_ports(&p->kern, &ports);
		reply_errf(q, -EPERM,
			   "refused: an enabled, empty allowlist "
			   "blocks every source on %s; add entries first, or "
			   "repeat with --force",
			   ports.s ? ports.s : "");
		ipg_buf_free(&ports);
		return -EPERM;
	}
	if (!*q->client)
		return 0;
	if (ipg_addr_parse(q->client, &addr, &e))
		return reply_errf(q, -EINVAL, "client address: %s", e.msg);
	if (addr_allowed(cur, &addr) && !addr_allowed(next, &addr))
		return reply_errf(
			q, -EPERM,
			"refused: this change would block "
			"your own address %s (from %s); add an entry "
			"that covers it first, or repeat with --force",
			q->client, src ? src : "--client");
	return 0;
}

static int save_config(struct daemon *d, const struct ipg_config *c,
		       struct ipg_error *e)
{
	char *text = ipg_config_render(c);
	int r;

	if (!text)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = ipg_config_save(c, d->o.config, e);
	if (!r) {
		free(d->cfg_text);
		d->cfg_text = text;
		d->file_error[0] = '\0';
	} else {
		free(text);
	}
	return r;
}

/* Puts back the running config after a failed change to @next, so that
 * kernel, file and log agree again. */
static void rollback(struct daemon *d, const struct ipg_config *next,
		     int persist)
{
	struct ipg_error e;

	if (ipg_datapath_apply(d->dp, &d->cfg.policy, &e))
		pr_warn("rollback: %s", e.msg);
	if (!d->detached)
		detach_gone(next, &d->cfg);
	if (persist && save_config(d, &d->cfg, &e))
		pr_warn("rollback: %s", e.msg);
}

/* Makes @next the running config: DESIGN.md's change order after the
 * candidate is built. @persist says whether the file must be written (not
 * for a reload, which read it). Takes @next over on success. */
static int commit(struct req *q, struct ipg_config *next, const char *action,
		  int persist)
{
	struct daemon *d = q->d;
	struct ipg_config_diff diff;
	struct ipg_error e = { { 0 } };
	int r;

	/* Kept prefixes keep their rule ids, and so their hit counts. */
	ipg_policy_keep_ids(&next->policy, d->cfg.policy.entries,
			    d->cfg.policy.n_entries);
	r = ipg_config_diff(&d->cfg, next, &diff);
	if (r) {
		ipg_config_free(next);
		return reply_err(q, r, "out of memory");
	}
	if (!diff.changes) {
		ipg_config_diff_free(&diff);
		ipg_buf_printf(&q->out, "nothing to change\n");
		ipg_config_free(next);
		return 0;
	}
	r = guard(q, &d->cfg, next);
	if (r)
		goto out;
	if (ipg_ctl_flag(q->m, "dry-run")) {
		ipg_buf_printf(&q->out,
			       "%svalid: %u of %u entries; nothing "
			       "applied (dry run)\n",
			       diff.text.s, next->policy.n_entries,
			       next->policy.max_entries);
		ipg_config_free(next);
		goto out;
	}
	if (persist) {
		r = ipg_config_writable(d->o.config, &e);
		if (!r)
			r = ipg_fault("save", &e);
		if (!r)
			r = save_config(d, next, &e);
		if (r) {
			reply_err(q, r, e.msg);
			goto out;
		}
	}
	r = ipg_fault("attach", &e);
	if (!r)
		r = attach_new(d, &d->cfg, next, &e);
	if (!r)
		r = ipg_fault("apply", &e);
	if (!r)
		r = ipg_datapath_apply(d->dp, &next->policy, &e);
	if (r) {
		reply_err(q, r, e.msg);
		rollback(d, next, persist);
		goto out;
	}
	r = ipg_fault("audit", &e);
	if (!r)
		r = ipg_audit_append(&d->audit, &q->who, action, diff.before.s,
				     diff.after.s, &e);
	if (r) {
		reply_errf(q, r, "%s; the change was undone", e.msg);
		rollback(d, next, persist);
		goto out;
	}
	detach_gone(&d->cfg, next);
	pr_info("%s by %s (uid %u): %d change(s), %u entries", action,
		q->who.user, (unsigned)q->who.uid, diff.changes,
		next->policy.n_entries);
	ipg_buf_printf(&q->out, "%s", diff.text.s);
	for (int i = 0; i < next->n_warnings; i++)
		ipg_buf_printf(&q->out, "note: %s\n", next->warnings[i]);
	{
		struct ipg_buf note = { 0 };

		ephemeral_note(next, &note);
		if (note.s) {
			ipg_buf_printf(&q->out, "note: %s\n", note.s);
			pr_warn("%s", note.s);
		}
		ipg_buf_free(&note);
	}
	ipg_config_free(&d->cfg);
	d->cfg = *next;
	memset(next, 0, sizeof(*next));
	if (d->epfd >= 0)
		knock_listen(d);
out:
	ipg_config_diff_free(&diff);
	if (r)
		ipg_config_free(next);
	return r;
}

/* A candidate: a copy of the running config to edit. */
static int candidate(struct req *q, struct ipg_config *c)
{
	struct ipg_error e;
	int r = ipg_config_clone(c, &q->d->cfg, &e);

	return r ? reply_err(q, r, e.msg) : 0;
}

static int parse_cidr_arg(struct req *q, struct ipg_prefix *p)
{
	const char *s = ipg_ctl_get(q->m, "cidr");
	struct ipg_error e;

	if (!s)
		return reply_err(q, -EINVAL, "missing the address or CIDR");
	if (ipg_prefix_parse(s, p, &e))
		return reply_err(q, -EINVAL, e.msg);
	return 0;
}

/* add and remove: one entry changes. */
static int edit_entry(struct req *q, int add)
{
	static struct ipg_config next;
	struct ipg_prefix p;
	struct ipg_error e;
	int r;

	r = parse_cidr_arg(q, &p);
	if (!r)
		r = candidate(q, &next);
	if (r)
		return r;
	r = add ? ipg_config_add(&next, &p, ipg_ctl_get(q->m, "label"), &e) :
		  ipg_config_remove(&next, &p, &e);
	if (r) {
		ipg_config_free(&next);
		return reply_err(q, r, e.msg);
	}
	return commit(q, &next, add ? "add" : "remove", 1);
}

static int do_add(struct req *q)
{
	return edit_entry(q, 1);
}

static int do_remove(struct req *q)
{
	return edit_entry(q, 0);
}

static int set_enabled(struct req *q, int on)
{
	static struct ipg_config next;
	struct ipg_error e;
	int r;

	if (!!q->d->cfg.policy.kern.enabled == on) {
		ipg_buf_printf(&q->out, "already %s\n",
			       on ? "enabled" : "disabled");
		return 0;
	}
	r = candidate(q, &next);
	if (r)
		return r;
	r = ipg_config_set_enabled(&next, on, &e);
	if (r) {
		ipg_config_free(&next);
		return reply_err(q, r, e.msg);
	}
	return commit(q, &next, on ? "enable" : "disable", 1);
}

static int do_enable(struct req *q)
{
	return set_enabled(q, 1);
}

static int do_disable(struct req *q)
{
	return set_enabled(q, 0);
}

static int do_apply(struct req *q)
{
	static struct ipg_config next;
	const char *text = ipg_ctl_get(q->m, "text");
	const char *name = ipg_ctl_get(q->m, "name");
	struct ipg_error e;
	int r;

	size_t len;

	if (!text)
		return reply_err(q, -EINVAL, "missing the config text");
	ipg_ctl_getn(q->m, "text", &len);
	if (strlen(text) != len)
		return reply_errf(q, -EINVAL,
				  "%s: contains a NUL byte; not a "
				  "config file; nothing applied",
				  name ? name : "apply");
	r = ipg_config_parse(&next, text, name ? name : "apply", &e);
	if (r)
		return reply_errf(q, r, "%s; nothing applied", e.msg);
	return commit(q, &next, "apply", 1);
}

/* ---- reading ---- */

static void json_counters(struct ipg_buf *b, const uint64_t st[IPG_STAT_MAX])
{
	ipg_buf_printf(b, "{");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		ipg_buf_printf(b, "%s\"%s\":%" PRIu64, s ? "," : "",
			       ipg_stat_name((enum ipg_stat)s), st[s]);
	ipg_buf_printf(b, "}");
}

/* For status: @ifname's link type and the frames ipgate's program there
 * judges, as JSON keys (after "xdp") or as the rest of its text line. */
static void iface_link(struct ipg_buf *b, const char *ifname, int json)
{
	struct ipg_attachment a;
	int r = ipg_datapath_attachment(ifname, &a);
	const char *link = r ? "unknown" : ipg_link_type_name(a.link_type);

	if (json) {
		ipg_buf_printf(b, ",\"link\":\"%s\",\"program\":", link);
		if (!r && a.attached)
			ipg_buf_printf(b, "\"%s\"", ipg_frame_name(a.frame));
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b, ",\"protected\":%s",
			       !r && a.protecting ? "true" : "false");
	} else if (!r && a.attached && !a.protecting) {
		ipg_buf_printf(b,
			       " (link %s; ipgate's program for %s frames "
			       "cannot judge its packets: restart ipgated)",
			       link, ipg_frame_name(a.frame));
	} else if (!r && a.attached) {
		ipg_buf_printf(b, ", link %s, %s frames", link,
			       ipg_frame_name(a.frame));
	} else if (!r) {
		ipg_buf_printf(b, " (link %s)", link);
	}
}

static int do_status(struct req *q)
{
	struct daemon *d = q->d;
	const struct ipg_config *c = &d->cfg;
	struct ipg_buf ports = { 0 }, *b = &q->out;
	uint64_t st[IPG_STAT_MAX] = { 0 }, left = override_left(d),
		 deadline = 0;
	struct ipg_policy live;
	char when[64] = "", dur[32];

	ipg_datapath_stats(d->dp, st);
	ipg_datapath_get_override(d->dp, &deadline);
	if (ipg_datapath_active(d->dp, &live))
		memset(&live, 0, sizeof(live));
	ipg_config_ports(&c->policy.kern, &ports);
	if (left)
		format_utc(time(NULL) + (time_t)left, when, sizeof(when));
	if (q->json) {
		ipg_buf_printf(b,
			       "{\"enabled\":%s,\"mode\":\"%s\",\"entries\":%u,"
			       "\"max_entries\":%u,\"protect\":\"%s\","
			       "\"attached\":%s,\"interfaces\":[",
			       c->policy.kern.enabled ? "true" : "false",
			       ipg_mode_name(c->policy.kern.mode),
			       c->policy.n_entries, c->policy.max_entries,
			       ports.s, d->detached ? "false" : "true");
		for (int i = 0; i < c->n_interfaces; i++) {
			enum ipg_xdp_mode m;
			int r = ipg_datapath_attached(c->interfaces[i], &m);

			ipg_buf_printf(b, "%s{\"name\":", i ? "," : "");
			ipg_buf_json_str(b, c->interfaces[i]);
			ipg_buf_printf(b, ",\"xdp\":\"%s\"",
				       r ? "none" : xdp_mode_name(m));
			iface_link(b, c->interfaces[i], 1);
			ipg_buf_printf(b, "}");
		}
		ipg_buf_printf(b, "],\"override\":{\"active\":%s,\"until\":",
			       left ? "true" : "false");
		if (left)
			ipg_buf_printf(b, "\"%s\"", when);
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b,
			       ",\"seconds_left\":%" PRIu64 "},"
			       "\"generation\":%u,\"config_error\":",
			       left, live.generation);
		if (*d->file_error)
			ipg_buf_json_str(b, d->file_error);
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b, ",\"breakglass\":{\"port\":%u,", d->kport);
		bg_render(d, b, 1);
		ipg_buf_printf(
			b,
			",\"granted\":%" PRIu64 ",\"refused\":{"
			"\"malformed\":%" PRIu64 ",\"unknown_key\":%" PRIu64
			",\"bad_mac\":%" PRIu64 ",\"stale\":%" PRIu64
			",\"replayed\":%" PRIu64 ",\"wrong_source\":%" PRIu64
			",\"rate_limited\":%" PRIu64 "}}",
			d->kstat.granted, d->kstat.malformed,
			d->kstat.unknown_key, d->kstat.bad_mac, d->kstat.stale,
			d->kstat.replayed, d->kstat.wrong_source,
			d->kstat.rate_limited);
		ipg_buf_printf(b, ",\"counters\":");
		json_counters(b, st);
		ipg_buf_printf(b, "}\n");
		ipg_buf_free(&ports);
		return 0;
	}
	ipg_buf_printf(b, "%-14s %s (%s mode)\n", "allowlist",
		       c->policy.kern.enabled ? "enabled" : "DISABLED",
		       ipg_mode_name(c->policy.kern.mode));
	ipg_buf_printf(b, "%-14s %u of %u\n", "entries", c->policy.n_entries,
		       c->policy.max_entries);
	ipg_buf_printf(b, "%-14s %s\n", "protected", ports.s);
	for (int i = 0; i < c->n_interfaces; i++) {
		enum ipg_xdp_mode m;
		int r = ipg_datapath_attached(c->interfaces[i], &m);

		ipg_buf_printf(b, "%-14s %s, %s", i ? "" : "interfaces",
			       c->interfaces[i],
			       r == -EMEDIUMTYPE ? "NOT PROTECTED" :
			       r		 ? "NOT ATTACHED" :
						   xdp_mode_name(m));
		iface_link(b, c->interfaces[i], 0);
		ipg_buf_printf(b, "\n");
	}
	if (!c->n_interfaces)
		ipg_buf_printf(b, "%-14s none\n", "interfaces");
	if (d->detached)
		ipg_buf_printf(b,
			       "%-14s detached by 'ipgate detach'; "
			       "'ipgate attach' puts it back\n",
			       "");
	if (left) {
		format_duration(left, dur, sizeof(dur));
		ipg_buf_printf(b, "%-14s ACTIVE until %s (%s left)\n",
			       "override", when, dur);
	} else {
		ipg_buf_printf(b, "%-14s none\n", "override");
	}
	if (d->ovr.active && left)
		ipg_buf_printf(b, "%-14s by %s: %s\n", "", d->ovr.user,
			       d->ovr.reason);
	{
		static struct ipg_prefix g[IPG_GRANTS_MAX];
		size_t ng = live_grants(d, g);
		uint64_t refused = d->kstat.malformed + d->kstat.unknown_key +
				   d->kstat.bad_mac + d->kstat.stale +
				   d->kstat.replayed + d->kstat.wrong_source +
				   d->kstat.rate_limited;

		if (d->kport)
			ipg_buf_printf(
				b,
				"%-14s udp/%u; %zu grant%s live; %" PRIu64
				" granted, %" PRIu64 " refused "
				"since start\n",
				"break-glass", d->kport, ng, ng == 1 ? "" : "s",
				d->kstat.granted, refused);
		else
			ipg_buf_printf(b, "%-14s off\n", "break-glass");
		for (size_t i = 0; i < ng; i++) {
			char a[IPG_PREFIX_STRLEN];

			ipg_prefix_format(&g[i], a, sizeof(a));
			ipg_buf_printf(b, "%-14s grant: %s\n", "", a);
		}
	}
	ipg_buf_printf(b, "%-14s generation %u\n", "policy", live.generation);
	if (*d->file_error)
		ipg_buf_printf(b, "%-14s %s (running the last good config)\n",
			       "config file", d->file_error);
	ipg_buf_printf(b, "counters\n");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		ipg_buf_printf(b, "  %-20s %12" PRIu64 "\n",
			       ipg_stat_name((enum ipg_stat)s), st[s]);
	ipg_buf_free(&ports);
	return 0;
}

static int do_list(struct req *q)
{
	const struct ipg_policy_spec *p = &q->d->cfg.policy;
	struct ipg_buf *b = &q->out;

	if (q->json)
		ipg_buf_printf(b,
			       "{\"count\":%u,\"max_entries\":%u,\"entries\":[",
			       p->n_entries, p->max_entries);
	else if (p->n_entries)
		ipg_buf_printf(b, "%-43s %12s  %s\n", "ENTRY", "HITS", "LABEL");
	for (uint32_t i = 0; i < p->n_entries; i++) {
		const struct ipg_entry *ent = &p->entries[i];
		char cidr[IPG_PREFIX_STRLEN];
		uint64_t hits = 0;

		ipg_datapath_rule_hits(q->d->dp, ent->rule_id, &hits);
		ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
		if (q->json) {
			ipg_buf_printf(b, "%s{\"cidr\":\"%s\",\"label\":",
				       i ? "," : "", cidr);
			ipg_buf_json_str(b, ent->label);
			ipg_buf_printf(b,
				       ",\"rule_id\":%u,\"hits\":%" PRIu64 "}",
				       ent->rule_id, hits);
		} else {
			/* Labels are checked on the way in; escape anyway,
			 * since this goes to a terminal. */
			ipg_buf_printf(b, "%-43s %12" PRIu64 "  ", cidr, hits);
			ipg_buf_text_safe(b, ent->label);
			ipg_buf_printf(b, "\n");
		}
	}
	if (q->json) {
		ipg_buf_printf(b, "],\"breakglass\":{");
		bg_render(q->d, b, 1);
		ipg_buf_printf(b, "}}\n");
	} else {
		ipg_buf_printf(b, "%u of %u entries\n", p->n_entries,
			       p->max_entries);
		bg_render(q->d, b, 0);
	}
	return 0;
}

/* The port `test` probes when none is given: the first protected one. */
static void default_port(const struct ipg_policy *k, int *proto, uint16_t *port)
{
	for (int pr = 0; pr < 2; pr++)
		for (uint32_t p = 1; p <= 65535; p++)
			if (ipg_policy_port_protected(
				    k, pr ? IPPROTO_UDP : IPPROTO_TCP,
				    (uint16_t)p)) {
				*proto = pr ? IPPROTO_UDP : IPPROTO_TCP;
				*port = (uint16_t)p;
				return;
			}
	*proto = IPPROTO_TCP;
	*port = 443;
}

static int do_test(struct req *q)
{
	struct daemon *d = q->d;
	const char *ip = ipg_ctl_get(q->m, "ip"),
		   *ps = ipg_ctl_get(q->m, "port");
	struct ipg_pkt_spec spec = { 0 };
	const struct ipg_entry *ent = NULL;
	struct ipg_verdict model;
	uint8_t pkt[256];
	char why[256], cidr[IPG_PREFIX_STRLEN] = "", pname[16];
	struct ipg_prefix addr;
	struct ipg_error e;
	uint32_t rule = 0;
	uint16_t port;
	int proto, action, r, allowed, found;
	size_t len;

	if (!ip)
		return reply_err(q, -EINVAL, "missing the address to test");
	if (ipg_addr_parse(ip, &addr, &e))
		return reply_err(q, -EINVAL, e.msg);
	if (ps) {
		if (ipg_port_parse(ps, &proto, &port))
			return reply_errf(q, -EINVAL,
					  "\"%s\" is not a port; "
					  "expected tcp/PORT or udp/PORT, e.g. "
					  "tcp/443",
					  ps);
	} else {
		default_port(&d->cfg.policy.kern, &proto, &port);
	}
	spec.family = addr.family;
	memcpy(spec.src, addr.addr, 16);
	if (addr.family == 4)
		memcpy(spec.dst, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	else
		memcpy(spec.dst,
		       (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 16);
	spec.proto = (uint8_t)proto;
	spec.sport = 40000;
	spec.dport = port;
	/* As the interfaces see it: their frames, to this host. */
	static struct ipg_prefix local[IPG_LOCAL_ADDRS_MAX];
	int n_local =
		ipg_datapath_local_addrs(d->dp, local, IPG_LOCAL_ADDRS_MAX);

	for (int i = n_local - 1; i >= 0; i--)
		if (local[i].family == addr.family)
			memcpy(spec.dst, local[i].addr, 16);
	spec.frame =
		ipg_link_probe_frame(d->cfg.interfaces, d->cfg.n_interfaces);
	len = ipg_pkt_build(&spec, pkt, sizeof(pkt));
	r = ipg_datapath_run_frame(d->dp, spec.frame, pkt, len, true, &action,
				   NULL, NULL);
	if (r)
		return reply_errf(q, r, "cannot run the datapath: %s",
				  strerror(-r));
	/* The allowing entry, as the live trie answers it. */
	found = !ipg_datapath_lookup(d->dp, &addr, &rule);
	if (found)
		ent = entry_by_rule(&d->cfg, rule);
	static struct ipg_prefix grants[IPG_GRANTS_MAX];
	struct ipg_verdict_env env = { .override_active = override_left(d) > 0,
				       .grants = grants,
				       .local = local,
				       .n_local = (size_t)n_local,
				       .frame = spec.frame };

	env.n_grants = live_grants(d, grants);
	ipg_verdict_eval(&d->cfg.policy, &env, pkt, len, &model);
	allowed = action == XDP_PASS;
	if (model.action != action ||
	    (model.stat == IPG_STAT_PASS_ALLOWED &&
	     (!ent || ent != &d->cfg.policy.entries[model.entry])))
		return reply_errf(
			q, -EIO,
			"the datapath (%s) and the reference "
			"model (%s, %s) disagree on %s; please report "
			"this",
			ipg_action_name(action), ipg_action_name(model.action),
			ipg_stat_name(model.stat), ip);
	snprintf(pname, sizeof(pname), "%s/%u",
		 proto == IPPROTO_TCP ? "tcp" : "udp", port);
	switch (model.stat) {
	case IPG_STAT_PASS_ALLOWED:
		ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
		if (*ent->label)
			snprintf(why, sizeof(why), "%s \"%s\"", cidr,
				 ent->label);
		else
			snprintf(why, sizeof(why), "%s", cidr);
		break;
	case IPG_STAT_PASS_UNPROTECTED:
		snprintf(why, sizeof(why), "%s is not protected", pname);
		break;
	case IPG_STAT_PASS_DISABLED:
		snprintf(why, sizeof(why), "the allowlist is disabled");
		break;
	case IPG_STAT_PASS_OVERRIDE:
		snprintf(why, sizeof(why), "emergency override running");
		break;
	case IPG_STAT_PASS_BREAKGLASS:
		snprintf(why, sizeof(why), "break-glass grant");
		break;
	case IPG_STAT_TX_RESET:
		snprintf(why, sizeof(why),
			 "no entry matches; answered with a "
			 "TCP reset");
		break;
	default:
		snprintf(why, sizeof(why), "no entry matches");
	}
	ipg_ctl_set(q->rep, "verdict", allowed ? "allowed" : "blocked");
	if (q->json) {
		ipg_buf_printf(&q->out,
			       "{\"ip\":\"%s\",\"port\":\"%s\","
			       "\"verdict\":\"%s\",\"reason\":\"%s\","
			       "\"entry\":",
			       ip, pname, allowed ? "allowed" : "blocked",
			       ipg_stat_name(model.stat));
		if (model.stat == IPG_STAT_PASS_ALLOWED) {
			ipg_buf_printf(&q->out,
				       "{\"cidr\":\"%s\",\"label\":", cidr);
			ipg_buf_json_str(&q->out, ent->label);
			ipg_buf_printf(&q->out, "}");
		} else {
			ipg_buf_printf(&q->out, "null");
		}
		ipg_buf_printf(&q->out, ",\"action\":\"%s\"}\n",
			       ipg_action_name(action));
	} else {
		ipg_buf_printf(&q->out, "%s (%s)\n",
			       allowed ? "allowed" : "blocked", why);
	}
	return 0;
}

/* ---- the audit log ---- */

/* The last @max records of the log, or with @max 0 every record, rendered
 * into @out as it is read. */
struct tail {
	char **lines;
	size_t n, max, next;
	struct ipg_buf *out;
	int json;
	size_t emitted;
};

static void render_record(struct ipg_buf *b, const char *line);

/* Appends one record to the reply: the JSON line as stored, or a row under
 * the column heads (printed before the first row). */
static void emit_record(struct tail *t, const char *line)
{
	if (t->json) {
		ipg_buf_printf(t->out, "%s\n", line);
	} else {
		if (!t->emitted)
			ipg_buf_printf(t->out,
				       "%6s  %-24s  %-10s %-15s %-16s %s\n",
				       "SEQ", "TIME", "USER", "CLIENT",
				       "ACTION", "BEFORE -> AFTER");
		render_record(t->out, line);
	}
	t->emitted++;
}

static int keep_line(const char *line, size_t len, void *arg)
{
	struct tail *t = arg;
	char *s = strndup(line, len);

	if (s && !t->max) {
		emit_record(t, s);
		free(s);
		return t->out->oom ? -ENOMEM : 0;
	}
	if (!s)
		return -ENOMEM;
	if (t->n < t->max) {
		t->lines[t->n++] = s;
	} else {
		free(t->lines[t->next]);
		t->lines[t->next] = s;
		t->next = (t->next + 1) % t->max;
	}
	return 0;
}

static void field_text(const char *line, const char *key, char *out,
		       size_t size)
{
	size_t len;
	const char *v = ipg_json_field(line, key, &len);

	if (v)
		ipg_json_string(v, len, out, size);
	else
		snprintf(out, size, "?");
}

static void render_record(struct ipg_buf *b, const char *line)
{
	char seq[24], time_[40], action[40], user[64], client[64];
	const char *actor, *before, *after;
	size_t alen, blen, aflen;

	field_text(line, "seq", seq, sizeof(seq));
	field_text(line, "time", time_, sizeof(time_));
	field_text(line, "action", action, sizeof(action));
	actor = ipg_json_field(line, "actor", &alen);
	before = ipg_json_field(line, "before", &blen);
	after = ipg_json_field(line, "after", &aflen);
	if (actor) {
		char *a = strndup(actor, alen);

		field_text(a ? a : "{}", "user", user, sizeof(user));
		field_text(a ? a : "{}", "client", client, sizeof(client));
		free(a);
	} else {
		snprintf(user, sizeof(user), "?");
		snprintf(client, sizeof(client), "?");
	}
	ipg_buf_printf(b, "%6s  %s  %-10s %-15s %-16s %.*s -> %.*s\n", seq,
		       time_, user, strcmp(client, "null") ? client : "-",
		       action, before ? (int)blen : 4, before ? before : "null",
		       after ? (int)aflen : 4, after ? after : "null");
}

/* log --verify [--anchors]: the chain, the head, and the journal's
 * anchors when the CLI sent them. */
static int do_log_verify(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_anchors an = { 0 };
	struct ipg_audit_report rep;
	struct ipg_error e;
	const char *at;
	size_t alen;
	int r;

	at = ipg_ctl_getn(q->m, "anchors", &alen);
	if (at) {
		r = ipg_anchors_parse(&an, at, alen, "the anchors sent", &e);
		if (r) {
			ipg_anchors_free(&an);
			return reply_errf(q, r, "%s", e.msg);
		}
	}
	r = ipg_audit_verify_anchored(d->o.audit_log, d->head_path,
				      at ? &an : NULL, &rep, &e);
	ipg_anchors_free(&an);
	if (r)
		return reply_errf(q, r, "audit log does NOT verify: %s", e.msg);
	if (q->json) {
		ipg_buf_printf(&q->out,
			       "{\"verified\":true,\"records\":%" PRIu64
			       ",\"first_seq\":%" PRIu64
			       ",\"last_seq\":%" PRIu64
			       ",\"files\":%u,\"head_checked\":%s,"
			       "\"lost_records\":%" PRIu64 ",\"anchored\":%s,"
			       "\"anchors_matched\":%" PRIu64
			       ",\"anchors_newest\":%" PRIu64
			       ",\"anchors_rotated\":%" PRIu64 "}\n",
			       rep.lines, rep.first_seq, rep.last_seq,
			       rep.files, rep.head_checked ? "true" : "false",
			       rep.lost, at ? "true" : "false",
			       rep.anchors_matched, rep.anchors_newest,
			       rep.anchors_rotated);
		return 0;
	}
	ipg_buf_printf(&q->out, "audit log verified: %" PRIu64 " records",
		       rep.lines);
	if (rep.lines)
		ipg_buf_printf(&q->out, " (%" PRIu64 "-%" PRIu64 ")",
			       rep.first_seq, rep.last_seq);
	ipg_buf_printf(&q->out, " in %u file%s%s\n", rep.files,
		       rep.files == 1 ? "" : "s",
		       rep.head_checked ? "; the last record is the one "
					  "ipgated wrote" :
					  "");
	if (rep.first_seq > 1)
		ipg_buf_printf(&q->out,
			       "records before %" PRIu64 " were rotated away\n",
			       rep.first_seq);
	if (!at) {
		ipg_buf_printf(&q->out,
			       "chain and head consistent; without anchors a "
			       "root rewrite cannot be detected (ipgate log "
			       "--verify --anchors FILE, see the README)\n");
	} else {
		ipg_buf_printf(&q->out,
			       "journal anchors: %" PRIu64
			       " match; records %" PRIu64 "-%" PRIu64
			       " are the ones ipgated wrote\n",
			       rep.anchors_matched, rep.first_seq,
			       rep.anchors_newest);
		if (rep.last_seq > rep.anchors_newest)
			ipg_buf_printf(&q->out,
				       "records %" PRIu64 "-%" PRIu64
				       " are newer than the newest anchor: "
				       "the journal does not pin them\n",
				       rep.anchors_newest + 1, rep.last_seq);
		if (rep.anchors_rotated)
			ipg_buf_printf(&q->out,
				       "%" PRIu64 " anchors name records "
				       "rotated away\n",
				       rep.anchors_rotated);
	}
	if (rep.lost && (!at || rep.anchors_newest < rep.last_lost_seq))
		ipg_buf_printf(&q->out,
			       "warning: %" PRIu64 " record%s say%s a start "
			       "found the audit head or tail lost (the last: "
			       "record %" PRIu64 "); records cut before %s "
			       "cannot be excluded\n",
			       rep.lost, rep.lost == 1 ? "" : "s",
			       rep.lost == 1 ? "s" : "", rep.last_lost_seq,
			       rep.lost == 1 ? "it" : "each");
	return 0;
}

static int do_log(struct req *q)
{
	struct daemon *d = q->d;
	const char *ls = ipg_ctl_get(q->m, "lines");
	struct tail t = { 0 };
	int r;

	if (ipg_ctl_flag(q->m, "verify"))
		return do_log_verify(q);
	/* -n 0: every record, rendered as it is read (no copy kept). */
	t.max = ls ? strtoul(ls, NULL, 10) : 20;
	t.out = &q->out;
	t.json = q->json;
	t.lines = t.max ? calloc(t.max, sizeof(*t.lines)) : NULL;
	if (t.max && !t.lines)
		return reply_errf(q, -ENOMEM,
				  "out of memory for the last %zu records; "
				  "ask for fewer with -n",
				  t.max);
	r = ipg_audit_each(d->o.audit_log, keep_line, &t);
	if (r && r != -ENOENT) {
		reply_errf(q, r, "cannot read %s: %s", d->o.audit_log,
			   strerror(-r));
	} else {
		r = 0;
		for (size_t i = 0; i < t.n; i++)
			emit_record(&t, t.lines[(t.next + i) % t.n]);
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.lines[i]);
	free(t.lines);
	return r;
}

/* ---- attach and detach ---- */

static int mark_detached(struct daemon *d, int on)
{
	int fd;

	if (!on)
		return unlink(d->detached_path) && errno != ENOENT ? -errno : 0;
	fd = open(d->detached_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

static void json_ifaces(struct ipg_buf *b, const struct ipg_config *c, int on)
{
	ipg_buf_printf(b, "{\"interfaces\":[");
	for (int i = 0; on && i < c->n_interfaces; i++) {
		ipg_buf_printf(b, "%s", i ? "," : "");
		ipg_buf_json_str(b, c->interfaces[i]);
	}
	ipg_buf_printf(b, "]}");
}

static int do_detach(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e;
	int r;

	if (d->detached) {
		ipg_buf_printf(&q->out, "already detached\n");
		return 0;
	}
	r = mark_detached(d, 1);
	if (r)
		return reply_errf(q, r, "cannot record the detach in %s: %s",
				  d->detached_path, strerror(-r));
	json_ifaces(&before, &d->cfg, 1);
	json_ifaces(&after, &d->cfg, 0);
	r = ipg_audit_append(&d->audit, &q->who, "detach", before.s, after.s,
			     &e);
	if (r) {
		mark_detached(d, 0);
		reply_err(q, r, e.msg);
		goto out;
	}
	d->detached = 1;
	for (int i = 0; i < d->cfg.n_interfaces; i++) {
		if (ipg_datapath_detach(d->cfg.interfaces[i], &e)) {
			ipg_buf_printf(&q->out, "warning: %s\n", e.msg);
			continue;
		}
		ipg_buf_printf(&q->out, "detached from %s\n",
			       d->cfg.interfaces[i]);
	}
	pr_info("detached by %s (uid %u)", q->who.user, (unsigned)q->who.uid);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

static int do_attach(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e;
	int r;

	if (!d->detached) {
		ipg_buf_printf(&q->out, "already attached\n");
		return 0;
	}
	d->detached = 0;
	r = attach_new(d, NULL, &d->cfg, &e);
	if (r) {
		d->detached = 1;
		return reply_err(q, r, e.msg);
	}
	json_ifaces(&before, &d->cfg, 0);
	json_ifaces(&after, &d->cfg, 1);
	r = ipg_audit_append(&d->audit, &q->who, "attach", before.s, after.s,
			     &e);
	if (!r)
		r = mark_detached(d, 0);
	if (r) {
		for (int i = 0; i < d->cfg.n_interfaces; i++)
			ipg_datapath_detach(d->cfg.interfaces[i], NULL);
		d->detached = 1;
		reply_err(q, r, e.msg);
	} else {
		for (int i = 0; i < d->cfg.n_interfaces; i++)
			ipg_buf_printf(&q->out, "attached to %s\n",
				       d->cfg.interfaces[i]);
	}
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

/* ---- emergency override ---- */

static int ovr_save(struct daemon *d)
{
	char text[512];
	int n;

	if (!d->ovr.active)
		return unlink(d->ovr_path) && errno != ENOENT ? -errno : 0;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n%lld\n%s\n%s\n",
		     d->ovr.deadline_ns, (long long)d->ovr.until, d->ovr.user,
		     d->ovr.reason);
	return ipg_write_atomic(d->ovr_path, text, (size_t)n, 0600);
}

static void ovr_load(struct daemon *d)
{
	FILE *f = fopen(d->ovr_path, "re");
	long long until = 0;

	memset(&d->ovr, 0, sizeof(d->ovr));
	if (!f)
		return;
	if (fscanf(f, "%" SCNu64 "\n%lld\n%63[^\n]\n%255[^\n]",
		   &d->ovr.deadline_ns, &until, d->ovr.user,
		   d->ovr.reason) >= 2) {
		d->ovr.active = 1;
		d->ovr.until = (time_t)until;
	}
	fclose(f);
}

static void json_override(struct ipg_buf *b, struct daemon *d)
{
	char when[64];

	if (!d->ovr.active) {
		ipg_buf_printf(b, "{\"override\":null}");
		return;
	}
	format_utc(d->ovr.until, when, sizeof(when));
	ipg_buf_printf(b, "{\"override\":{\"until\":\"%s\",\"by\":", when);
	ipg_buf_json_str(b, d->ovr.user);
	ipg_buf_printf(b, ",\"reason\":");
	ipg_buf_json_str(b, d->ovr.reason);
	ipg_buf_printf(b, "}}");
}

/* Ends the override in the kernel and the state dir, and audits how. */
static int ovr_end(struct daemon *d, const struct ipg_actor *who,
		   const char *how, struct ipg_error *e)
{
	struct ipg_buf before = { 0 }, after = { 0 };
	int r;

	json_override(&before, d);
	ipg_buf_printf(&after, "{\"override\":null,\"how\":\"%s\"}", how);
	r = ipg_datapath_set_override(d->dp, 0);
	if (r) {
		ipg_fail(e, r, "cannot end the override: %s", strerror(-r));
		goto out;
	}
	d->ovr.active = 0;
	ovr_save(d);
	r = ipg_audit_append(&d->audit, who, "override-end", before.s, after.s,
			     e);
	pr_info("emergency override ended (%s)", how);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

static int do_override(struct req *q)
{
	struct daemon *d = q->d;
	const char *dur = ipg_ctl_get(q->m, "for"),
		   *reason = ipg_ctl_get(q->m, "reason");
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e = { { 0 } };
	uint64_t prev_deadline = 0;
	char when[64], cap[32];
	uint32_t secs;
	int r;

	if (ipg_ctl_flag(q->m, "cancel")) {
		if (!d->ovr.active && !override_left(d)) {
			ipg_buf_printf(&q->out, "no override is running\n");
			return 0;
		}
		r = ovr_end(d, &q->who, "cancelled", &e);
		if (r)
			return reply_err(q, r, e.msg);
		ipg_buf_printf(&q->out, "override cancelled: the allowlist is "
					"enforced again\n");
		return 0;
	}
	format_duration(d->cfg.override_max_s, cap, sizeof(cap));
	if (!dur || ipg_duration_parse(dur, &secs) || !secs)
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a duration; expected "
				  "e.g. 30m, 2h, 24h (at most %s)",
				  dur ? dur : "", cap);
	if (secs > d->cfg.override_max_s)
		return reply_errf(q, -EINVAL,
				  "an override of %s is longer than "
				  "override-max (%s); ask for less, or raise "
				  "override-max in the config",
				  dur, cap);
	if (!reason || !*reason)
		return reply_err(q, -EINVAL,
				 "an override needs --reason TEXT "
				 "(it goes to the audit log)");
	if (strlen(reason) >= sizeof(d->ovr.reason))
		return reply_errf(q, -EINVAL,
				  "--reason is longer than %zu "
				  "characters",
				  sizeof(d->ovr.reason) - 1);
	ipg_datapath_get_override(d->dp, &prev_deadline);
	json_override(&before, d);
	d->ovr.active = 1;
	d->ovr.deadline_ns = ipg_boot_ns() + (uint64_t)secs * 1000000000ull;
	d->ovr.until = time(NULL) + secs;
	snprintf(d->ovr.user, sizeof(d->ovr.user), "%s", q->who.user);
	snprintf(d->ovr.reason, sizeof(d->ovr.reason), "%s", reason);
	json_override(&after, d);
	r = ovr_save(d);
	if (r) {
		reply_errf(q, r, "cannot record the override in %s: %s",
			   d->ovr_path, strerror(-r));
		goto undo;
	}
	r = ipg_datapath_set_override(d->dp, d->ovr.deadline_ns);
	if (r) {
		reply_errf(q, r, "cannot start the override: %s", strerror(-r));
		goto undo;
	}
	r = ipg_audit_append(&d->audit, &q->who, "override-start", before.s,
			     after.s, &e);
	if (r) {
		reply_errf(q, r, "%s; the override was not started", e.msg);
		ipg_datapath_set_override(d->dp, prev_deadline);
		goto undo;
	}
	format_utc(d->ovr.until, when, sizeof(when));
	format_duration(secs, cap, sizeof(cap));
	ipg_buf_printf(&q->out,
		       "emergency override: every source passes until "
		       "%s (%s); 'ipgate override --cancel' ends it early\n",
		       when, cap);
	pr_info("emergency override started by %s for %s: %s", q->who.user, cap,
		reason);
	goto out;
undo:
	ovr_load(d);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

/* An override that ran out (the kernel already enforces again) is
 * audited once, also when it ran out while the daemon was down. */
static void ovr_check(struct daemon *d)
{
	struct ipg_actor who = { .uid = getuid(),
				 .pid = getpid(),
				 .user = "ipgated" };
	struct ipg_error e;

	if (d->ovr.active && !override_left(d) &&
	    ovr_end(d, &who, "expired", &e))
		pr_warn("%s", e.msg);
}

/* ---- break-glass ---- */

static void key_path(struct daemon *d, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/%s.key", d->keys_dir, id);
}

/* The key named @id from the keys directory (an ipg_knock_key_fn; @ctx is
 * the daemon). */
static int key_load(void *ctx, const char *id, uint8_t key[IPG_KNOCK_KEY_BYTES])
{
	struct daemon *d = ctx;
	char path[PATH_MAX], got[IPG_KNOCK_ID_MAX + 1];
	struct ipg_buf b = { 0 };
	int r;

	if (!ipg_knock_id_valid(id))
		return -ENOENT;
	key_path(d, id, path, sizeof(path));
	r = ipg_read_file(path, 4096, &b);
	if (!r)
		r = ipg_knock_key_parse(b.s, got, key, NULL);
	if (!r && strcmp(got, id))
		r = -EINVAL;
	if (b.s)
		explicit_bzero(b.s, b.len);
	ipg_buf_free(&b);
	return r;
}

static int bg_keygen(struct req *q)
{
	struct daemon *d = q->d;
	const char *id = ipg_ctl_get(q->m, "id");
	uint8_t key[IPG_KNOCK_KEY_BYTES], rnd[4];
	char gen[IPG_KNOCK_ID_MAX + 1], path[PATH_MAX];
	char line[160], after[128];
	struct ipg_error e;
	int r = 0;

	if (!id) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return reply_err(q, -EIO, "no random bytes");
		snprintf(gen, sizeof(gen), "key-%02x%02x%02x%02x", rnd[0],
			 rnd[1], rnd[2], rnd[3]);
		id = gen;
	}
	if (!ipg_knock_id_valid(id))
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a key id; expected 1 "
				  "to %d of A-Z a-z 0-9 _ . -",
				  id, IPG_KNOCK_ID_MAX);
	key_path(d, id, path, sizeof(path));
	if (!access(path, F_OK))
		return reply_errf(q, -EEXIST,
				  "a key \"%s\" exists; revoke it "
				  "first or choose another --id",
				  id);
	if (RAND_bytes(key, sizeof(key)) != 1)
		return reply_err(q, -EIO, "no random bytes for the key");
	ipg_knock_key_format(id, key, line, sizeof(line));
	strcat(line, "\n");
	r = ipg_write_atomic(path, line, strlen(line), 0600);
	line[strlen(line) - 1] = '\0';
	if (r)
		return reply_errf(q, r, "cannot write %s: %s", path,
				  strerror(-r));
	snprintf(after, sizeof(after), "{\"key\":\"%s\"}", id);
	r = ipg_audit_append(&d->audit, &q->who, "breakglass-keygen", NULL,
			     after, &e);
	if (r) {
		unlink(path);
		return reply_errf(q, r, "%s; no key was made", e.msg);
	}
	explicit_bzero(key, sizeof(key));
	ipg_buf_printf(&q->out, "%s\n", line);
	ipg_ctl_set(q->rep, "key", line);
	explicit_bzero(line, sizeof(line));
	return 0;
}

/* Ends a grant in the kernel and audits why. */
static void grant_end(struct daemon *d, const struct ipg_grant *g,
		      const char *how)
{
	struct ipg_actor who = { .uid = getuid(),
				 .pid = getpid(),
				 .user = "ipgated" };
	char addr[IPG_PREFIX_STRLEN], before[160], after[64];
	/* The map could hold a name made by another writer. */
	const char *key = ipg_knock_id_valid(g->key_id) ? g->key_id : "?";
	struct ipg_error e;

	ipg_prefix_format(&g->addr, addr, sizeof(addr));
	if (ipg_datapath_ungrant(d->dp, &g->addr) && errno != ENOENT)
		pr_warn("cannot remove the grant of %s", addr);
	snprintf(before, sizeof(before), "{\"address\":\"%s\",\"key\":\"%s\"}",
		 addr, key);
	snprintf(after, sizeof(after), "{\"address\":null,\"how\":\"%s\"}",
		 how);
	if (ipg_audit_append(&d->audit, &who, "breakglass-expire", before,
			     after, &e))
		pr_warn("%s", e.msg);
	pr_info("break-glass grant of %s ended (%s)", addr, how);
}

static int bg_revoke(struct req *q)
{
	struct daemon *d = q->d;
	const char *id = ipg_ctl_get(q->m, "id");
	static struct ipg_grant g[2 * IPG_GRANTS_MAX]; /* per family */
	char path[PATH_MAX], before[96];
	struct ipg_error e;
	int n, r, ended = 0;

	if (!id || !ipg_knock_id_valid(id))
		return reply_errf(q, -EINVAL, "\"%s\" is not a key id",
				  id ? id : "");
	key_path(d, id, path, sizeof(path));
	if (access(path, F_OK))
		return reply_errf(q, -ENOENT,
				  "no break-glass key \"%s\" "
				  "('ipgate breakglass list' shows them)",
				  id);
	snprintf(before, sizeof(before), "{\"key\":\"%s\"}", id);
	r = ipg_audit_append(&d->audit, &q->who, "breakglass-revoke", before,
			     "{\"key\":null}", &e);
	if (r)
		return reply_err(q, r, e.msg);
	if (unlink(path))
		return reply_errf(q, -errno, "cannot remove %s: %s", path,
				  strerror(errno));
	/* Grants made with the key end with it, whichever daemon made them:
	 * the grant map records the key. */
	n = ipg_datapath_grants(d->dp, g, 2 * IPG_GRANTS_MAX);
	for (int i = 0; i < n; i++)
		if (!strcmp(g[i].key_id, id)) {
			grant_end(d, &g[i], "revoked");
			ended++;
		}
	ipg_buf_printf(&q->out,
		       "revoked break-glass key %s; %d grant%s ended\n", id,
		       ended, ended == 1 ? "" : "s");
	return 0;
}

/* Lists keys and live grants into @b (text or JSON). */
static void bg_render(struct daemon *d, struct ipg_buf *b, int json)
{
	static struct ipg_grant g[2 * IPG_GRANTS_MAX]; /* per family */
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, 2 * IPG_GRANTS_MAX), first = 1;
	DIR *dir = opendir(d->keys_dir);
	struct dirent *de;

	ipg_buf_printf(b, json ? "\"keys\":[" : "break-glass keys\n");
	while (dir && (de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char path[PATH_MAX], when[64];
		struct stat st;

		if (len < 5 || strcmp(de->d_name + len - 4, ".key"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->keys_dir, de->d_name);
		if (stat(path, &st))
			continue;
		format_utc(st.st_mtime, when, sizeof(when));
		if (json)
			ipg_buf_printf(b,
				       "%s{\"id\":\"%.*s\",\"created\":\"%s\"}",
				       first ? "" : ",", (int)len - 4,
				       de->d_name, when);
		else
			ipg_buf_printf(b, "  %-32.*s created %s\n",
				       (int)len - 4, de->d_name, when);
		first = 0;
	}
	if (dir)
		closedir(dir);
	if (!json && first)
		ipg_buf_printf(
			b, "  none ('ipgate breakglass keygen' makes one)\n");
	ipg_buf_printf(b, json ? "],\"grants\":[" : "break-glass grants\n");
	first = 1;
	for (int i = 0; i < n; i++) {
		char addr[IPG_PREFIX_STRLEN], left[32];
		const char *key =
			ipg_knock_id_valid(g[i].key_id) ? g[i].key_id : "?";

		if (g[i].expiry_ns <= now)
			continue;
		ipg_prefix_format(&g[i].addr, addr, sizeof(addr));
		format_duration((g[i].expiry_ns - now) / 1000000000ull + 1,
				left, sizeof(left));
		if (json)
			ipg_buf_printf(
				b,
				"%s{\"address\":\"%s\",\"seconds_left\":%" PRIu64
				",\"key\":\"%s\"}",
				first ? "" : ",", addr,
				(uint64_t)((g[i].expiry_ns - now) /
						   1000000000ull +
					   1),
				key);
		else
			ipg_buf_printf(b, "  %-40s %s left (key %s)\n", addr,
				       left, key);
		first = 0;
	}
	if (json)
		ipg_buf_printf(b, "]");
	else if (first)
		ipg_buf_printf(b, "  none\n");
}

static int bg_list(struct req *q)
{
	if (q->json) {
		ipg_buf_printf(&q->out, "{");
		bg_render(q->d, &q->out, 1);
		ipg_buf_printf(&q->out, "}\n");
	} else {
		bg_render(q->d, &q->out, 0);
	}
	return 0;
}

static int do_breakglass(struct req *q)
{
	const char *op = ipg_ctl_get(q->m, "op");

	if (op && !strcmp(op, "keygen"))
		return bg_keygen(q);
	if (op && !strcmp(op, "list"))
		return bg_list(q);
	if (op && !strcmp(op, "revoke"))
		return bg_revoke(q);
	return reply_errf(q, -EINVAL,
			  "unknown breakglass operation \"%s\"; "
			  "expected keygen, list or revoke",
			  op ? op : "");
}

/* The daemon's refusal counters, by verdict. */
static uint64_t *kstat_of(struct daemon *d, enum ipg_knock_verdict v)
{
	switch (v) {
	case IPG_KNOCK_GRANTED:
		return &d->kstat.granted;
	case IPG_KNOCK_MALFORMED:
		return &d->kstat.malformed;
	case IPG_KNOCK_UNKNOWN_KEY:
		return &d->kstat.unknown_key;
	case IPG_KNOCK_BAD_MAC:
		return &d->kstat.bad_mac;
	case IPG_KNOCK_STALE:
		return &d->kstat.stale;
	case IPG_KNOCK_REPLAYED:
		return &d->kstat.replayed;
	case IPG_KNOCK_WRONG_SOURCE:
		return &d->kstat.wrong_source;
	case IPG_KNOCK_RATE_LIMITED:
		break;
	}
	return &d->kstat.rate_limited;
}

/* One datagram on the break-glass port. Every refusal is silent: no reply
 * says which check failed. The order of the checks, the nonce cache and the
 * rate limit are libipgate's (ipg_knock_judge). */
static void knock(struct daemon *d, const uint8_t *buf, size_t len,
		  const struct sockaddr_in6 *from)
{
	char addr[IPG_PREFIX_STRLEN], after[256], when[64], user[64];
	struct ipg_prefix src;
	struct ipg_knock k;
	struct ipg_error e;
	uint64_t now = (uint64_t)time(NULL), expiry;
	enum ipg_knock_verdict v;
	uint32_t secs;
	int r;

	if (ipg_prefix_from_sockaddr((const struct sockaddr *)from, &src))
		return;
	v = ipg_knock_judge(&d->kgate, now, buf, len, &src, key_load, d, &k);
	if (v != IPG_KNOCK_GRANTED) {
		(*kstat_of(d, v))++;
		return;
	}
	secs = ipg_knock_grant_seconds(&k);
	expiry = ipg_boot_ns() + (uint64_t)secs * 1000000000ull;
	ipg_prefix_format(&src, addr, sizeof(addr));
	r = ipg_datapath_grant(d->dp, &src, expiry, k.key_id);
	if (r) {
		pr_warn("break-glass: cannot grant %s: %s (at most %d grants "
			"per address family)",
			addr, strerror(-r), IPG_GRANTS_MAX);
		return;
	}
	format_utc((time_t)(now + secs), when, sizeof(when));
	snprintf(after, sizeof(after),
		 "{\"address\":\"%s\",\"until\":\"%s\","
		 "\"seconds\":%u,\"key\":\"%s\"}",
		 addr, when, secs, k.key_id);
	snprintf(user, sizeof(user), "breakglass:%s", k.key_id);
	struct ipg_actor who = {
		.uid = getuid(), .pid = getpid(), .user = user, .client = addr
	};
	if (ipg_audit_append(&d->audit, &who, "breakglass-grant", NULL, after,
			     &e)) {
		/* Nothing runs unaudited. */
		ipg_datapath_ungrant(d->dp, &src);
		pr_warn("break-glass: %s; grant of %s withdrawn", e.msg, addr);
		return;
	}
	d->kstat.granted++;
	pr_info("break-glass: %s may reach the protected ports until %s (key %s)",
		addr, when, k.key_id);
}

static void on_knock(struct daemon *d)
{
	uint8_t buf[512];

	/* A bounded batch, so a flood cannot starve the control socket. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->kfd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (fl != sizeof(from) || from.sin6_family != AF_INET6)
			continue;
		knock(d, buf, (size_t)n, &from);
	}
}

/* Opens (or closes, or moves) the break-glass socket to the config's port. */
static int knock_listen(struct daemon *d)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int fd, off = 0;

	if (d->kport == d->cfg.breakglass_port && (d->kfd >= 0 || !d->kport))
		return 0;
	if (d->kfd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->kfd, NULL);
		close(d->kfd);
		d->kfd = -1;
	}
	d->kport = d->cfg.breakglass_port;
	if (!d->kport)
		return 0;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	sa.sin6_port = htons(d->kport);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int r = -errno;

		pr_warn("break-glass: cannot listen on udp/%u: %s", d->kport,
			strerror(-r));
		close(fd);
		return r;
	}
	d->kfd = fd;
	if (d->epfd >= 0)
		epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd,
			  &(struct epoll_event){ .events = EPOLLIN,
						 .data.fd = fd });
	pr_info("break-glass: listening on udp/%u", d->kport);
	return 0;
}

/* Grants that ran out are removed and audited (the kernel stopped honouring
 * them at their deadline already). */
static void grants_check(struct daemon *d)
{
	static struct ipg_grant g[2 * IPG_GRANTS_MAX]; /* per family */
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, 2 * IPG_GRANTS_MAX);

	for (int i = 0; i < n; i++)
		if (g[i].expiry_ns <= now)
			grant_end(d, &g[i], "expired");
}

/* The live grants, for the reference model. */
static size_t live_grants(struct daemon *d, struct ipg_prefix *out)
{
	static struct ipg_grant g[IPG_GRANTS_MAX];
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_MAX);
	size_t k = 0;

	for (int i = 0; i < n; i++)
		if (g[i].expiry_ns > now)
			out[k++] = g[i].addr;
	return k;
}

/* ---- requests ---- */

static const struct command {
	const char *name;
	int (*fn)(struct req *q);
} commands[] = {
	{ "status", do_status },
	{ "list", do_list },
	{ "add", do_add },
	{ "remove", do_remove },
	{ "enable", do_enable },
	{ "disable", do_disable },
	{ "apply", do_apply },
	{ "test", do_test },
	{ "log", do_log },
	{ "detach", do_detach },
	{ "attach", do_attach },
	{ "override", do_override },
	{ "breakglass", do_breakglass },
};

/* The name of @uid from /etc/passwd itself: a local file read, so that a
 * slow name service (LDAP, sssd) never stalls the loop. Users known only
 * to such a service are shown as "uid N"; the audit log has the uid too. */
static void user_name(uid_t uid, char *out, size_t size)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;

	snprintf(out, size, "uid %u", (unsigned)uid);
	if (!f)
		return;
	while ((pw = fgetpwent(f)))
		if (pw->pw_uid == uid) {
			snprintf(out, size, "%s", pw->pw_name);
			break;
		}
	fclose(f);
}

static void handle(struct daemon *d, struct conn *c,
		   const struct ipg_ctl_msg *m, struct ipg_ctl_msg *rep)
{
	const char *cmd = ipg_ctl_get(m, "cmd"), *client;
	struct req q = { .d = d, .m = m, .rep = rep };
	int r = -EINVAL;

	user_name(c->uid, q.user, sizeof(q.user));
	client = ipg_ctl_get(m, "client");
	if (client)
		snprintf(q.client, sizeof(q.client), "%s", client);
	q.who = (struct ipg_actor){ .uid = c->uid,
				    .pid = c->pid,
				    .user = q.user,
				    .client = *q.client ? q.client : NULL };
	q.json = ipg_ctl_flag(m, "json");
	q.force = ipg_ctl_flag(m, "force");
	for (size_t i = 0; cmd && i < sizeof(commands) / sizeof(commands[0]);
	     i++)
		if (!strcmp(cmd, commands[i].name)) {
			r = commands[i].fn(&q);
			goto done;
		}
	reply_errf(&q, -EINVAL, "unknown command \"%s\"", cmd ? cmd : "");
done:
	if (!ipg_ctl_get(rep, "code"))
		ipg_ctl_set(rep, "code", ipg_ctl_code_name(r));
	if (q.out.oom)
		reply_err(&q, -ENOMEM, "out of memory");
	else if (q.out.s)
		ipg_ctl_setn(rep, "out", q.out.s, q.out.len);
	if (r && ipg_ctl_get(rep, "message"))
		pr_info("refused %s from %s (uid %u): %s", cmd ? cmd : "?",
			q.user, (unsigned)c->uid, ipg_ctl_get(rep, "message"));
	ipg_buf_free(&q.out);
}

/* ---- connections ---- */

static void conn_close(struct daemon *d, struct conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	ipg_buf_free(&c->in);
	ipg_buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends what the client's socket takes of the pending reply without
 * blocking the loop; closes the connection once all of it is sent, or when
 * the client has gone. Otherwise waits for EPOLLOUT. */
static void conn_flush(struct daemon *d, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + c->out_off,
				 c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->deadline = time(NULL) + CONN_SEND_IDLE_S;
			epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd,
				  &(struct epoll_event){ .events = EPOLLOUT,
							 .data.ptr = c });
			return;
		}
		if (n <= 0) {
			pr_warn("pid %d went away after %zu of %zu reply bytes",
				(int)c->pid, c->out_off, c->out.len);
			break;
		}
		c->out_off += (size_t)n;
	}
	conn_close(d, c);
}

/* Encodes @rep as the connection's pending reply and starts sending it. */
static void send_reply(struct daemon *d, struct conn *c,
		       const struct ipg_ctl_msg *rep)
{
	ipg_buf_free(&c->out);
	c->out_off = 0;
	if (ipg_ctl_encode(rep, &c->out)) {
		struct ipg_ctl_msg oom = { 0 };

		pr_warn("out of memory encoding a reply to pid %d",
			(int)c->pid);
		ipg_buf_free(&c->out);
		ipg_ctl_set(&oom, "code", "EIO");
		ipg_ctl_set(&oom, "message",
			    "ipgated ran out of memory for the reply");
		ipg_ctl_encode(&oom, &c->out);
		ipg_ctl_free(&oom);
	}
	conn_flush(d, c);
}

/* Whether the peer may use the socket: root, or a member of the group by
 * its primary gid or by the supplementary groups the kernel recorded for
 * the socket (SO_PEERGROUPS), so no name service is asked in the loop. */
static int authorized(struct daemon *d, int fd, uid_t uid, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (uid == 0)
		return 1;
	if (!d->have_group)
		return 0;
	if (gid == d->group_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return 0; /* ERANGE: over 256 groups; refuse, never guess */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->group_gid)
			return 1;
	return 0;
}

/* Refuses a connection with a reply saying why, sent without waiting. */
static void refuse_conn(int fd, const char *code, const char *msg)
{
	struct ipg_ctl_msg rep = { 0 };
	struct ipg_buf out = { 0 };

	ipg_ctl_set(&rep, "code", code);
	ipg_ctl_set(&rep, "message", msg);
	if (!ipg_ctl_encode(&rep, &out))
		(void)!send(fd, out.s, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	ipg_buf_free(&out);
	ipg_ctl_free(&rep);
	close(fd);
}

static void on_accept(struct daemon *d)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c = NULL;
	char msg[160];
	int fd, held = 0;

	fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		close(fd);
		return;
	}
	if (!authorized(d, fd, cred.uid, cred.gid)) {
		pr_warn("refused a control connection from uid %u gid %u pid %d: "
			"only root and the %s group may use ipgated",
			(unsigned)cred.uid, (unsigned)cred.gid, (int)cred.pid,
			d->o.group);
		snprintf(msg, sizeof(msg),
			 "permission denied: only root and the %s group may "
			 "use ipgated",
			 d->o.group);
		refuse_conn(fd, "EACCES", msg);
		return;
	}
	for (int i = 0; i < CONNS_MAX; i++) {
		if (d->conns[i].fd < 0 && !c)
			c = &d->conns[i];
		else if (d->conns[i].fd >= 0 && d->conns[i].uid == cred.uid)
			held++;
	}
	if (!c || (cred.uid != 0 && held >= CONNS_PER_UID)) {
		pr_warn("too many control connections%s; refusing uid %u pid %d",
			c ? " from this uid" : "", (unsigned)cred.uid,
			(int)cred.pid);
		snprintf(msg, sizeof(msg),
			 "busy: uid %u already holds %d control connections; "
			 "try again when they are done",
			 (unsigned)cred.uid, held);
		refuse_conn(fd, "EBUSY",
			    c ? msg :
				"busy: every control connection is in "
				"use; try again");
		return;
	}
	c->fd = fd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->deadline = time(NULL) + CONN_TIMEOUT_S;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.ptr = c });
}

static void on_conn(struct daemon *d, struct conn *c)
{
	struct ipg_ctl_msg m, rep = { 0 };
	struct ipg_error e = { { 0 } };
	char chunk[65536];
	size_t used;
	ssize_t n;
	int r;

	if (c->out.s) {
		conn_flush(d, c); /* EPOLLOUT: more of the reply */
		return;
	}
	n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(d, c);
		return;
	}
	ipg_buf_append(&c->in, chunk, (size_t)n);
	if (c->in.oom) {
		conn_close(d, c);
		return;
	}
	r = ipg_ctl_decode(c->in.s, c->in.len, &ipg_ctl_request_limits, &m,
			   &used, &e);
	if (r == -EAGAIN)
		return;
	if (r) {
		ipg_ctl_set(&rep, "code", "EBADMSG");
		ipg_ctl_setf(&rep, "message", "bad request: %s", e.msg);
		pr_warn("bad request from pid %d: %s", (int)c->pid, e.msg);
	} else {
		handle(d, c, &m, &rep);
		ipg_ctl_free(&m);
	}
	/* Nothing more is read from this client: it gets one answer. */
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd,
		  &(struct epoll_event){ .events = 0, .data.ptr = c });
	send_reply(d, c, &rep);
	ipg_ctl_free(&rep);
}

/* ---- reload ---- */

static void actor_self(struct ipg_actor *who, const char *user)
{
	*who = (struct ipg_actor){ .uid = getuid(),
				   .pid = getpid(),
				   .user = user };
}

/* Reads the config file and applies it when its text changed. */
static void reload(struct daemon *d, const char *why)
{
	static struct ipg_config next;
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	struct req q = { .d = d, .m = &m, .rep = &rep, .force = 1 };
	struct ipg_buf text = { 0 };
	struct ipg_error e = { { 0 } };
	int r;

	r = ipg_read_file(d->o.config, IPG_CTL_VALUE_MAX, &text);
	if (r) {
		pr_warn("reload (%s): cannot read %s: %s; the running policy "
			"stays",
			why, d->o.config, strerror(-r));
		ipg_buf_free(&text);
		return;
	}
	if (d->cfg_text && !strcmp(text.s, d->cfg_text)) {
		/* Our own save, or a broken edit put back: the file is what
		 * runs. */
		if (*d->file_error)
			pr_info("%s agrees with the running policy again",
				d->o.config);
		d->file_error[0] = '\0';
		ipg_buf_free(&text);
		return;
	}
	snprintf(q.user, sizeof(q.user), "ipgated");
	actor_self(&q.who, "ipgated");
	r = ipg_config_parse(&next, text.s, d->o.config, &e);
	if (r) {
		struct ipg_buf after = { 0 };

		pr_warn("reload (%s): %s; the running policy stays", why,
			e.msg);
		if (strcmp(d->file_error, e.msg)) {
			snprintf(d->file_error, sizeof(d->file_error), "%s",
				 e.msg);
			ipg_buf_printf(&after, "{\"error\":");
			ipg_buf_json_str(&after, e.msg);
			ipg_buf_printf(&after, "}");
			if (ipg_audit_append(&d->audit, &q.who,
					     "rejected-change", NULL, after.s,
					     &e))
				pr_warn("%s", e.msg);
			ipg_buf_free(&after);
		}
		ipg_buf_free(&text);
		return;
	}
	r = commit(&q, &next, "reload", 0);
	if (r) {
		pr_warn("reload (%s): %s; the running policy stays", why,
			ipg_ctl_get(&rep, "message"));
		snprintf(d->file_error, sizeof(d->file_error), "%s",
			 ipg_ctl_get(&rep, "message"));
	} else {
		free(d->cfg_text);
		d->cfg_text = text.s;
		text.s = NULL;
		d->file_error[0] = '\0';
		pr_info("reloaded %s (%s)", d->o.config, why);
	}
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	ipg_buf_free(&q.out);
	ipg_buf_free(&text);
}

static void arm(int tfd, long ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (ms % 1000) *
							   1000000 } };

	timerfd_settime(tfd, 0, &its, NULL);
}

static void on_inotify(struct daemon *d)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(d->inofd, buf, sizeof(buf)) > 0)
		;
	/* Editors write in several steps; settle first, then compare. */
	arm(d->debounce_fd, RELOAD_DEBOUNCE_MS);
}

/* Reject mode answers only SYNs to this host's addresses: keeps the
 * datapath's copy in step when netlink says they changed. */
static void local_addrs_check(struct daemon *d)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_local_addrs_poll(d->dp, &e) < 0)
		pr_warn("%s", e.msg);
}

static void on_tick(struct daemon *d)
{
	time_t now = time(NULL);
	uint64_t x;

	if (read(d->tick_fd, &x, sizeof(x)) < 0)
		return;
	for (int i = 0; i < CONNS_MAX; i++)
		if (d->conns[i].fd >= 0 && d->conns[i].deadline < now)
			conn_close(d, &d->conns[i]);
	ovr_check(d);
	grants_check(d);
	local_addrs_check(d);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* An explicit reload reads the file even if unchanged
			 * text was seen before. */
			free(d->cfg_text);
			d->cfg_text = NULL;
			reload(d, "SIGHUP");
			if (!d->cfg_text)
				d->cfg_text = ipg_config_render(&d->cfg);
		} else {
			pr_info("signal %d: stopping; the filter stays attached "
				"and enforcing",
				si.ssi_signo);
			d->stop = 1;
		}
	}
}

/* ---- start ---- */

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int mkdir_of(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	return mkdir_p(dirname(buf), mode);
}

static int open_socket(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(d->o.socket) >= sizeof(sa.sun_path)) {
		pr_warn("socket path %s is too long", d->o.socket);
		return -ENAMETOOLONG;
	}
	r = mkdir_of(d->o.socket, 0755);
	if (r) {
		pr_warn("cannot create the directory of %s: %s", d->o.socket,
			strerror(-r));
		return r;
	}
	strcpy(sa.sun_path, d->o.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(d->o.socket); /* a stale one; the lock says none is live */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(d->o.socket, 0660) ||
	    chown(d->o.socket, 0, d->have_group ? d->group_gid : 0) ||
	    listen(fd, 16)) {
		r = -errno;
		pr_warn("cannot serve the control socket %s: %s", d->o.socket,
			strerror(-r));
		close(fd);
		return r;
	}
	d->lfd = fd;
	return 0;
}

static int take_lock(struct daemon *d)
{
	char buf[32];
	int n;

	d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return -errno;
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		n = (int)pread(d->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		pr_warn("another ipgated holds %s (pid %s); stop it first",
			d->lock_path, n > 0 ? strtok(buf, "\n") : "?");
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(d->lock_fd, 0) ||
	    pwrite(d->lock_fd, buf, (size_t)n, 0) < 0)
		return -errno;
	return 0;
}

/* What the kernel runs now, as a config, to audit what a start changes. */
static void kernel_config(struct daemon *d, struct ipg_config *k)
{
	static struct ipg_entry live[IPG_RULES_MAX];
	int n = ipg_datapath_rules(d->dp, live);

	memset(k, 0, sizeof(*k));
	ipg_policy_init(&k->policy);
	if (!ipg_datapath_adopted(d->dp) || n < 0)
		return;
	ipg_datapath_active(d->dp, &k->policy.kern);
	for (int i = 0; i < n; i++) {
		k->policy.entries[i] = live[i];
		/* Labels are not in the kernel; take them from the file. */
		int j = ipg_policy_find(&d->cfg.policy, &live[i].prefix);

		if (j >= 0)
			strcpy(k->policy.entries[i].label,
			       d->cfg.policy.entries[j].label);
	}
	k->policy.n_entries = (uint32_t)n;
}

static int start(struct daemon *d)
{
	static struct ipg_entry live[IPG_RULES_MAX];
	static struct ipg_config kern;
	struct ipg_datapath_opts dopts = { .pin_dir = d->o.pin_dir };
	struct ipg_audit_opts aopts = { .rotate_size = d->o.audit_rotate,
					.keep = d->o.audit_keep,
					.head_path = d->head_path,
					.anchor = ipg_journal_anchor };
	struct ipg_config_diff diff;
	struct ipg_actor who;
	struct ipg_error e = { { 0 } };
	struct group *gr;
	int r, n;

	r = mkdir_p(d->o.state_dir, 0700);
	if (!r)
		r = mkdir_of(d->o.audit_log, 0750);
	if (r) {
		pr_warn("cannot create %s or the audit log's directory: %s",
			d->o.state_dir, strerror(-r));
		return r;
	}
	snprintf(d->head_path, sizeof(d->head_path), "%s/audit.head",
		 d->o.state_dir);
	snprintf(d->detached_path, sizeof(d->detached_path), "%s/detached",
		 d->o.state_dir);
	snprintf(d->lock_path, sizeof(d->lock_path), "%s/ipgated.lock",
		 d->o.state_dir);
	snprintf(d->ovr_path, sizeof(d->ovr_path), "%s/override",
		 d->o.state_dir);
	snprintf(d->keys_dir, sizeof(d->keys_dir), "%s/breakglass",
		 d->o.state_dir);
	if (mkdir(d->keys_dir, 0700) && errno != EEXIST) {
		r = -errno;
		pr_warn("cannot create %s: %s", d->keys_dir, strerror(-r));
		return r;
	}
	ovr_load(d);
	r = take_lock(d);
	if (r)
		return r;
	gr = getgrnam(d->o.group);
	if (gr) {
		d->have_group = 1;
		d->group_gid = gr->gr_gid;
	} else {
		pr_info("no group \"%s\": only root may use the control socket",
			d->o.group);
	}
	r = ipg_config_load(&d->cfg, d->o.config, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	for (int i = 0; i < d->cfg.n_warnings; i++)
		pr_info("%s: %s", d->o.config, d->cfg.warnings[i]);
	{
		struct ipg_buf note = { 0 };

		ephemeral_note(&d->cfg, &note);
		if (note.s)
			pr_warn("%s: %s", d->o.config, note.s);
		ipg_buf_free(&note);
	}
	d->cfg_text = ipg_config_render(&d->cfg);
	r = ipg_datapath_open(&d->dp, &dopts, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	if (ipg_datapath_sync_local_addrs(d->dp, &e))
		pr_warn("%s; reject mode drops SYNs without answering", e.msg);
	n = ipg_datapath_rules(d->dp, live);
	if (n > 0)
		ipg_policy_keep_ids(&d->cfg.policy, live, (uint32_t)n);
	r = ipg_audit_open(&d->audit, d->o.audit_log, &aopts, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	actor_self(&who, "ipgated");
	/* A lost head or tail is said in the log, never covered silently. */
	if (ipg_audit_note_open(&d->audit, &who, &e))
		pr_warn("%s", e.msg);
	d->detached = !access(d->detached_path, F_OK);
	/* Reconcile: the file wins; what it changes in the kernel is
	 * audited like any other change. */
	kernel_config(d, &kern);
	kern.n_interfaces = d->cfg.n_interfaces;
	memcpy(kern.interfaces, d->cfg.interfaces, sizeof(kern.interfaces));
	kern.override_max_s = d->cfg.override_max_s;
	kern.breakglass_port = d->cfg.breakglass_port;
	kern.policy.max_entries = d->cfg.policy.max_entries;
	r = ipg_fault("start-apply", &e);
	if (!r)
		r = ipg_datapath_apply(d->dp, &d->cfg.policy, &e);
	if (r) {
		pr_warn("%s; nothing was attached, so whatever enforced "
			"before still does",
			e.msg);
		return r;
	}
	/* Attach last: a program reaches an interface only with the policy
	 * already in its maps, so a fresh load never opens the filter, not
	 * even for a moment, and a failed start leaves the old one enforcing. */
	r = ipg_fault("start-attach", &e);
	if (!r)
		r = attach_new(d, NULL, &d->cfg, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	if (!ipg_config_diff(&kern, &d->cfg, &diff)) {
		if (diff.changes &&
		    ipg_audit_append(&d->audit, &who, "reload", diff.before.s,
				     diff.after.s, &e))
			pr_warn("%s", e.msg);
		ipg_config_diff_free(&diff);
	}
	r = open_socket(d);
	if (r)
		return r;
	pr_info("%s the datapath; %u entries, %s; serving %s",
		ipg_datapath_adopted(d->dp) ? "adopted" : "loaded",
		d->cfg.policy.n_entries,
		d->cfg.policy.kern.enabled ? "enabled" : "disabled",
		d->o.socket);
	return 0;
}

static int setup_loop(struct daemon *d)
{
	char dir[PATH_MAX];
	sigset_t ss;
	struct itimerspec tick = { .it_interval = { .tv_sec = 1 },
				   .it_value = { .tv_sec = 1 } };

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&ss);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	d->debounce_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->tick_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->inofd < 0 || d->debounce_fd < 0 ||
	    d->tick_fd < 0)
		return -errno;
	snprintf(dir, sizeof(dir), "%s", d->o.config);
	/* The directory, not the file: editors rename over it, and config
	 * maps swap a symlink. */
	if (inotify_add_watch(d->inofd, dirname(dir),
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
				      IN_CREATE | IN_DELETE | IN_ATTRIB) < 0)
		pr_warn("cannot watch %s: %s; reload with SIGHUP", dir,
			strerror(errno));
	timerfd_settime(d->tick_fd, 0, &tick, NULL);
	int fds[] = { d->sigfd, d->inofd, d->debounce_fd, d->tick_fd, d->lfd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i],
			      &(struct epoll_event){ .events = EPOLLIN,
						     .data.fd = fds[i] }))
			return -errno;
	return knock_listen(d);
}

static int in_conns(struct daemon *d, void *p)
{
	return (char *)p >= (char *)d->conns &&
	       (char *)p < (char *)(d->conns + CONNS_MAX);
}

static void run(struct daemon *d)
{
	struct epoll_event ev[16];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, ev, 16, -1);

		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			int fd = ev[i].data.fd;

			if (in_conns(d, p))
				on_conn(d, p);
			else if (fd == d->lfd)
				on_accept(d);
			else if (fd == d->sigfd)
				on_signal(d);
			else if (fd == d->inofd)
				on_inotify(d);
			else if (fd == d->tick_fd)
				on_tick(d);
			else if (fd == d->kfd)
				on_knock(d);
			else if (fd == d->debounce_fd) {
				uint64_t x;

				if (read(fd, &x, sizeof(x)) > 0)
					reload(d, "file changed");
			}
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ipgated [options]\n"
		"  -c, --config FILE       config file (" IPG_CONFIG_DEFAULT
		")\n"
		"  -s, --socket PATH       control socket (" IPG_SOCKET_DEFAULT
		")\n"
		"  -p, --pin-dir DIR       bpffs pin directory (" IPG_PIN_DIR_DEFAULT
		")\n"
		"  -a, --audit-log FILE    audit log (" IPG_AUDIT_DEFAULT ")\n"
		"      --audit-rotate SIZE rotate the audit log at SIZE bytes "
		"(K/M/G suffixes; 10M; 0: never)\n"
		"      --audit-keep N      rotated audit files kept, gzipped (5)\n"
		"  -d, --state-dir DIR     state directory (" STATE_DIR_DEFAULT
		")\n"
		"  -g, --group NAME        group allowed on the socket (" GROUP_DEFAULT
		")\n"
		"  -f, --foreground        do not go to the background\n"
		"  -v, --verbose           more log output (-vv adds libbpf's)\n"
		"  -h, --help              this text\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Goes to the background; the parent exits once the child is serving (0)
 * or has failed (1), so that scripts can rely on the exit status. */
static int daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c = 1;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c ? 1 : 0);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "audit-log", required_argument, NULL, 'a' },
		{ "audit-rotate", required_argument, NULL, 'R' },
		{ "audit-keep", required_argument, NULL, 'K' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct daemon d;
	int opt, ready_fd = -1, r;
	char *end;

	d.o = (struct opts){ .config = IPG_CONFIG_DEFAULT,
			     .socket = IPG_SOCKET_DEFAULT,
			     .pin_dir = IPG_PIN_DIR_DEFAULT,
			     .audit_log = IPG_AUDIT_DEFAULT,
			     .state_dir = STATE_DIR_DEFAULT,
			     .group = GROUP_DEFAULT,
			     .audit_rotate = IPG_AUDIT_ROTATE_DEFAULT,
			     .audit_keep = IPG_AUDIT_KEEP_DEFAULT,
			     .verbose = 1 };
	while ((opt = getopt_long(argc, argv, "c:s:p:a:d:g:fvh", lo, NULL)) !=
	       -1) {
		switch (opt) {
		case 'c':
			d.o.config = optarg;
			break;
		case 's':
			d.o.socket = optarg;
			break;
		case 'p':
			d.o.pin_dir = optarg;
			break;
		case 'a':
			d.o.audit_log = optarg;
			break;
		case 'd':
			d.o.state_dir = optarg;
			break;
		case 'g':
			d.o.group = optarg;
			break;
		case 'f':
			d.o.foreground = 1;
			break;
		case 'v':
			d.o.verbose++;
			break;
		case 'R':
			if (parse_size(optarg, &d.o.audit_rotate)) {
				fprintf(stderr,
					"ipgated: --audit-rotate: \"%s\" "
					"is not a size such as 10M\n",
					optarg);
				return 2;
			}
			break;
		case 'K':
			errno = 0;
			d.o.audit_keep = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg ||
			    d.o.audit_keep > IPG_AUDIT_KEEP_MAX) {
				fprintf(stderr,
					"ipgated: --audit-keep: expected "
					"0 to %d\n",
					IPG_AUDIT_KEEP_MAX);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipgated: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	ipg_log_set_ident("ipgated");
	ipg_log_set_level(d.o.verbose);
	d.lfd = d.lock_fd = d.kfd = d.epfd = -1;
	for (int i = 0; i < CONNS_MAX; i++)
		d.conns[i].fd = -1;
	if (!d.o.foreground && daemonize(&ready_fd)) {
		pr_warn("cannot go to the background: %s", strerror(errno));
		return 1;
	}
	r = start(&d);
	if (!r)
		r = setup_loop(&d);
	if (ready_fd >= 0) {
		char c = r ? 1 : 0;

		if (write(ready_fd, &c, 1) != 1)
			r = r ? r : -EIO;
		close(ready_fd);
		if (!r) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(null, 1);
			if (null > 2)
				close(null);
		}
	}
	if (r) {
		pr_warn("not started: %s", strerror(-r));
		return 1;
	}
	run(&d);
	/* The filter stays attached and enforcing; only userspace state and
	 * the socket go. */
	unlink(d.o.socket);
	ipg_audit_close(&d.audit);
	ipg_datapath_close(d.dp);
	ipg_config_free(&d.cfg);
	free(d.cfg_text);
	return 0;
}
