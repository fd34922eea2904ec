// SPDX-License-Identifier: GPL-2.0
/* ipgated: options, start-up (adopt or load, apply, attach last) and main.
 * The event loop is loop.c; docs/design.md has the whole picture. */
#include "daemon.h"

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

/* The state directory, its paths and the lock; the socket's group. */
static int start_state(struct daemon *d)
{
	struct group *gr;
	int r;

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
	r = take_lock(d);
	if (r)
		return r;
	ovr_load(d);
	knock_memory_load(d);
	tokens_load(d);
	/* At start only: the loop never asks the name service. */
	gr = getgrnam(d->o.group);
	if (gr) {
		d->have_group = 1;
		d->group_gid = gr->gr_gid;
	} else {
		pr_info("no group \"%s\": only root may use the control socket",
			d->o.group);
	}
	return 0;
}

/* The config file, with its warnings logged. */
static int start_config(struct daemon *d)
{
	struct ipg_buf note = { 0 };
	struct ipg_error e;
	int r = ipg_config_load(&d->cfg, d->o.config, &e);

	/* With a store, the named lists are the store's: those a previous
	 * run kept, until it answers. */
	if (!r && store_mode(d)) {
		char *local = ipg_config_render(&d->cfg);

		r = local ? store_load(d, local, &e) :
			    ipg_fail(&e, -ENOMEM, "out of memory");
		free(local);
	}
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	for (int i = 0; i < d->cfg.n_warnings; i++)
		pr_info("%s: %s", d->o.config, d->cfg.warnings[i]);
	ephemeral_note(&d->cfg, &note);
	if (note.s)
		pr_warn("%s: %s", d->o.config, note.s);
	ipg_buf_free(&note);
	d->cfg_text = ipg_config_render_saved(&d->cfg);
	files_stamp(d);
	return d->cfg_text ? 0 : -ENOMEM;
}

/* Adopts the pinned datapath when its maps are large enough for the
 * config, or loads a fresh one sized for it (nothing attached yet). The
 * apply keeps the rule ids of adopted prefixes, so their hit counts go
 * on. */
static int start_datapath(struct daemon *d)
{
	struct ipg_datapath_opts dopts = { .pin_dir = d->o.pin_dir };
	struct ipg_error e;
	int r;

	config_sizes(&d->cfg, &dopts);
	r = ipg_datapath_open(&d->dp, &dopts, &e);
	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	if (ipg_datapath_sync_local_addrs(d->dp, &e))
		pr_warn("%s; reject mode drops SYNs without answering", e.msg);
	return 0;
}

/* Opens the audit log; a lost head or tail is said in the log, never
 * covered silently. */
static int start_audit(struct daemon *d, const struct ipg_actor *who)
{
	struct ipg_audit_opts aopts = { .rotate_size = d->o.audit_rotate,
					.keep = d->o.audit_keep,
					.head_path = d->head_path,
					.anchor = ipg_journal_anchor };
	struct ipg_error e;
	int r = ipg_audit_open(&d->audit, d->o.audit_log, &aopts, &e);

	if (r) {
		pr_warn("%s", e.msg);
		return r;
	}
	if (ipg_audit_note_open(&d->audit, who, &e))
		pr_warn("%s", e.msg);
	return 0;
}

/* Makes the kernel run the file: apply to the maps, then attach. What this
 * changes in the kernel is audited as a reload, like any other change. */
static int start_enforce(struct daemon *d, const struct ipg_actor *who)
{
	struct ipg_config *kern = calloc(1, sizeof(*kern));
	struct ipg_config_diff diff;
	struct ipg_error e;
	int r;

	if (!kern)
		return -ENOMEM;
	r = kernel_config(d, kern);
	if (!r)
		r = ipg_fault("start-apply", &e);
	/* On adopted maps only the lists that differ from the kernel's
	 * flip. */
	if (!r)
		r = apply_config(d, ipg_datapath_adopted(d->dp) ? kern : NULL,
				 &d->cfg, false, &e);
	if (r) {
		pr_warn("%s; nothing was attached, so whatever enforced "
			"before still does",
			r == -ENOMEM ? "out of memory" : e.msg);
		goto out;
	}
	/* On adopted maps the flip above already changed what the attached
	 * program enforces: record it now, whatever happens next. */
	if (!ipg_config_diff(kern, &d->cfg, &diff)) {
		if (diff.changes &&
		    ipg_audit_append_lists(&d->audit, who, "reload", diff.lists,
					   diff.n_lists, diff.before.s,
					   diff.after.s, &e))
			pr_warn("%s", e.msg);
		ipg_config_diff_free(&diff);
	}
	/* Lists the kernel holds and the file no longer has: gone, after the
	 * record of the start. */
	if (close_gone(d, NULL, &d->cfg, &e))
		pr_warn("%s", e.msg);
	/* Attach last: a program reaches an interface only with the policy
	 * already in its maps, so a fresh load never opens the filter, not
	 * even for a moment, and a failed start leaves the old one enforcing. */
	r = ipg_fault("start-attach", &e);
	if (!r)
		r = attach_new(d, NULL, &d->cfg, &e);
	if (r)
		pr_warn("%s", e.msg);
out:
	ipg_config_free(kern);
	free(kern);
	return r;
}

/* docs/design.md, "Lifecycle": state, config, datapath, audit, enforce
 * (apply before attach), then serve. */
int start(struct daemon *d)
{
	struct ipg_actor who;
	int r;

	actor_self(&who, "ipgated");
	r = start_state(d);
	if (!r)
		r = start_config(d);
	if (!r)
		r = start_datapath(d);
	if (!r)
		r = start_audit(d, &who);
	if (r)
		return r;
	d->detached = !access(d->detached_path, F_OK);
	r = start_enforce(d, &who);
	/* A change left unconfirmed past its deadline goes before anyone
	 * is served. */
	if (!r)
		pending_load(d);
	if (!r)
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

/* Parses the command line into @o. Returns -1 to go on, or the exit code
 * (0 after --help, 2 for a usage error). */
static int parse_opts(int argc, char **argv, struct opts *o)
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
	/* Where each string option goes; the rest are handled below. */
	const struct {
		int opt;
		const char **to;
	} paths[] = { { 'c', &o->config },    { 's', &o->socket },
		      { 'p', &o->pin_dir },   { 'a', &o->audit_log },
		      { 'd', &o->state_dir }, { 'g', &o->group } };
	int opt, done;
	char *end;

	while ((opt = getopt_long(argc, argv, "c:s:p:a:d:g:fvh", lo, NULL)) !=
	       -1) {
		done = 0;
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			if (paths[i].opt == opt) {
				*paths[i].to = optarg;
				done = 1;
			}
		if (done)
			continue;
		switch (opt) {
		case 'f':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'R':
			if (parse_size(optarg, &o->audit_rotate)) {
				fprintf(stderr,
					"ipgated: --audit-rotate: \"%s\" "
					"is not a size such as 10M\n",
					optarg);
				return 2;
			}
			break;
		case 'K':
			errno = 0;
			o->audit_keep = (unsigned)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg ||
			    o->audit_keep > IPG_AUDIT_KEEP_MAX) {
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
	return -1;
}

/* Tells the parent waiting in daemonize() whether the start worked (@r),
 * and lets go of the terminal once it did. */
static int report_ready(int ready_fd, int r)
{
	char c = r ? 1 : 0;

	if (ready_fd < 0)
		return r;
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
	return r;
}

int main(int argc, char **argv)
{
	struct daemon *d = calloc(1, sizeof(*d));
	int ready_fd = -1, r;

	if (!d) {
		fprintf(stderr, "ipgated: out of memory\n");
		return 1;
	}
	d->o = (struct opts){ .config = IPG_CONFIG_DEFAULT,
			      .socket = IPG_SOCKET_DEFAULT,
			      .pin_dir = IPG_PIN_DIR_DEFAULT,
			      .audit_log = IPG_AUDIT_DEFAULT,
			      .state_dir = STATE_DIR_DEFAULT,
			      .group = GROUP_DEFAULT,
			      .audit_rotate = IPG_AUDIT_ROTATE_DEFAULT,
			      .audit_keep = IPG_AUDIT_KEEP_DEFAULT,
			      .verbose = 1 };
	r = parse_opts(argc, argv, &d->o);
	if (r >= 0) {
		free(d);
		return r;
	}
	/* Descriptors inherited from whoever started us (a shell's, a
	 * flock(1)'s lock) would stay open for the daemon's whole life. */
	close_range(3, ~0u, 0);
	ipg_log_set_ident("ipgated");
	ipg_log_set_level(d->o.verbose);
	d->lfd = d->lock_fd = d->kfd = d->epfd = -1;
	for (int i = 0; i < CONNS_MAX; i++)
		d->conns[i].fd = -1;
	if (!d->o.foreground && daemonize(&ready_fd)) {
		pr_warn("cannot go to the background: %s", strerror(errno));
		return 1;
	}
	notify_open(d);
	journal_open(d);
	r = start(d);
	if (!r)
		r = setup_loop(d);
	r = report_ready(ready_fd, r);
	if (r) {
		pr_warn("not started: %s", strerror(-r));
		notify_failed(d, r);
		return 1;
	}
	notify_ready(d, !d->o.foreground);
	run(d);
	http_stop(d);
	store_close(d);
	blocked_close(d);
	pending_forget(d);
	/* The filter stays attached and enforcing; only userspace state and
	 * the socket go. */
	unlink(d->o.socket);
	ipg_audit_close(&d->audit);
	ipg_datapath_close(d->dp);
	ipg_config_free(&d->cfg);
	free(d->cfg_text);
	free(d->lovr);
	files_free(d);
	ipg_notify_close(&d->notify);
	free(d);
	return 0;
}
