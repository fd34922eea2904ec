// SPDX-License-Identifier: GPL-2.0
/* Break-glass: onboarding keys, knocks judged by libipgate, grants in the
 * kernel and their end. */
#include "daemon.h"

static void key_path(struct daemon *d, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/%s.key", d->keys_dir, id);
}

/* A key's scope is ID.list beside ID.key, holding a list name: its grants
 * open only that list's addresses. No such file: every list. */
static void scope_path(struct daemon *d, const char *id, char *out, size_t size)
{
	snprintf(out, size, "%s/%s.list", d->keys_dir, id);
}

/* The list key @id is scoped to, into @name ("" for every list); 0, or
 * -EINVAL when the scope file cannot be read or names no list. */
static int key_scope(struct daemon *d, const char *id,
		     char name[IPG_LIST_NAME_MAX + 1])
{
	char path[PATH_MAX];
	struct ipg_buf b = { 0 };
	int r;

	*name = '\0';
	scope_path(d, id, path, sizeof(path));
	r = ipg_read_file(path, 256, &b);
	if (r == -ENOENT)
		return 0;
	if (!r) {
		b.s[strcspn(b.s, "\n")] = '\0';
		r = ipg_list_name_ok(b.s) ? 0 : -EINVAL;
		if (!r)
			snprintf(name, IPG_LIST_NAME_MAX + 1, "%s", b.s);
	}
	ipg_buf_free(&b);
	return r ? -EINVAL : 0;
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

/* Writes key @id's scope file for list @list (NULL: none). */
static int write_scope(struct daemon *d, const char *id, const char *list)
{
	char path[PATH_MAX], text[IPG_LIST_NAME_MAX + 2];

	if (!list)
		return 0;
	scope_path(d, id, path, sizeof(path));
	snprintf(text, sizeof(text), "%s\n", list);
	return ipg_write_atomic(path, text, strlen(text), 0600);
}

static int bg_keygen(struct req *q)
{
	struct daemon *d = q->d;
	const char *id = ipg_ctl_get(q->m, "id"),
		   *list = ipg_ctl_get(q->m, "list");
	uint8_t key[IPG_KNOCK_KEY_BYTES], rnd[4];
	char gen[IPG_KNOCK_ID_MAX + 1], path[PATH_MAX];
	char line[160], after[160];
	struct ipg_error e;
	uint32_t lid;
	int r = 0;

	if (list && !*list)
		return reply_err(q, -EINVAL,
				 "--list needs a list's name; leave it out for "
				 "a key that opens every list");
	if (list && !strcmp(list, "default"))
		return reply_err(q, -EINVAL,
				 "a key scoped to the default list would open "
				 "every address no named list guards; leave "
				 "out --list for a key that opens every list, "
				 "or name a customer's list");
	if (list && req_list(q, &list, &lid))
		return -ENOENT;

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
	/* The scope first: a key is never usable wider than asked. */
	r = write_scope(d, id, list);
	if (!r)
		r = ipg_write_atomic(path, line, strlen(line), 0600);
	line[strlen(line) - 1] = '\0';
	if (r) {
		char sp[PATH_MAX];

		scope_path(d, id, sp, sizeof(sp));
		unlink(sp);
		return reply_errf(q, r, "cannot write %s: %s", path,
				  strerror(-r));
	}
	if (list)
		snprintf(after, sizeof(after),
			 "{\"key\":\"%s\",\"list\":\"%s\"}", id, list);
	else
		snprintf(after, sizeof(after), "{\"key\":\"%s\"}", id);
	r = ipg_audit_append_list(&d->audit, &q->who, "breakglass-keygen", list,
				  NULL, after, &e);
	if (r) {
		char sp[PATH_MAX];

		unlink(path);
		scope_path(d, id, sp, sizeof(sp));
		unlink(sp);
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
	if (ipg_datapath_ungrant(d->dp, &g->addr, g->list_id) &&
	    errno != ENOENT)
		pr_warn("cannot remove the grant of %s", addr);
	snprintf(before, sizeof(before), "{\"address\":\"%s\",\"key\":\"%s\"}",
		 addr, key);
	snprintf(after, sizeof(after), "{\"address\":null,\"how\":\"%s\"}",
		 how);
	if (ipg_audit_append_list(&d->audit, &who, "breakglass-expire",
				  g->list_id == IPG_LIST_ANY ?
					  NULL :
					  ipg_datapath_list_name(d->dp,
								 g->list_id),
				  before, after, &e))
		pr_warn("%s", e.msg);
	pr_info("break-glass grant of %s ended (%s)", addr, how);
}

void grants_end_list(struct daemon *d, uint32_t id, const char *how)
{
	struct ipg_grant *g = d->grant_buf;
	int n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_READ);

	for (int i = 0; i < n; i++)
		if (g[i].list_id == id)
			grant_end(d, &g[i], how);
}

static int bg_revoke(struct req *q)
{
	struct daemon *d = q->d;
	const char *id = ipg_ctl_get(q->m, "id");
	struct ipg_grant *g = d->grant_buf;
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
	{
		char scope[IPG_LIST_NAME_MAX + 1];

		/* A scoped key's revoke is in its list's trail. */
		r = ipg_audit_append_list(
			&d->audit, &q->who, "breakglass-revoke",
			key_scope(d, id, scope) ? NULL : scope, before,
			"{\"key\":null}", &e);
	}
	if (r)
		return reply_err(q, r, e.msg);
	if (unlink(path))
		return reply_errf(q, -errno, "cannot remove %s: %s", path,
				  strerror(errno));
	scope_path(d, id, path, sizeof(path));
	unlink(path);
	/* Grants made with the key end with it, whichever daemon made them:
	 * the grant map records the key. */
	n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_READ);
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

/* The key files in the keys dir, by id, with when each was made. */
static void bg_keys(struct daemon *d, struct ipg_print *p)
{
	DIR *dir = opendir(d->keys_dir);
	struct dirent *de;
	int n = 0;

	ipg_print_text(p, "break-glass keys\n");
	ipg_print_open_array(p, "keys");
	while (dir && (de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char path[PATH_MAX], when[64], id[256];
		struct stat st;

		if (len < 5 || strcmp(de->d_name + len - 4, ".key"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->keys_dir, de->d_name);
		if (stat(path, &st))
			continue;
		snprintf(id, sizeof(id), "%.*s", (int)len - 4, de->d_name);
		format_utc(st.st_mtime, when, sizeof(when));
		ipg_print_open_object(p, NULL);
		ipg_print_string(p, IPG_PR_ANY | IPG_PR_SAFE, "id", "  %-32s",
				 id);
		ipg_print_string(p, IPG_PR_ANY, "created", " created %s", when);
		{
			char scope[IPG_LIST_NAME_MAX + 1];
			int bad = key_scope(d, id, scope);

			ipg_print_string(p, IPG_PR_ANY, "list", ", list %s",
					 bad	? "?" :
					 *scope ? scope :
						  NULL);
			ipg_print_text(p, "\n");
		}
		ipg_print_close_object(p);
		n++;
	}
	if (dir)
		closedir(dir);
	ipg_print_close_array(p);
	if (!n)
		ipg_print_text(
			p, "  none ('ipgate breakglass keygen' makes one)\n");
}

/* The live grants, with the time each has left and the key that made it. */
static void bg_grants(struct daemon *d, struct ipg_print *p)
{
	struct ipg_grant *g = d->grant_buf;
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_READ), live = 0;

	ipg_print_text(p, "break-glass grants\n");
	ipg_print_open_array(p, "grants");
	for (int i = 0; i < n; i++) {
		char addr[IPG_PREFIX_STRLEN], left[32];
		const char *key =
			ipg_knock_id_valid(g[i].key_id) ? g[i].key_id : "?";
		uint64_t secs;

		if (g[i].expiry_ns <= now)
			continue;
		secs = (g[i].expiry_ns - now) / 1000000000ull + 1;
		ipg_prefix_format(&g[i].addr, addr, sizeof(addr));
		format_duration(secs, left, sizeof(left));
		ipg_print_open_object(p, NULL);
		ipg_print_string(p, IPG_PR_ANY, "address", "  %-40s", addr);
		ipg_print_u64(p, IPG_PR_JSON, "seconds_left", NULL, secs);
		ipg_print_text(p, " %s left", left);
		ipg_print_string(p, IPG_PR_ANY, "key", " (key %s", key);
		ipg_print_string(p, IPG_PR_ANY, "list", ", list %s",
				 g[i].list_id == IPG_LIST_ANY ?
					 NULL :
					 ipg_datapath_list_name(d->dp,
								g[i].list_id));
		ipg_print_text(p, ")\n");
		ipg_print_close_object(p);
		live++;
	}
	ipg_print_close_array(p);
	if (!live)
		ipg_print_text(p, "  none\n");
}

/* Lists keys and live grants (text or JSON). */
void bg_render(struct daemon *d, struct ipg_print *p)
{
	bg_keys(d, p);
	bg_grants(d, p);
}

static int bg_list(struct req *q)
{
	struct ipg_print p;

	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	bg_render(q->d, &p);
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

/* The break-glass page's URL, to hand over with key @id: http-public-url,
 * else what http-listen makes. */
static int bg_url(struct req *q)
{
	const struct ipg_http_config *hc = &q->d->cfg.http;
	const char *id = ipg_ctl_get(q->m, "id");
	char path[PATH_MAX], where[IPG_PREFIX_STRLEN + 16];
	char url[IPG_HTTP_PATH_MAX + 32];

	if (!id || !ipg_knock_id_valid(id))
		return reply_errf(
			q, -EINVAL,
			"\"%s\" is not a key id; name the key the URL "
			"goes with: ipgate breakglass url --id ID",
			id ? id : "");
	key_path(q->d, id, path, sizeof(path));
	if (access(path, F_OK))
		return reply_errf(q, -ENOENT,
				  "no break-glass key \"%s\" ('ipgate "
				  "breakglass keygen --id %s' makes one)",
				  id, id);
	if (!hc->addr.family)
		return reply_err(q, -ENOENT,
				 "the HTTP listener is off, so there is no "
				 "break-glass page; set http-listen (and "
				 "http-public-url) in the config");
	if (*hc->public_url) {
		snprintf(url, sizeof(url), "%s/breakglass", hc->public_url);
	} else {
		ipg_http_listen_format(hc, where, sizeof(where));
		snprintf(url, sizeof(url), "%s://%s/breakglass",
			 *hc->tls_cert ? "https" : "http", where);
	}
	ipg_buf_printf(&q->out, "%s\n", url);
	ipg_ctl_set(q->rep, "url", url);
	return 0;
}

int do_breakglass(struct req *q)
{
	const char *op = ipg_ctl_get(q->m, "op");

	if (op && !strcmp(op, "keygen"))
		return bg_keygen(q);
	if (op && !strcmp(op, "list"))
		return bg_list(q);
	if (op && !strcmp(op, "revoke"))
		return bg_revoke(q);
	if (op && !strcmp(op, "url"))
		return bg_url(q);
	return reply_errf(q, -EINVAL,
			  "unknown breakglass operation \"%s\"; "
			  "expected keygen, list, revoke or url",
			  op ? op : "");
}

/* The daemon's refusal counters, by verdict. */
uint64_t *kstat_of(struct daemon *d, enum ipg_knock_verdict v)
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

int bg_grant(struct daemon *d, const char *key_id,
	     const struct ipg_prefix *addr, uint32_t secs, const char *via,
	     struct bg_granted *out, struct ipg_error *e)
{
	char text[IPG_PREFIX_STRLEN], after[360], user[64];
	char scope[IPG_LIST_NAME_MAX + 1];
	uint64_t now = (uint64_t)time(NULL), expiry;
	uint32_t lid = IPG_LIST_ANY;
	int r;

	expiry = ipg_boot_ns() + (uint64_t)secs * 1000000000ull;
	ipg_prefix_format(addr, text, sizeof(text));
	if (key_scope(d, key_id, scope) ||
	    (*scope && ipg_datapath_list_id(d->dp, scope, &lid))) {
		d->kstat.unknown_key++;
		return ipg_fail(e, -ENOENT,
				"break-glass: key %s is scoped to a list that "
				"is not in the config (%s); %s from %s refused",
				key_id,
				*scope ? scope : "unreadable scope file", via,
				text);
	}
	r = ipg_datapath_grant(d->dp, addr, lid, expiry, key_id);
	if (r)
		return ipg_fail(e, r,
				"break-glass: cannot grant %s: %s (at most %d "
				"grants per address family)",
				text, strerror(-r), IPG_GRANTS_MAX);
	format_utc((time_t)(now + secs), out->until, sizeof(out->until));
	snprintf(out->list, sizeof(out->list), "%s", scope);
	snprintf(after, sizeof(after),
		 "{\"address\":\"%s\",\"until\":\"%s\","
		 "\"seconds\":%u,\"key\":\"%s\"%s%s%s,\"via\":\"%s\"}",
		 text, out->until, secs, key_id, *scope ? ",\"list\":\"" : "",
		 scope, *scope ? "\"" : "", via);
	snprintf(user, sizeof(user), "breakglass:%s", key_id);
	struct ipg_actor who = {
		.uid = getuid(), .pid = getpid(), .user = user, .client = text
	};
	r = ipg_audit_append_list(&d->audit, &who, "breakglass-grant", scope,
				  NULL, after, e);
	if (r) {
		char why[sizeof(e->msg)];

		/* Nothing runs unaudited. */
		ipg_datapath_ungrant(d->dp, addr, lid);
		snprintf(why, sizeof(why), "%s", e->msg);
		return ipg_fail(e, r, "break-glass: %s; grant of %s withdrawn",
				why, text);
	}
	d->kstat.granted++;
	log_event(d, IPG_LOG_INFO, "breakglass-grant",
		  (const char *const[]){ out->list }, *out->list ? 1 : 0,
		  "break-glass: %s may reach the protected ports until %s (key "
		  "%s, by %s)",
		  text, out->until, key_id, via);
	return 0;
}

/* One datagram on the break-glass port. Every refusal is silent: no reply
 * says which check failed. The order of the checks, the nonce cache and the
 * rate limit are libipgate's (ipg_knock_judge). */
static void knock(struct daemon *d, const uint8_t *buf, size_t len,
		  const struct sockaddr_in6 *from)
{
	struct ipg_prefix src;
	struct ipg_knock k;
	struct ipg_error e;
	struct bg_granted g;
	uint64_t now = (uint64_t)time(NULL);
	enum ipg_knock_verdict v;
	int r;

	if (ipg_prefix_from_sockaddr((const struct sockaddr *)from, &src))
		return;
	v = ipg_knock_judge(&d->kgate, now, buf, len, &src, key_load, d, &k);
	if (v != IPG_KNOCK_GRANTED) {
		(*kstat_of(d, v))++;
		return;
	}
	if (bg_grant(d, k.key_id, &src, ipg_knock_grant_seconds(&k), "knock",
		     &g, &e)) {
		pr_warn("%s", e.msg);
		return;
	}
	/* A copy of this knock is a replay after a restart too. */
	r = ipg_knock_gate_save(&d->kgate, now, d->nonces_path);
	if (r)
		pr_warn("break-glass: cannot keep the nonce in %s: %s; a copy "
			"of this knock could be replayed after a restart "
			"within %d s",
			d->nonces_path, strerror(-r), IPG_KNOCK_SKEW_S);
}

enum ipg_knock_verdict bg_judge_key(struct daemon *d, const char *text,
				    const struct ipg_prefix *from,
				    char id[IPG_KNOCK_ID_MAX + 1])
{
	enum ipg_knock_verdict v = ipg_knock_judge_key(
		&d->kgate, (uint64_t)time(NULL), text, from, key_load, d, id);

	if (v != IPG_KNOCK_GRANTED)
		(*kstat_of(d, v))++;
	return v;
}

void knock_memory_load(struct daemon *d)
{
	struct ipg_error e;

	snprintf(d->nonces_path, sizeof(d->nonces_path), "%s/nonces",
		 d->keys_dir);
	if (ipg_knock_gate_load(&d->kgate, (uint64_t)time(NULL), d->nonces_path,
				&e))
		pr_warn("break-glass: %s; knocks granted before this start "
			"are not remembered",
			e.msg);
}

void on_knock(struct daemon *d)
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
int knock_listen(struct daemon *d)
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
void grants_check(struct daemon *d)
{
	struct ipg_grant *g = d->grant_buf;
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_READ);

	for (int i = 0; i < n; i++)
		if (g[i].expiry_ns <= now)
			grant_end(d, &g[i], "expired");
}

/* The live grants, for the reference model. */
size_t live_grants(struct daemon *d, struct ipg_prefix *out, uint32_t *lists)
{
	struct ipg_grant *g = d->grant_buf;
	uint64_t now = ipg_boot_ns();
	int n = ipg_datapath_grants(d->dp, g, IPG_GRANTS_READ);
	size_t k = 0;

	for (int i = 0; i < n; i++)
		if (g[i].expiry_ns > now) {
			if (lists)
				lists[k] = g[i].list_id;
			out[k++] = g[i].addr;
		}
	return k;
}
