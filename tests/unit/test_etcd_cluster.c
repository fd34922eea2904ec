// SPDX-License-Identifier: GPL-2.0
/* The etcd client against a real etcd (Debian's etcd-server 3.4): three
 * members on 127.0.0.1, client ports 23791-23793, peer ports 23891-23893,
 * data in a temporary directory. A supervising parent removes the members
 * and the directory however the tests end. Members are killed, stopped
 * and restarted here to show what the client does then. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "harness.h"
#include "log.h"

#define N_MEMBERS 3
#define CLIENT_PORT 23791
#define PEER_PORT 23891
/* Generous bounds: a busy machine is slow, a fast one never waits them. */
#define WAIT_MS 30000

static char dir[64];
static pid_t pids[N_MEMBERS];
static char urls[N_MEMBERS][32];

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Runs @argv with output to @log; dies with its parent. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid = fork();
	int fd;

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setenv("ETCDCTL_API", "3", 1);
	execvp(argv[0], argv);
	fprintf(stderr, "cannot run %s: %s; run scripts/deps.sh --test\n",
		argv[0], strerror(errno));
	_exit(127);
}

static void member_start(int i)
{
	char name[8], data[96], client[32], peer[32], cluster[256], log[96];
	char *argv[] = {
		"etcd",
		"--name",
		name,
		"--data-dir",
		data,
		"--listen-client-urls",
		client,
		"--advertise-client-urls",
		client,
		"--listen-peer-urls",
		peer,
		"--initial-advertise-peer-urls",
		peer,
		"--initial-cluster",
		cluster,
		"--initial-cluster-state",
		"new",
		"--initial-cluster-token",
		"ipgate-test",
		/* A restart then loses the tokens (they live in memory and
		 * come back only from entries replayed after a snapshot). */
		"--snapshot-count",
		"10",
		"--experimental-watch-progress-notify-interval",
		"500ms",
		NULL,
	};
	size_t used = 0;

	snprintf(name, sizeof(name), "m%d", i + 1);
	snprintf(data, sizeof(data), "%s/m%d", dir, i + 1);
	snprintf(client, sizeof(client), "http://127.0.0.1:%d",
		 CLIENT_PORT + i);
	snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", PEER_PORT + i);
	snprintf(log, sizeof(log), "%s/m%d.log", dir, i + 1);
	for (int j = 0; j < N_MEMBERS; j++)
		used += (size_t)snprintf(cluster + used, sizeof(cluster) - used,
					 "%sm%d=http://127.0.0.1:%d",
					 j ? "," : "", j + 1, PEER_PORT + j);
	pids[i] = spawn(argv, log);
}

/* Stops member @i with @sig and reaps it (SIGKILL after 15 s). */
static void member_stop(int i, int sig)
{
	if (pids[i] <= 0)
		return;
	kill(pids[i], sig);
	for (int t = 0; t < 1500; t++) {
		if (waitpid(pids[i], NULL, WNOHANG) == pids[i]) {
			pids[i] = 0;
			return;
		}
		usleep(10000);
	}
	kill(pids[i], SIGKILL);
	waitpid(pids[i], NULL, 0);
	pids[i] = 0;
}

/* Whether every thread of @pid is stopped: kill() returns before they
 * all are, and a running one may still answer. */
static bool all_stopped(pid_t pid)
{
	char path[320], stat[512], *p;
	struct dirent *d;
	bool stopped = true;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (stopped && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* "tid (comm) S ...": the state follows the last ')' */
		if (fgets(stat, sizeof(stat), f) && (p = strrchr(stat, ')')))
			stopped = p[1] == ' ' && p[2] == 'T';
		fclose(f);
	}
	closedir(dir);
	return stopped;
}

/* Stops member @i (SIGSTOP) and returns once all its threads are. */
static void member_freeze(int i)
{
	kill(pids[i], SIGSTOP);
	for (int t = 0; t < 1000 && !all_stopped(pids[i]); t++)
		usleep(10000);
	if (!all_stopped(pids[i]))
		harness_fail(__FILE__, __LINE__, "m%d did not stop", i + 1);
}

/* What one request's callback saw, copied out. */
struct call {
	bool done;
	int err, endpoint;
	char msg[600];
	int64_t rev;
	uint64_t member;
	bool succeeded;
	size_t n_kvs, n_replies;
	struct {
		char key[64], value[300];
		size_t value_len;
		int64_t mod;
		uint64_t lease;
	} kvs[8];
	int64_t count;
	struct ipg_etcd_op_reply reply0; /* its kvs pointer not kept */
	char reply0_value[64];
	uint64_t lease, leader;
	int64_t ttl;
	char status_error[256];
};

static void copy_kvs(struct call *k, const struct ipg_etcd_kv *kvs, size_t n)
{
	k->n_kvs = n;
	for (size_t i = 0; i < n && i < 8; i++) {
		snprintf(k->kvs[i].key, sizeof(k->kvs[i].key), "%s",
			 kvs[i].key);
		k->kvs[i].value_len = kvs[i].value_len;
		memcpy(k->kvs[i].value, kvs[i].value,
		       kvs[i].value_len < 299 ? kvs[i].value_len + 1 : 299);
		k->kvs[i].mod = kvs[i].mod_revision;
		k->kvs[i].lease = kvs[i].lease;
	}
}

static void on_done(struct ipg_etcd *c, const struct ipg_etcd_result *r,
		    void *arg)
{
	struct call *k = arg;

	(void)c;
	k->done = true;
	k->err = r->err;
	k->endpoint = r->endpoint;
	snprintf(k->msg, sizeof(k->msg), "%s", r->message);
	k->rev = r->revision;
	k->member = r->member_id;
	k->succeeded = r->succeeded;
	copy_kvs(k, r->reply.kvs, r->reply.n_kvs);
	k->count = r->reply.count;
	k->n_replies = r->n_replies;
	if (r->n_replies) {
		k->reply0 = r->replies[0];
		if (r->replies[0].n_kvs)
			snprintf(k->reply0_value, sizeof(k->reply0_value), "%s",
				 (char *)r->replies[0].kvs[0].value);
	}
	k->lease = r->lease;
	k->ttl = r->ttl;
	k->leader = r->leader;
	snprintf(k->status_error, sizeof(k->status_error), "%s",
		 r->status_error ? r->status_error : "");
}

/* Waits for the request just submitted (@err: what submitting said). */
static void wait_call(struct ipg_etcd *c, struct call *k, int err, int line)
{
	if (err)
		harness_fail(__FILE__, line, "submitting failed: %s",
			     strerror(-err));
	else if (ipg_etcd_wait(c, WAIT_MS) || !k->done)
		harness_fail(__FILE__, line, "no answer in %d ms", WAIT_MS);
}

/* SYNC(c, k, request): runs it to its end, its result in k. */
#define SYNC(c, k, req)                    \
	CHECK((memset(&(k), 0, sizeof(k)), \
	       wait_call((c), &(k), (req), __LINE__)))
#define ASSERT_DONE_OK(k)                                    \
	do {                                                 \
		if ((k).err)                                 \
			FAIL("expected success, got %s: %s", \
			     strerror(-(k).err), (k).msg);   \
	} while (0)

/* A client of the members listed in @order (-1 ends it). */
static struct ipg_etcd *client_opts(const int *order, const char *user,
				    const char *password, size_t max_reply,
				    int timeout_ms)
{
	const char *eps[N_MEMBERS];
	struct ipg_etcd_opts o = {
		.endpoints = eps,
		.prefix = "/ipgate-test/",
		.user = user,
		.password = password,
		.max_reply = max_reply,
		.timeout_ms = timeout_ms,
	};
	struct ipg_error e = { { 0 } };
	struct ipg_etcd *c;

	while (o.n_endpoints < N_MEMBERS && order[o.n_endpoints] >= 0) {
		eps[o.n_endpoints] = urls[order[o.n_endpoints]];
		o.n_endpoints++;
	}
	c = ipg_etcd_new(&o, &e);
	if (!c)
		harness_fail(__FILE__, __LINE__, "ipg_etcd_new: %s", e.msg);
	return c;
}

static struct ipg_etcd *client(const int *order)
{
	return client_opts(order, NULL, NULL, 0, 0);
}

/* Member @i's status, asked of it alone. */
static void status_of(int i, struct call *k)
{
	int only[] = { i, -1 };
	struct ipg_etcd *c = client_opts(only, NULL, NULL, 0, 1000);

	memset(k, 0, sizeof(*k));
	if (!c) {
		k->err = -ENOMEM;
		return;
	}
	if (ipg_etcd_status(c, 0, on_done, k) || ipg_etcd_wait(c, WAIT_MS))
		k->err = -ETIMEDOUT;
	ipg_etcd_free(c);
}

/* Whether member @i answers and has a leader. */
static bool member_ready(int i)
{
	struct call k;

	status_of(i, &k);
	return !k.err && k.leader && !k.status_error[0];
}

static int wait_ready(int i)
{
	for (long long end = now_us() + WAIT_MS * 1000LL; now_us() < end;) {
		if (member_ready(i))
			return 0;
		usleep(50000);
	}
	fprintf(stderr,
		"etcd member m%d on port %d not ready in %d ms; see "
		"%s/m%d.log (a port in use?)\n",
		i + 1, CLIENT_PORT + i, WAIT_MS, dir, i + 1);
	return -ETIMEDOUT;
}

static void member_restart(int i)
{
	member_stop(i, SIGTERM);
	member_start(i);
	if (wait_ready(i))
		harness_fail(__FILE__, __LINE__, "m%d did not come back",
			     i + 1);
}

/* Every member running and ready again, whatever a test did to them. */
static void heal(void)
{
	for (int i = 0; i < N_MEMBERS; i++) {
		if (pids[i] <= 0)
			member_start(i);
		kill(pids[i], SIGCONT);
	}
	for (int i = 0; i < N_MEMBERS; i++)
		if (wait_ready(i))
			harness_fail(__FILE__, __LINE__, "m%d is not ready",
				     i + 1);
}

/* The index of the leader, or -1. */
static int leader(void)
{
	struct call k[N_MEMBERS];

	for (int i = 0; i < N_MEMBERS; i++)
		status_of(i, &k[i]);
	for (int i = 0; i < N_MEMBERS; i++)
		for (int j = 0; j < N_MEMBERS; j++)
			if (!k[j].err && k[j].leader &&
			    k[j].leader == k[i].member)
				return i;
	return -1;
}

/* Two members that are not the leader, for killing without an election. */
static void followers(int *a, int *b)
{
	int l = leader();

	*a = (l + 1) % N_MEMBERS;
	*b = (l + 2) % N_MEMBERS;
	if (l < 0)
		harness_fail(__FILE__, __LINE__, "the cluster has no leader");
}

static int etcdctl(const char *a1, const char *a2, const char *a3)
{
	char ep[64], log[96];
	char *argv[] = {
		"etcdctl", ep, (char *)a1, (char *)a2, (char *)a3, NULL
	};
	int st;
	pid_t pid;

	snprintf(ep, sizeof(ep), "--endpoints=%s", urls[0]);
	snprintf(log, sizeof(log), "%s/etcdctl.log", dir);
	pid = spawn(argv, log);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The owner's event loop: epoll over the clients' fds, bounded by their
 * timeouts, until @done says so or @ms pass. */
static int loop_until(struct ipg_etcd *const *cs, int n, bool (*done)(void *),
		      void *arg, int ms)
{
	struct epoll_event ev = { .events = EPOLLIN };
	long long end = now_us() + ms * 1000LL;
	int ep = epoll_create1(EPOLL_CLOEXEC), rc = -ETIMEDOUT;

	for (int i = 0; i < n; i++) {
		ev.data.u32 = (unsigned)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, ipg_etcd_fd(cs[i]), &ev);
	}
	while (now_us() < end) {
		int wait = (int)((end - now_us()) / 1000) + 1;

		if (done(arg)) {
			rc = 0;
			break;
		}
		for (int i = 0; i < n; i++) {
			int t = ipg_etcd_timeout_ms(cs[i]);

			if (t >= 0 && t < wait)
				wait = t;
		}
		epoll_wait(ep, &ev, 1, wait);
		for (int i = 0; i < n; i++)
			ipg_etcd_run(cs[i]);
	}
	close(ep);
	return rc;
}

/* What a watch delivered. */
struct rec {
	int n_events;
	struct {
		bool deleted;
		char key[32], value[32];
		int64_t mod;
		long long at_us;
	} ev[256];
	int created, progress, terminal;
	struct ipg_etcd_watch_status last;
	char msg[600];
	int want; /* events to wait for */
};

static void on_events(struct ipg_etcd_watch *w, const struct ipg_etcd_event *e,
		      size_t n, void *arg)
{
	struct rec *r = arg;

	(void)w;
	for (size_t i = 0; i < n && r->n_events < 256; i++, r->n_events++) {
		r->ev[r->n_events].deleted = e[i].deleted;
		snprintf(r->ev[r->n_events].key, 32, "%s", e[i].kv.key);
		snprintf(r->ev[r->n_events].value, 32, "%s",
			 (char *)e[i].kv.value);
		r->ev[r->n_events].mod = e[i].kv.mod_revision;
		r->ev[r->n_events].at_us = now_us();
	}
}

static void on_status(struct ipg_etcd_watch *w,
		      const struct ipg_etcd_watch_status *s, void *arg)
{
	struct rec *r = arg;

	(void)w;
	r->last = *s;
	snprintf(r->msg, sizeof(r->msg), "%s", s->message ? s->message : "");
	r->last.message = r->msg;
	if (s->state == IPG_ETCD_WATCH_CREATED)
		r->created++;
	else if (s->state == IPG_ETCD_WATCH_PROGRESS)
		r->progress++;
	else
		r->terminal++;
}

static bool got_events(void *arg)
{
	struct rec *r = arg;

	return r->n_events >= r->want || r->terminal;
}

static bool got_created(void *arg)
{
	return ((struct rec *)arg)->created > 0 ||
	       ((struct rec *)arg)->terminal;
}

static bool got_terminal(void *arg)
{
	return ((struct rec *)arg)->terminal > 0;
}

static bool got_progress(void *arg)
{
	return ((struct rec *)arg)->progress > 0 ||
	       ((struct rec *)arg)->terminal;
}

static int start_watch(struct ipg_etcd *c, const char *key, int64_t from,
		       struct rec *r, struct ipg_etcd_watch **w)
{
	struct ipg_etcd_watch_opts o = {
		.key = key,
		.prefix = true,
		.start_revision = from,
		.progress_notify = true,
		.idle_timeout_s = 3,
		.on_events = on_events,
		.on_status = on_status,
		.arg = r,
	};

	return ipg_etcd_watch(c, &o, w);
}

#define PUT(c, k, key, val) \
	SYNC(c, k, ipg_etcd_put(c, key, val, strlen(val), 0, on_done, &(k)))

TEST(test_put_range_and_prefix_range)
{
	int order[] = { 0, 1, 2, -1 };
	struct ipg_etcd *c = client(order);
	static const char bin[] = { 'a', 0, (char)0xff, '\n', 'z' };
	struct call k, a;

	ASSERT_TRUE(c);
	PUT(c, a, "t1/a", "one");
	ASSERT_DONE_OK(a);
	PUT(c, k, "t1/b", "two");
	SYNC(c, k,
	     ipg_etcd_put(c, "t1/c/bin", bin, sizeof(bin), 0, on_done, &k));
	ASSERT_DONE_OK(k);
	SYNC(c, k, ipg_etcd_range(c, "t1/a", false, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.n_kvs, 1);
	ASSERT_STR(k.kvs[0].key, "t1/a");
	ASSERT_STR(k.kvs[0].value, "one");
	ASSERT_EQ(k.kvs[0].mod, a.rev);
	SYNC(c, k, ipg_etcd_range(c, "t1/", true, on_done, &k));
	ASSERT_EQ(k.n_kvs, 3);
	ASSERT_STR(k.kvs[1].key, "t1/b");
	ASSERT_EQ(k.kvs[2].value_len, sizeof(bin));
	ASSERT_TRUE(!memcmp(k.kvs[2].value, bin, sizeof(bin)));
	/* "t1/" as a prefix does not take "t1" or "t10" */
	PUT(c, k, "t10", "x");
	SYNC(c, k, ipg_etcd_range(c, "t1/", true, on_done, &k));
	ASSERT_EQ(k.count, 3);
	SYNC(c, k, ipg_etcd_range(c, "t1/none", false, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.n_kvs, 0);
	ASSERT_TRUE(k.rev >= a.rev);
	SYNC(c, k, ipg_etcd_delete(c, "t1/", true, on_done, &k));
	ASSERT_EQ(k.count, 3);
	ipg_etcd_free(c);
}

/* A txn that puts @val on @key if its mod_revision is still @rev, and
 * reads it otherwise. */
static int cas(struct ipg_etcd *c, const char *key, int64_t rev,
	       const char *val, struct call *k)
{
	struct ipg_etcd_cmp cmp = { key, IPG_ETCD_MOD, IPG_ETCD_EQUAL, rev };
	struct ipg_etcd_op put = { IPG_ETCD_OP_PUT, key, false, val,
				   strlen(val) };
	struct ipg_etcd_op get = { IPG_ETCD_OP_RANGE, key };
	struct ipg_etcd_txn t = { &cmp, 1, &put, &get, 1, 1 };

	memset(k, 0, sizeof(*k));
	return ipg_etcd_txn(c, &t, on_done, k);
}

TEST(test_txn_on_mod_revision_wins_then_loses_the_race)
{
	int o1[] = { 0, -1 }, o2[] = { 1, -1 };
	struct ipg_etcd *c1 = client(o1), *c2 = client(o2);
	struct call k, a, b;
	int64_t base;

	ASSERT_TRUE(c1 && c2);
	PUT(c1, k, "t2/list", "v1");
	base = k.rev;
	CHECK(wait_call(c1, &a, cas(c1, "t2/list", base, "v2", &a), __LINE__));
	ASSERT_DONE_OK(a);
	ASSERT_TRUE(a.succeeded);
	ASSERT_TRUE(a.rev > base);
	/* the second writer, on another member, still at base */
	CHECK(wait_call(c2, &b, cas(c2, "t2/list", base, "v3", &b), __LINE__));
	ASSERT_DONE_OK(b);
	ASSERT_TRUE(!b.succeeded);
	ASSERT_EQ(b.n_replies, 1);
	ASSERT_EQ(b.reply0.type, IPG_ETCD_OP_RANGE);
	ASSERT_STR(b.reply0_value, "v2");
	/* two at once on the same revision: exactly one wins */
	ASSERT_OK(cas(c1, "t2/list", a.rev, "v4", &a));
	ASSERT_OK(cas(c2, "t2/list", a.rev, "v5", &b));
	ASSERT_OK(ipg_etcd_wait(c1, WAIT_MS));
	ASSERT_OK(ipg_etcd_wait(c2, WAIT_MS));
	ASSERT_TRUE(a.done && b.done && !a.err && !b.err);
	ASSERT_EQ(a.succeeded + b.succeeded, 1);
	SYNC(c1, k, ipg_etcd_range(c1, "t2/list", false, on_done, &k));
	ASSERT_STR(k.kvs[0].value, a.succeeded ? "v4" : "v5");
	ipg_etcd_free(c1);
	ipg_etcd_free(c2);
}

TEST(test_watch_gets_events_made_on_another_member)
{
	int o1[] = { 0, -1 }, o2[] = { 1, -1 };
	struct ipg_etcd *wr = client(o1), *wa = client(o2);
	struct ipg_etcd *both[] = { wr, wa };
	struct ipg_etcd_watch *w = NULL;
	static struct rec r;
	struct call k;

	ASSERT_TRUE(wr && wa);
	memset(&r, 0, sizeof(r));
	PUT(wr, k, "t3/a", "before");
	ASSERT_OK(start_watch(wa, "t3/", k.rev + 1, &r, &w));
	PUT(wr, k, "t3/a", "1");
	PUT(wr, k, "t3/b", "2");
	SYNC(wr, k, ipg_etcd_delete(wr, "t3/a", false, on_done, &k));
	r.want = 3;
	ASSERT_OK(loop_until(both, 2, got_events, &r, WAIT_MS));
	ASSERT_EQ(r.terminal, 0);
	ASSERT_EQ(r.created, 1);
	ASSERT_EQ(r.n_events, 3);
	ASSERT_TRUE(!r.ev[0].deleted && !strcmp(r.ev[0].key, "t3/a") &&
		    !strcmp(r.ev[0].value, "1"));
	ASSERT_TRUE(!r.ev[1].deleted && !strcmp(r.ev[1].value, "2"));
	ASSERT_TRUE(r.ev[2].deleted && !strcmp(r.ev[2].key, "t3/a"));
	ASSERT_EQ(r.ev[2].mod, k.rev);
	ASSERT_EQ(ipg_etcd_watch_revision(w), k.rev);
	/* idle, it hears progress at the last revision */
	ASSERT_OK(loop_until(both, 2, got_progress, &r, WAIT_MS));
	ASSERT_EQ(r.last.state, IPG_ETCD_WATCH_PROGRESS);
	ASSERT_TRUE(r.last.revision >= k.rev);
	ipg_etcd_watch_free(w);
	ipg_etcd_free(wr);
	ipg_etcd_free(wa);
}

TEST(test_watch_from_a_compacted_revision_says_compacted)
{
	int order[] = { 0, 1, 2, -1 };
	struct ipg_etcd *c = client(order);
	struct ipg_etcd_watch *w = NULL;
	static struct rec r;
	struct call k, first, last;

	ASSERT_TRUE(c);
	memset(&r, 0, sizeof(r));
	PUT(c, first, "t4/k", "1");
	PUT(c, k, "t4/k", "2");
	PUT(c, last, "t4/k", "3");
	SYNC(c, k, ipg_etcd_compact(c, last.rev, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_OK(start_watch(c, "t4/", first.rev, &r, &w));
	ASSERT_OK(loop_until(&c, 1, got_terminal, &r, WAIT_MS));
	ASSERT_EQ(r.last.state, IPG_ETCD_WATCH_COMPACTED);
	ASSERT_EQ(r.last.err, -ERANGE);
	ASSERT_EQ(r.last.compact_revision, last.rev);
	ASSERT_TRUE(!ipg_etcd_watch_running(w));
	/* the owner reads everything again, then watches from there */
	SYNC(c, k, ipg_etcd_range(c, "t4/", true, on_done, &k));
	ASSERT_STR(k.kvs[0].value, "3");
	r.created = r.terminal = 0;
	ASSERT_OK(ipg_etcd_watch_restart(w, k.rev + 1));
	ASSERT_OK(loop_until(&c, 1, got_created, &r, WAIT_MS));
	PUT(c, k, "t4/k", "4");
	r.want = 1;
	ASSERT_OK(loop_until(&c, 1, got_events, &r, WAIT_MS));
	ASSERT_EQ(r.n_events, 1);
	ASSERT_STR(r.ev[0].value, "4");
	ipg_etcd_watch_free(w);
	ipg_etcd_free(c);
}

static void put_values(struct ipg_etcd *c, const char *key, int from, int to)
{
	char v[16];
	struct call k;

	for (int i = from; i <= to; i++) {
		snprintf(v, sizeof(v), "%d", i);
		PUT(c, k, key, v);
		ASSERT_DONE_OK(k);
	}
}

/* Ends the watch's stream by stopping member @m with @sig; the owner
 * must hear @want (a text in the message). */
static void stream_ends(struct ipg_etcd *const *both, struct rec *r, int m,
			int sig, const char *want)
{
	member_stop(m, sig);
	ASSERT_OK(loop_until(both, 2, got_terminal, r, WAIT_MS));
	ASSERT_EQ(r->last.state, IPG_ETCD_WATCH_ENDED);
	if (!strstr(r->msg, want))
		FAIL("m%d stopped by signal %d: expected \"%s\", got %d: %s",
		     m + 1, sig, want, r->last.err, r->msg);
}

/* Resumes the watch; the puts made meanwhile, and the next, must come. */
static void resumed(struct ipg_etcd *const *both, struct ipg_etcd_watch *w,
		    struct rec *r, int endpoint, int upto)
{
	r->terminal = r->created = 0;
	ASSERT_OK(ipg_etcd_watch_resume(w));
	CHECK(put_values(both[0], "t5/k", upto - 4, upto));
	r->want = upto;
	ASSERT_OK(loop_until(both, 2, got_events, r, WAIT_MS));
	ASSERT_EQ(r->terminal, 0);
	ASSERT_EQ(r->last.endpoint, endpoint);
}

static void watch_resume_checks(void)
{
	int f1, f2, l, order[N_MEMBERS + 1], wo[2];
	struct ipg_etcd_watch *w = NULL;
	struct ipg_etcd *wr, *wa;
	static struct rec r;
	struct call k;

	CHECK(followers(&f1, &f2));
	l = 3 - f1 - f2;
	/* the watch on follower f1, then f2, then the leader, which
	 * writes; one follower down at a time keeps the quorum */
	order[0] = f1;
	order[1] = f2;
	order[2] = l;
	order[3] = -1;
	wo[0] = l;
	wo[1] = -1;
	wa = client(order);
	wr = client(wo);
	ASSERT_TRUE(wa && wr);
	struct ipg_etcd *both[] = { wr, wa };

	memset(&r, 0, sizeof(r));
	PUT(wr, k, "t5/k", "0");
	ASSERT_OK(start_watch(wa, "t5/", k.rev + 1, &r, &w));
	ASSERT_OK(loop_until(both, 2, got_created, &r, WAIT_MS));
	ASSERT_EQ(r.last.endpoint, 0);
	CHECK(put_values(wr, "t5/k", 1, 5));
	r.want = 5;
	ASSERT_OK(loop_until(both, 2, got_events, &r, WAIT_MS));
	/* Stopping, f1 says why in a last object without a newline. */
	/* ("transport is closing", "grpc: the client connection is
	 * closing"): its words, not the end of the transfer. */
	CHECK(stream_ends(both, &r, f1, SIGTERM, "is closing"));
	ASSERT_TRUE(r.last.err != -ECONNRESET);
	/* puts 6-10 (made before the stream is back, likely), on f2 */
	CHECK(resumed(both, w, &r, 1, 10));
	member_start(f1);
	ASSERT_OK(wait_ready(f1));
	/* Killed, f2 just ends the transfer. */
	CHECK(stream_ends(both, &r, f2, SIGKILL, "the stream broke"));
	ASSERT_EQ(r.last.err, -ECONNRESET);
	CHECK(resumed(both, w, &r, 2, 15));
	ASSERT_EQ(r.n_events, 15);
	for (int i = 0; i < 15; i++) {
		char want[16];

		snprintf(want, sizeof(want), "%d", i + 1);
		if (strcmp(r.ev[i].value, want))
			FAIL("event %d is \"%s\", expected \"%s\"", i,
			     r.ev[i].value, want);
	}
	ipg_etcd_watch_free(w);
	ipg_etcd_free(wa);
	ipg_etcd_free(wr);
}

TEST(test_watch_resumes_on_another_member_without_losing_events)
{
	watch_resume_checks();
	heal();
}

static void failover_checks(void)
{
	int f1, f2, order[N_MEMBERS + 1], dead[] = { 0, -1 };
	struct ipg_etcd_watch *w = NULL;
	struct ipg_etcd_stats st;
	static struct rec r;
	struct ipg_etcd *c;
	struct call k;

	CHECK(followers(&f1, &f2));
	order[0] = f1;
	order[1] = f2;
	order[2] = 3 - f1 - f2;
	order[3] = -1;
	member_stop(f1, SIGKILL);
	c = client(order);
	ASSERT_TRUE(c);
	PUT(c, k, "t6/k", "v");
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.endpoint, 1);
	SYNC(c, k, ipg_etcd_range(c, "t6/k", false, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.endpoint, 1);
	ipg_etcd_stats(c, &st);
	ASSERT_EQ(st.failovers, 1);
	ipg_etcd_free(c);
	/* a watch starting on the dead endpoint goes to the next */
	c = client(order);
	ASSERT_TRUE(c);
	memset(&r, 0, sizeof(r));
	ASSERT_OK(start_watch(c, "t6/", 0, &r, &w));
	ASSERT_OK(loop_until(&c, 1, got_created, &r, WAIT_MS));
	ASSERT_EQ(r.terminal, 0);
	ASSERT_EQ(r.last.endpoint, 1);
	ipg_etcd_watch_free(w);
	ipg_etcd_free(c);
	/* nothing else to try: refused, naming the endpoint */
	dead[0] = f1;
	c = client(dead);
	ASSERT_TRUE(c);
	PUT(c, k, "t6/k", "w");
	ASSERT_EQ(k.err, -ECONNREFUSED);
	if (!strstr(k.msg, urls[f1]))
		FAIL("\"%s\" does not name %s", k.msg, urls[f1]);
	ipg_etcd_free(c);
}

TEST(test_request_fails_over_from_a_dead_endpoint_and_remembers)
{
	failover_checks();
	heal();
}

static void hung_checks(void)
{
	int f1, f2, order[N_MEMBERS + 1];
	struct ipg_etcd *c;
	struct ipg_etcd_watch *w = NULL;
	static struct rec r;
	struct call k;

	CHECK(followers(&f1, &f2));
	order[0] = f1;
	order[1] = f2;
	order[2] = 3 - f1 - f2;
	order[3] = -1;
	c = client_opts(order, NULL, NULL, 0, 2000);
	ASSERT_TRUE(c);
	memset(&r, 0, sizeof(r));
	ASSERT_OK(start_watch(c, "t11/", 0, &r, &w));
	ASSERT_OK(loop_until(&c, 1, got_progress, &r, WAIT_MS));
	CHECK(member_freeze(f1));
	/* a read waits its timeout on f1, then goes to f2 */
	SYNC(c, k, ipg_etcd_range(c, "t11/", true, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.endpoint, 1);
	status_of(f1, &k);
	ASSERT_EQ(k.err, -ETIMEDOUT);
	/* the watch hears nothing for 3 s and ends */
	ASSERT_OK(loop_until(&c, 1, got_terminal, &r, WAIT_MS));
	ASSERT_EQ(r.last.err, -ETIMEDOUT);
	r.terminal = r.created = 0;
	ASSERT_OK(ipg_etcd_watch_resume(w));
	ASSERT_OK(loop_until(&c, 1, got_created, &r, WAIT_MS));
	ASSERT_EQ(r.last.endpoint, 1);
	ipg_etcd_watch_free(w);
	ipg_etcd_free(c);
}

TEST(test_hung_member_times_out_and_its_watch_ends_when_idle)
{
	hung_checks();
	heal();
}

static bool no_leader(void *arg)
{
	struct call k;

	status_of(*(int *)arg, &k);
	return !k.err && !k.leader && strstr(k.status_error, "no leader");
}

TEST(test_status_shows_a_member_without_quorum)
{
	bool lost = false;
	int f1, f2;

	CHECK(followers(&f1, &f2));
	/* the leader and one follower stop: f2 loses its leader within an
	 * election timeout or so */
	CHECK(member_freeze(f1));
	CHECK(member_freeze(3 - f1 - f2));
	for (long long end = now_us() + WAIT_MS * 1000LL;
	     !lost && now_us() < end;) {
		lost = no_leader(&f2);
		if (!lost)
			usleep(100000);
	}
	heal();
	if (!lost)
		FAIL("m%d kept a leader with the two others stopped", f2 + 1);
}

TEST(test_lease_keepalive_and_revoke_removes_its_key)
{
	int order[] = { 0, 1, 2, -1 };
	struct ipg_etcd *c = client(order);
	struct call k;
	uint64_t lease;

	ASSERT_TRUE(c);
	SYNC(c, k, ipg_etcd_lease_grant(c, 30, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_TRUE(k.lease != 0);
	ASSERT_EQ(k.ttl, 30);
	lease = k.lease;
	SYNC(c, k, ipg_etcd_put(c, "t7/host", "up", 2, lease, on_done, &k));
	ASSERT_DONE_OK(k);
	SYNC(c, k, ipg_etcd_range(c, "t7/host", false, on_done, &k));
	ASSERT_EQ(k.n_kvs, 1);
	ASSERT_TRUE(k.kvs[0].lease == lease);
	SYNC(c, k, ipg_etcd_lease_keepalive(c, lease, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.ttl, 30);
	SYNC(c, k, ipg_etcd_lease_revoke(c, lease, on_done, &k));
	ASSERT_DONE_OK(k);
	SYNC(c, k, ipg_etcd_range(c, "t7/host", false, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_EQ(k.n_kvs, 0);
	SYNC(c, k, ipg_etcd_lease_keepalive(c, lease, on_done, &k));
	ASSERT_EQ(k.err, -ENOENT);
	ipg_etcd_free(c);
}

TEST(test_reply_over_the_size_limit_is_refused)
{
	int order[] = { 0, 1, 2, -1 };
	struct ipg_etcd *big = client(order);
	struct ipg_etcd *c = client_opts(order, NULL, NULL, 1024, 0);
	struct ipg_etcd_watch *w = NULL;
	static struct rec r;
	static char v[4096];
	struct call k;

	ASSERT_TRUE(c && big);
	memset(&r, 0, sizeof(r));
	memset(v, 'x', sizeof(v));
	ASSERT_OK(start_watch(c, "t9/", 0, &r, &w));
	ASSERT_OK(loop_until(&c, 1, got_created, &r, WAIT_MS));
	SYNC(big, k, ipg_etcd_put(big, "t9/big", v, sizeof(v), 0, on_done, &k));
	ASSERT_DONE_OK(k);
	SYNC(c, k, ipg_etcd_range(c, "t9/big", false, on_done, &k));
	ASSERT_EQ(k.err, -EMSGSIZE);
	if (!strstr(k.msg, "passed 1024 bytes"))
		FAIL("message: %s", k.msg);
	ASSERT_OK(loop_until(&c, 1, got_terminal, &r, WAIT_MS));
	ASSERT_EQ(r.last.err, -EMSGSIZE);
	ASSERT_EQ(r.n_events, 0);
	ipg_etcd_watch_free(w);
	ipg_etcd_free(c);
	ipg_etcd_free(big);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

TEST(test_every_put_on_one_member_reaches_a_watch_on_another_in_order)
{
	int o1[] = { 0, -1 }, o2[] = { 1, -1 };
	struct ipg_etcd *wr = client(o1), *wa = client(o2);
	struct ipg_etcd *both[] = { wr, wa };
	struct ipg_etcd_watch *w = NULL;
	static struct rec r;
	long long lat[200], t0;
	struct call k;
	char v[16];

	ASSERT_TRUE(wr && wa);
	memset(&r, 0, sizeof(r));
	ASSERT_OK(start_watch(wa, "t10/", 0, &r, &w));
	ASSERT_OK(loop_until(both, 2, got_created, &r, WAIT_MS));
	for (int i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "%d", i);
		memset(&k, 0, sizeof(k));
		t0 = now_us();
		ASSERT_OK(ipg_etcd_put(wr, "t10/k", v, strlen(v), 0, on_done,
				       &k));
		r.want = i + 1;
		ASSERT_OK(loop_until(both, 2, got_events, &r, WAIT_MS));
		ASSERT_EQ(r.terminal, 0);
		ASSERT_STR(r.ev[i].value, v);
		lat[i] = r.ev[i].at_us - t0;
		ASSERT_OK(ipg_etcd_wait(wr, WAIT_MS));
		ASSERT_DONE_OK(k);
		ASSERT_EQ(r.ev[i].mod, k.rev);
	}
	qsort(lat, 200, sizeof(lat[0]), cmp_ll);
	/* Reported, never asserted: the machine's speed is not a result. */
	printf("# put on m1 to event on m2's watch: p50 %.2f ms, p99 %.2f ms, "
	       "max %.2f ms (200 puts)\n",
	       lat[99] / 1000.0, lat[197] / 1000.0, lat[199] / 1000.0);
	ipg_etcd_watch_free(w);
	ipg_etcd_free(wr);
	ipg_etcd_free(wa);
}

static void auth_checks(void)
{
	int only[] = { 0, -1 };
	struct ipg_etcd *c, *anon, *bad;
	struct ipg_etcd_watch *w = NULL;
	struct ipg_etcd_stats st;
	static struct rec r;
	struct call k;

	/* credentials for an etcd without authentication: taken, unused */
	c = client_opts(only, "root", "secret", 0, 0);
	ASSERT_TRUE(c);
	PUT(c, k, "t8/a", "0");
	ASSERT_DONE_OK(k);
	ipg_etcd_stats(c, &st);
	ASSERT_EQ(st.auths, 0);
	if (etcdctl("user", "add", "root:secret") ||
	    etcdctl("--user=root:secret", "auth", "enable"))
		FAIL("etcdctl could not turn authentication on; see %s/etcdctl.log",
		     dir);
	anon = client(only);
	bad = client_opts(only, "root", "wrong", 0, 0);
	ASSERT_TRUE(anon && bad);
	PUT(anon, k, "t8/a", "x");
	ASSERT_EQ(k.err, -EACCES);
	if (!strstr(k.msg, "set a user and password"))
		FAIL("message: %s", k.msg);
	/* the client that had no need of a token gets one */
	PUT(c, k, "t8/a", "0");
	ASSERT_DONE_OK(k);
	ipg_etcd_stats(c, &st);
	ASSERT_EQ(st.auths, 1);
	PUT(bad, k, "t8/a", "x");
	ASSERT_EQ(k.err, -EACCES);
	if (!strstr(k.msg, "authentication as root") ||
	    !strstr(k.msg, "invalid user ID or password"))
		FAIL("message: %s", k.msg);
	/* enough entries after the token's for a snapshot to hold it */
	CHECK(put_values(c, "t8/a", 1, 25));
	CHECK(member_restart(0));
	SYNC(c, k, ipg_etcd_range(c, "t8/a", false, on_done, &k));
	ASSERT_DONE_OK(k);
	ASSERT_STR(k.kvs[0].value, "25");
	ipg_etcd_stats(c, &st);
	if (st.auths != 2)
		FAIL("expected a second authentication after the restart, "
		     "counted %lu (did the member keep the token?)",
		     st.auths);
	/* a watch started with a token the member forgot */
	CHECK(put_values(c, "t8/a", 26, 50));
	CHECK(member_restart(0));
	memset(&r, 0, sizeof(r));
	ASSERT_OK(start_watch(c, "t8/", 0, &r, &w));
	ASSERT_OK(loop_until(&c, 1, got_created, &r, WAIT_MS));
	ASSERT_EQ(r.terminal, 0);
	ipg_etcd_stats(c, &st);
	ASSERT_EQ(st.auths, 3);
	PUT(c, k, "t8/b", "after");
	r.want = 1;
	ASSERT_OK(loop_until(&c, 1, got_events, &r, WAIT_MS));
	ASSERT_STR(r.ev[0].value, "after");
	ipg_etcd_watch_free(w);
	ipg_etcd_free(c);
	ipg_etcd_free(bad);
	ipg_etcd_free(anon);
}

TEST(test_token_forgotten_by_a_restarted_member_is_renewed)
{
	auth_checks();
	heal();
	/* The other cases run without authentication. */
	if (etcdctl("--user=root:secret", "auth", "disable"))
		FAIL("etcdctl could not turn authentication off");
}

static int setup(void)
{
	for (int i = 0; i < N_MEMBERS; i++) {
		snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d",
			 CLIENT_PORT + i);
		member_start(i);
	}
	for (int i = 0; i < N_MEMBERS; i++)
		if (wait_ready(i))
			return -1;
	return 0;
}

static void teardown(void)
{
	/* The data goes too: no need to stop them gently. */
	for (int i = 0; i < N_MEMBERS; i++)
		member_stop(i, SIGKILL);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static pid_t tests_pid;

/* Interrupted: the tests and their members go first. */
static void on_signal(int sig)
{
	(void)sig;
	if (tests_pid > 0)
		kill(-tests_pid, SIGKILL);
}

/* The tests run in a child in its own process group; whatever happens to
 * it, the parent then kills the group (the members) and removes the
 * data. */
int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	pid_t pid;
	int st;

	snprintf(dir, sizeof(dir), "/tmp/ipgate-etcd-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		ipg_log_set_ident("test_etcd_cluster");
		return harness_main("unit/etcd_cluster", argc, argv, setup,
				    teardown);
	}
	tests_pid = pid;
	/* the child may not have made its group yet: make it here too */
	if (pid > 0)
		setpgid(pid, pid);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (pid > 0)
		kill(-pid, SIGKILL);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (pid < 0 || !WIFEXITED(st)) {
		printf("FAIL etcd_cluster: the tests died (signal %d)\n",
		       pid < 0 ? 0 : WTERMSIG(st));
		return 1;
	}
	return WEXITSTATUS(st);
}
