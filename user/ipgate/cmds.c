// SPDX-License-Identifier: GPL-2.0
/* ipgate's commands that ask ipgated: each builds one request, sends it and
 * prints the answer. The command table lives here with its handlers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "anchors.h"
#include "buf.h"
#include "cli.h"
#include "ctl.h"
#include "log.h"

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

/* Sends the request and prints the answer, leaving the reply in @rep.
 * Returns 0, or a negative errno after saying what failed. */
static int call(struct cli *c, struct ipg_ctl_msg *rep)
{
	struct ipg_error e = { { 0 } };
	const char *code, *msg, *out;
	int r;

	if (c->json)
		ipg_ctl_set(&c->req, "json", "1");
	if (c->force)
		ipg_ctl_set(&c->req, "force", "1");
	if (c->list)
		ipg_ctl_set(&c->req, "list", c->list);
	if (c->confirm)
		ipg_ctl_set(&c->req, "confirm", c->confirm);
	if (c->client) {
		ipg_ctl_set(&c->req, "client", c->client);
		ipg_ctl_set(&c->req, "client-source", c->client_source);
		if (c->ssh_server[0])
			ipg_ctl_set(&c->req, "server", c->ssh_server);
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
	if (c->dur && c->until) {
		fprintf(stderr,
			"ipgate: add takes --for or --until, not both\n");
		return 2;
	}
	/* ipgated checks them, against its own clock. */
	if (c->dur)
		ipg_ctl_set(&c->req, "for", c->dur);
	if (c->until)
		ipg_ctl_set(&c->req, "expires", c->until);
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
	if (c->to && c->list) {
		fprintf(stderr, "ipgate: test: --list and --to both name the "
				"list; give one\n");
		return EXIT_USAGE;
	}
	if (c->to)
		ipg_ctl_set(&c->req, "to", c->to);
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

static int cmd_blocked(struct cli *c)
{
	struct ipg_ctl_msg rep;
	char since[24] = "";
	int r;

	ipg_ctl_set(&c->req, "cmd", "blocked");
	if (c->lines)
		ipg_ctl_set(&c->req, "lines", c->lines);
	/* --follow: then every second, the sources seen since the last
	 * answer, until interrupted. */
	for (;;) {
		if (*since)
			ipg_ctl_set(&c->req, "since", since);
		r = call(c, &rep);
		if (!r && ipg_ctl_get(&rep, "now"))
			snprintf(since, sizeof(since), "%s",
				 ipg_ctl_get(&rep, "now"));
		ipg_ctl_free(&rep);
		if (r || !c->follow)
			return r ? 1 : 0;
		fflush(stdout);
		sleep(1);
	}
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
	int url = !strcmp(op, "url");

	if ((strcmp(op, "keygen") && strcmp(op, "list") &&
	     strcmp(op, "revoke") && !url) ||
	    c->argc != want || (c->list && strcmp(op, "keygen")) ||
	    (c->id && strcmp(op, "keygen") && !url) || (url && !c->id)) {
		fprintf(stderr, "ipgate: usage: ipgate breakglass keygen [--id "
				"NAME] [--list NAME] | list | revoke ID | url "
				"--id ID\n");
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

static int cmd_token(struct cli *c)
{
	const char *op = c->argv[0];
	int want = !strcmp(op, "revoke") ? 2 : 1;

	if ((strcmp(op, "create") && strcmp(op, "list") &&
	     strcmp(op, "revoke")) ||
	    c->argc != want ||
	    ((c->id || c->list || c->role) && strcmp(op, "create")) ||
	    (!strcmp(op, "create") && !c->role)) {
		fprintf(stderr, "ipgate: usage: ipgate token create --role "
				"admin|viewer [--list NAME] [--id NAME] | list "
				"| revoke ID\n");
		return EXIT_USAGE;
	}
	ipg_ctl_set(&c->req, "op", op);
	if (c->id)
		ipg_ctl_set(&c->req, "id", c->id);
	if (c->role)
		ipg_ctl_set(&c->req, "role", c->role);
	if (want == 2)
		ipg_ctl_set(&c->req, "id", c->argv[1]);
	return simple(c, "token", NULL);
}

/* Options a command takes are in main.c's option table, not here. */
const struct command commands[CMD_COUNT] = {
	[CMD_STATUS] = { "status", "", 0, 0, cmd_plain,
			 "interfaces, XDP mode, enabled, entries, override, "
			 "counters" },
	[CMD_LIST] = { "list", "", 0, 0, cmd_plain,
		       "entries with labels and hit counts" },
	[CMD_LISTS] = { "lists", "", 0, 0, cmd_plain,
			"every list: addresses, enabled, entries, override, "
			"hits" },
	[CMD_ADD] = { "add",
		      "CIDR [--label TEXT] [--for DURATION|--until TIME]", 1, 1,
		      cmd_add, "allow an address or CIDR" },
	[CMD_REMOVE] = { "remove", "CIDR", 1, 1, cmd_remove,
			 "remove an entry" },
	[CMD_ENABLE] = { "enable", "", 0, 0, cmd_plain,
			 "enforce the allowlist" },
	[CMD_DISABLE] = { "disable", "", 0, 0, cmd_plain,
			  "stop enforcing (every source passes)" },
	[CMD_APPLY] = { "apply", "FILE [--dry-run]", 1, 1, cmd_apply,
			"replace entries and settings with FILE at once "
			"(- for stdin)" },
	[CMD_TEST] = { "test",
		       "IP [--list NAME | --to ADDRESS] [--port tcp/443]", 1, 1,
		       cmd_test,
		       "would IP be allowed? exit 0 allowed, 1 blocked, "
		       "2 error" },
	[CMD_LOG] = { "log", "[-n N] [--verify [--anchors FILE]]", 0, 0,
		      cmd_log,
		      "the audit log's last N records (20; 0: all), or "
		      "verify it" },
	[CMD_DETACH] = { "detach", "", 0, 0, cmd_plain,
			 "remove the filter from every interface" },
	[CMD_ATTACH] = { "attach", "", 0, 0, cmd_plain,
			 "put the filter back after detach" },
	[CMD_OVERRIDE] = { "override", "--for 2h --reason TEXT | --cancel", 0,
			   0, cmd_override,
			   "suspend enforcement for a bounded time (at most "
			   "override-max)" },
	[CMD_BREAKGLASS] = { "breakglass",
			     "keygen [--id NAME] [--list NAME] | list | revoke ID "
			     "| url --id ID",
			     1, 2, cmd_breakglass,
			     "manage the onboarding keys for 'knock' and the "
			     "break-glass page" },
	[CMD_KNOCK] = { "knock",
			"HOST --key FILE [--port N] [--for 15m] [--source IP]",
			1, 1, cmd_knock,
			"locked out? let your address in for a while (runs "
			"anywhere)" },
	[CMD_TOKEN] = { "token",
			"create --role admin|viewer [--list NAME] [--id NAME] | "
			"list | revoke ID",
			1, 2, cmd_token,
			"manage the HTTP API's bearer tokens" },
	[CMD_CONFIRM] = { "confirm", "", 0, 0, cmd_plain,
			  "keep the change made with --confirm" },
	[CMD_FLEET] = { "fleet", "", 0, 0, cmd_plain,
			"every host sharing the store: the revision each runs, "
			"and those behind, refusing or gone" },
	[CMD_BLOCKED] = { "blocked", "[-n N] [--follow]", 0, 0, cmd_blocked,
			  "the sources dropped most (reports of the XDP "
			  "program)" },
	[CMD_HELP] = { "help", "", 0, 0, cmd_help, "this text" },
};
