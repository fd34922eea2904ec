// SPDX-License-Identifier: GPL-2.0
/* ipgate: the CLI. Parses one subcommand, sends one request to ipgated,
 * prints the answer. It never touches maps or the config file itself. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netdb.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/rand.h>

#include "anchors.h"
#include "buf.h"
#include "config.h"
#include "ctl.h"
#include "knock.h"

#define EXIT_USAGE 2

/* Options a subcommand accepts, as a mask. */
enum {
	O_LABEL = 1 << 0,
	O_FORCE = 1 << 1,
	O_CLIENT = 1 << 2,
	O_DRYRUN = 1 << 3,
	O_PORT = 1 << 4,
	O_LINES = 1 << 5,
	O_VERIFY = 1 << 6,
	O_FOR = 1 << 7,
	O_REASON = 1 << 8,
	O_CANCEL = 1 << 9,
	O_ID = 1 << 10,
	O_KEY = 1 << 11,
	O_SOURCE = 1 << 12,
	O_ANCHORS = 1 << 13,
	O_CHANGE = O_FORCE | O_CLIENT,
};

struct cli {
	const char *socket, *label, *client, *client_source, *port, *lines;
	const char *dur, *reason, *id, *key, *source;
	const char *anchors; /* log --verify --anchors FILE */
	int json, force, dry_run, verify, cancel;
	int argc;
	char **argv; /* the subcommand's positional arguments */
	const struct command *cmd;
	struct ipg_ctl_msg req;
};

struct command {
	const char *name, *args;
	int opts, min_args, max_args;
	int (*fn)(struct cli *c);
	const char *help;
};

static const struct command *find_command(const char *name);
static void usage(FILE *f);

/* An error: one line on stderr, and with --json an object on stdout. */
static void print_error(const struct cli *c, const char *code, const char *msg)
{
	struct ipg_buf b = { 0 };

	fprintf(stderr, "ipgate: %s\n", msg);
	if (!c->json)
		return;
	ipg_buf_printf(&b, "{\"error\":{\"code\":");
	ipg_buf_json_str(&b, code);
	ipg_buf_printf(&b, ",\"message\":");
	ipg_buf_json_str(&b, msg);
	ipg_buf_printf(&b, "}}\n");
	if (b.s)
		fputs(b.s, stdout);
	ipg_buf_free(&b);
}

/* Sends the request, prints the answer; returns the reply or NULL. */
static int call(struct cli *c, struct ipg_ctl_msg *rep)
{
	struct ipg_error e = { { 0 } };
	const char *code, *msg, *out;
	int r;

	if (c->json)
		ipg_ctl_set(&c->req, "json", "1");
	if (c->force)
		ipg_ctl_set(&c->req, "force", "1");
	if (c->client) {
		ipg_ctl_set(&c->req, "client", c->client);
		ipg_ctl_set(&c->req, "client-source", c->client_source);
	}
	r = ipg_ctl_call(c->socket, &c->req, rep, &e);
	if (r) {
		print_error(c, ipg_ctl_code_name(r), e.msg);
		return r;
	}
	code = ipg_ctl_get(rep, "code");
	msg = ipg_ctl_get(rep, "message");
	out = ipg_ctl_get(rep, "out");
	if (out)
		fputs(out, stdout);
	if (!code || strcmp(code, "ok")) {
		print_error(c, code ? code : "EIO",
			    msg ? msg :
				  "ipgated refused the request without "
				  "saying why");
		return -EIO;
	}
	return 0;
}

/* Runs a command whose whole request is its name and an optional field. */
static int simple(struct cli *c, const char *cmd, const char *key)
{
	struct ipg_ctl_msg rep;
	int r;

	ipg_ctl_set(&c->req, "cmd", cmd);
	if (key)
		ipg_ctl_set(&c->req, key, c->argv[0]);
	r = call(c, &rep);
	ipg_ctl_free(&rep);
	return r ? 1 : 0;
}

/* A command whose request is its name alone: status, list, enable, ... */
static int cmd_plain(struct cli *c)
{
	return simple(c, c->cmd->name, NULL);
}

static int cmd_remove(struct cli *c)
{
	return simple(c, "remove", "cidr");
}

static int cmd_add(struct cli *c)
{
	if (c->label)
		ipg_ctl_set(&c->req, "label", c->label);
	return simple(c, "add", "cidr");
}

static int cmd_apply(struct cli *c)
{
	const char *path = c->argv[0];
	struct ipg_buf text = { 0 };
	int r;

	r = ipg_read_file(strcmp(path, "-") ? path : "/dev/stdin",
			  IPG_CTL_VALUE_MAX, &text);
	if (r) {
		fprintf(stderr, "ipgate: cannot read %s: %s\n", path,
			r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		ipg_buf_free(&text);
		return 1;
	}
	ipg_ctl_setn(&c->req, "text", text.s ? text.s : "", text.len);
	ipg_ctl_set(&c->req, "name", strcmp(path, "-") ? path : "stdin");
	if (c->dry_run)
		ipg_ctl_set(&c->req, "dry-run", "1");
	ipg_buf_free(&text);
	return simple(c, "apply", NULL);
}

static int cmd_test(struct cli *c)
{
	struct ipg_ctl_msg rep;
	const char *v;
	int r;

	ipg_ctl_set(&c->req, "cmd", "test");
	ipg_ctl_set(&c->req, "ip", c->argv[0]);
	if (c->port)
		ipg_ctl_set(&c->req, "port", c->port);
	r = call(c, &rep);
	v = ipg_ctl_get(&rep, "verdict");
	r = r || !v ? 2 : strcmp(v, "allowed") ? 1 : 0;
	ipg_ctl_free(&rep);
	return r;
}

/* The largest journal export --anchors reads. */
#define ANCHORS_FILE_MAX (512u << 20)

/* Puts the journal's anchors from c->anchors (- for stdin) into the
 * request: the newest IPG_ANCHORS_SEND_MAX, which pin every record before
 * them. */
static int set_anchors(struct cli *c)
{
	const char *path = c->anchors;
	struct ipg_buf text = { 0 }, out = { 0 };
	struct ipg_error e = { { 0 } };
	struct ipg_anchors an = { 0 };
	size_t left;
	int r;

	r = ipg_read_file(strcmp(path, "-") ? path : "/dev/stdin",
			  ANCHORS_FILE_MAX, &text);
	if (r) {
		ipg_fail(&e, r, "--anchors: cannot read %s: %s", path,
			 r == -EFBIG ? "larger than 512 MiB; export only "
				       "ipgate's fields (journalctl -o export "
				       "IPGATE_AUDIT_LOG=PATH)" :
				       strerror(-r));
	} else {
		r = ipg_anchors_parse(&an, text.s ? text.s : "", text.len, path,
				      &e);
	}
	ipg_buf_free(&text);
	if (!r) {
		left = ipg_anchors_encode(&an, IPG_ANCHORS_SEND_MAX, &out);
		if (left)
			fprintf(stderr,
				"ipgate: %s: comparing the newest %d of %zu "
				"anchors (each pins every record before it)\n",
				path, IPG_ANCHORS_SEND_MAX, an.n);
		r = out.oom ? ipg_fail(&e, -ENOMEM, "out of memory") :
			      ipg_ctl_setn(&c->req, "anchors", out.s, out.len);
		if (r && !out.oom)
			ipg_fail(&e, r, "--anchors: too large a request");
	}
	ipg_anchors_free(&an);
	ipg_buf_free(&out);
	if (r)
		print_error(c, ipg_ctl_code_name(r), e.msg);
	return r;
}

static int cmd_log(struct cli *c)
{
	if (c->anchors && !c->verify) {
		fprintf(stderr, "ipgate: --anchors goes with --verify: ipgate "
				"log --verify --anchors FILE\n");
		return EXIT_USAGE;
	}
	if (c->anchors && set_anchors(c))
		return 1;
	if (c->verify)
		ipg_ctl_set(&c->req, "verify", "1");
	if (c->lines)
		ipg_ctl_set(&c->req, "lines", c->lines);
	return simple(c, "log", NULL);
}

static int cmd_override(struct cli *c)
{
	if (c->cancel == !!(c->dur || c->reason)) {
		fprintf(stderr, "ipgate: usage: ipgate override --for DURATION "
				"--reason TEXT, or ipgate override --cancel\n");
		return EXIT_USAGE;
	}
	if (c->cancel)
		ipg_ctl_set(&c->req, "cancel", "1");
	if (c->dur)
		ipg_ctl_set(&c->req, "for", c->dur);
	if (c->reason)
		ipg_ctl_set(&c->req, "reason", c->reason);
	return simple(c, "override", NULL);
}

static int cmd_breakglass(struct cli *c)
{
	const char *op = c->argv[0];
	int want = !strcmp(op, "revoke") ? 2 : 1;

	if ((strcmp(op, "keygen") && strcmp(op, "list") &&
	     strcmp(op, "revoke")) ||
	    c->argc != want || (c->id && strcmp(op, "keygen"))) {
		fprintf(stderr, "ipgate: usage: ipgate breakglass keygen [--id "
				"NAME] | list | revoke ID\n");
		return EXIT_USAGE;
	}
	ipg_ctl_set(&c->req, "op", op);
	if (c->id)
		ipg_ctl_set(&c->req, "id", c->id);
	if (want == 2)
		ipg_ctl_set(&c->req, "id", c->argv[1]);
	if (!strcmp(op, "keygen") && !c->json)
		fprintf(stderr,
			"Store this key now (in a password manager, or a "
			"file for 'ipgate knock --key FILE'); it is not shown "
			"again.\n");
	return simple(c, "breakglass", NULL);
}

/* The local address the kernel would send from to reach @to. */
static int source_for(const struct sockaddr *to, socklen_t len,
		      struct sockaddr_storage *src)
{
	socklen_t sl = sizeof(*src);
	int fd = socket(to->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, to, len) ||
	    getsockname(fd, (struct sockaddr *)src, &sl))
		r = -errno;
	close(fd);
	return r;
}

/* Client side of break-glass: runs anywhere, needs no daemon. */
static int cmd_knock(struct cli *c)
{
	const char *host = c->argv[0], *port = c->port ? c->port : "62201";
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	uint8_t key[IPG_KNOCK_KEY_BYTES], pkt[IPG_KNOCK_MAX_LEN];
	struct ipg_error e = { { 0 } };
	struct ipg_knock k = { 0 };
	struct sockaddr_storage src;
	struct ipg_buf kf = { 0 };
	char addr[IPG_PREFIX_STRLEN];
	size_t len;
	int fd, r;

	if (!c->key) {
		fprintf(stderr, "ipgate: knock needs --key FILE (from 'ipgate "
				"breakglass keygen')\n");
		return EXIT_USAGE;
	}
	if (c->dur && (ipg_duration_parse(c->dur, &k.duration_s) ||
		       !k.duration_s || k.duration_s > IPG_GRANT_MAX_S)) {
		fprintf(stderr,
			"ipgate: --for: \"%s\" is not a duration from 1s "
			"to 60m\n",
			c->dur);
		return EXIT_USAGE;
	}
	r = ipg_read_file(c->key, 4096, &kf);
	if (!r)
		r = ipg_knock_key_parse(kf.s, k.key_id, key, &e);
	else
		ipg_fail(&e, r, "cannot read %s: %s", c->key, strerror(-r));
	ipg_buf_free(&kf);
	if (r) {
		fprintf(stderr, "ipgate: %s\n", e.msg);
		return 1;
	}
	r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		fprintf(stderr, "ipgate: cannot resolve %s port %s: %s\n", host,
			port, gai_strerror(r));
		return 1;
	}
	if (c->source) {
		if (ipg_addr_parse(c->source, &k.source, &e)) {
			fprintf(stderr, "ipgate: --source: %s\n", e.msg);
			freeaddrinfo(ai);
			return EXIT_USAGE;
		}
	} else if (source_for(ai->ai_addr, ai->ai_addrlen, &src)) {
		fprintf(stderr, "ipgate: no route to %s; give --source IP\n",
			host);
		freeaddrinfo(ai);
		return 1;
	} else {
		ipg_prefix_from_sockaddr((struct sockaddr *)&src, &k.source);
	}
	k.timestamp = (uint64_t)time(NULL);
	if (RAND_bytes(k.nonce, sizeof(k.nonce)) != 1) {
		fprintf(stderr, "ipgate: no random bytes for the nonce\n");
		freeaddrinfo(ai);
		return 1;
	}
	len = ipg_knock_encode(&k, key, pkt, sizeof(pkt));
	explicit_bzero(key, sizeof(key));
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r = fd < 0 || !len ||
	    sendto(fd, pkt, len, 0, ai->ai_addr, ai->ai_addrlen) !=
		    (ssize_t)len;
	if (r)
		fprintf(stderr, "ipgate: cannot send the knock to %s: %s\n",
			host, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	if (r)
		return 1;
	ipg_prefix_format(&k.source, addr, sizeof(addr));
	printf("knocked on %s udp/%s for %s (key %s, %s asked); no reply comes. "
	       "If the key is good, %s can reach the API in a moment.\n",
	       host, port, addr, k.key_id, c->dur ? c->dur : "15m", addr);
	return 0;
}

static int cmd_help(struct cli *c)
{
	(void)c;
	usage(stdout);
	return 0;
}

static const struct command commands[] = {
	{ "status", "", 0, 0, 0, cmd_plain,
	  "interfaces, XDP mode, enabled, entries, override, counters" },
	{ "list", "", 0, 0, 0, cmd_plain,
	  "entries with labels and hit counts" },
	{ "add", "CIDR [--label TEXT]", O_LABEL | O_CHANGE, 1, 1, cmd_add,
	  "allow an address or CIDR" },
	{ "remove", "CIDR", O_CHANGE, 1, 1, cmd_remove, "remove an entry" },
	{ "enable", "", O_CHANGE, 0, 0, cmd_plain, "enforce the allowlist" },
	{ "disable", "", O_CHANGE, 0, 0, cmd_plain,
	  "stop enforcing (every source passes)" },
	{ "apply", "FILE [--dry-run]", O_DRYRUN | O_CHANGE, 1, 1, cmd_apply,
	  "replace entries and settings with FILE at once (- for stdin)" },
	{ "test", "IP [--port tcp/443]", O_PORT, 1, 1, cmd_test,
	  "would IP be allowed? exit 0 allowed, 1 blocked, 2 error" },
	{ "log", "[-n N] [--verify [--anchors FILE]]",
	  O_LINES | O_VERIFY | O_ANCHORS, 0, 0, cmd_log,
	  "the audit log's last N records (20; 0: all), or verify it" },
	{ "detach", "", 0, 0, 0, cmd_plain,
	  "remove the filter from every interface" },
	{ "attach", "", 0, 0, 0, cmd_plain,
	  "put the filter back after detach" },
	{ "override", "--for 2h --reason TEXT | --cancel",
	  O_FOR | O_REASON | O_CANCEL, 0, 0, cmd_override,
	  "suspend enforcement for a bounded time (at most override-max)" },
	{ "breakglass", "keygen [--id NAME] | list | revoke ID", O_ID, 1, 2,
	  cmd_breakglass, "manage the onboarding keys for 'knock'" },
	{ "knock", "HOST --key FILE [--port N] [--for 15m] [--source IP]",
	  O_KEY | O_PORT | O_FOR | O_SOURCE, 1, 1, cmd_knock,
	  "locked out? let your address in for a while (runs anywhere)" },
	{ "help", "", 0, 0, 0, cmd_help, "this text" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ipgate [--socket PATH] [--json] COMMAND [ARGS]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char head[96];

		snprintf(head, sizeof(head), "%s %s", commands[i].name,
			 commands[i].args);
		if (strlen(head) > 30)
			fprintf(f, "  %s\n  %-30s %s\n", head, "",
				commands[i].help);
		else
			fprintf(f, "  %-30s %s\n", head, commands[i].help);
	}
	fprintf(f,
		"\noptions:\n"
		"  --socket PATH   ipgated's control socket (" IPG_SOCKET_DEFAULT
		")\n"
		"  --json          machine-readable output (see the README)\n"
		"  --force         make a change the guards refuse (empty list, "
		"your own address)\n"
		"  --client IP     your address, for the lockout guard "
		"(default: from SSH_CONNECTION)\n"
		"  --anchors FILE  with log --verify: the journal's record "
		"anchors, as\n"
		"                  'journalctl -o export IPGATE_AUDIT_LOG=LOG' "
		"writes (or -o json);\n"
		"                  a rewritten or cut log then fails, naming "
		"the first record\n"
		"                  that differs (- reads stdin)\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ipgate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun 'ipgate help' for usage.\n");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'l' },
		{ "force", no_argument, NULL, 'F' },
		{ "client", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'D' },
		{ "port", required_argument, NULL, 'P' },
		{ "lines", required_argument, NULL, 'n' },
		{ "verify", no_argument, NULL, 'V' },
		{ "anchors", required_argument, NULL, 'A' },
		{ "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "cancel", no_argument, NULL, 'c' },
		{ "id", required_argument, NULL, 'i' },
		{ "key", required_argument, NULL, 'k' },
		{ "source", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const struct {
		int opt, mask;
		const char *name;
	} owned[] = {
		{ 'l', O_LABEL, "--label" },   { 'F', O_FORCE, "--force" },
		{ 'C', O_CLIENT, "--client" }, { 'D', O_DRYRUN, "--dry-run" },
		{ 'P', O_PORT, "--port" },     { 'n', O_LINES, "-n/--lines" },
		{ 'V', O_VERIFY, "--verify" }, { 'f', O_FOR, "--for" },
		{ 'r', O_REASON, "--reason" }, { 'c', O_CANCEL, "--cancel" },
		{ 'i', O_ID, "--id" },	       { 'k', O_KEY, "--key" },
		{ 'S', O_SOURCE, "--source" }, { 'A', O_ANCHORS, "--anchors" },
	};
	struct cli c = { .socket = IPG_SOCKET_DEFAULT };
	const struct command *cmd = NULL;
	char *pos[8];
	int npos = 0, opt, seen = 0, r;
	const char *ssh;
	static char ssh_client[64];

	if (getenv("IPGATE_SOCKET"))
		c.socket = getenv("IPGATE_SOCKET");
	/* Options may come before or after the subcommand. */
	opterr = 0;
	while (optind < argc) {
		opt = getopt_long(argc, argv, "-:n:h", lo, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 1:
			if (npos >= 8)
				return usage_error("too many arguments%s", "");
			pos[npos++] = optarg;
			break;
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = 1;
			break;
		case 'l':
			c.label = optarg;
			break;
		case 'F':
			c.force = 1;
			break;
		case 'C':
			c.client = optarg;
			c.client_source = "--client";
			break;
		case 'D':
			c.dry_run = 1;
			break;
		case 'P':
			c.port = optarg;
			break;
		case 'n':
			c.lines = optarg;
			break;
		case 'V':
			c.verify = 1;
			break;
		case 'A':
			c.anchors = optarg;
			break;
		case 'f':
			c.dur = optarg;
			break;
		case 'r':
			c.reason = optarg;
			break;
		case 'c':
			c.cancel = 1;
			break;
		case 'i':
			c.id = optarg;
			break;
		case 'k':
			c.key = optarg;
			break;
		case 'S':
			c.source = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return usage_error("%s needs a value",
					   argv[optind - 1]);
		default:
			return usage_error("unknown option %s",
					   argv[optind - 1]);
		}
		for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
			if (owned[i].opt == opt)
				seen |= owned[i].mask;
	}
	if (!npos) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(pos[0]);
	if (!cmd)
		return usage_error("unknown command \"%s\"", pos[0]);
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if ((seen & owned[i].mask) && !(cmd->opts & owned[i].mask)) {
			fprintf(stderr, "ipgate: %s does not take %s\n",
				cmd->name, owned[i].name);
			return EXIT_USAGE;
		}
	if (npos - 1 < cmd->min_args || npos - 1 > cmd->max_args) {
		fprintf(stderr, "ipgate: usage: ipgate %s %s\n", cmd->name,
			cmd->args);
		return EXIT_USAGE;
	}
	if (c.lines) {
		char *end;

		errno = 0;
		strtoul(c.lines, &end, 10);
		if (errno || *end || !*c.lines || *c.lines == '-')
			return usage_error("-n: \"%s\" is not a number",
					   c.lines);
	}
	/* The lockout guard needs the requester's address: an SSH session
	 * says it, unless --client already did. */
	ssh = getenv("SSH_CONNECTION");
	if (!c.client && ssh && (cmd->opts & O_CLIENT) &&
	    sscanf(ssh, "%63s", ssh_client) == 1) {
		c.client = ssh_client;
		c.client_source = "SSH_CONNECTION";
	}
	c.cmd = cmd;
	c.argc = npos - 1;
	c.argv = pos + 1;
	r = cmd->fn(&c);
	ipg_ctl_free(&c.req);
	return r;
}
