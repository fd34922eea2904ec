// SPDX-License-Identifier: GPL-2.0
/* ipgate: the CLI. Parses one subcommand, sends one request to ipgated,
 * prints the answer. It never touches maps or the config file itself.
 * This file holds the option table, parsing and dispatch. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctl.h"

/* How an option reaches struct cli. */
enum opt_kind {
	OPT_FLAG, /* no argument: sets the int at .off to 1 */
	OPT_VALUE, /* one argument: points the const char * at .off at it */
	OPT_RUN, /* no argument: runs .run and exits with what it returns */
};

/* One option, declared once: getopt's arrays, the check that the command
 * takes it and the usage text are all made from these rows. */
struct cli_option {
	const char *name; /* --name */
	char short_name; /* -x as well, or 0 */
	enum opt_kind kind;
	const char *metavar; /* what the argument is, in help */
	unsigned int cmds; /* CMD_BIT()s of the commands that take it */
	size_t off; /* where in struct cli the value goes */
	int (*run)(struct cli *c); /* OPT_RUN */
	/* Checked once the command is known; returns the exit status, 0 to
	 * go on. */
	int (*check)(const char *arg);
	const char *help; /* listed under "options:" when set */
};

/* offsetof(struct cli, field), refusing to compile unless field is a T. */
#define CLI_FIELD(T, field)            \
	(offsetof(struct cli, field) + \
	 0 * sizeof(&((struct cli *)0)->field == (T *)0))

#define FLAG(nm, owners, field)                         \
	.name = nm, .kind = OPT_FLAG, .cmds = (owners), \
	.off = CLI_FIELD(int, field)
#define VALUE(nm, meta, owners, field)                                    \
	.name = nm, .kind = OPT_VALUE, .metavar = meta, .cmds = (owners), \
	.off = CLI_FIELD(const char *, field)
#define RUN(nm, owners, fn) \
	.name = nm, .kind = OPT_RUN, .cmds = (owners), .run = fn

#define ONLY(cmd) CMD_BIT(CMD_##cmd)
#define ALL_CMDS (CMD_BIT(CMD_COUNT) - 1)
/* The commands that change the policy, and so pass the lockout guard. */
#define CHANGES \
	(ONLY(ADD) | ONLY(REMOVE) | ONLY(ENABLE) | ONLY(DISABLE) | ONLY(APPLY))

/* The commands that act on one list (--list NAME). */
#define LIST_CMDS                                                              \
	(ONLY(STATUS) | ONLY(LIST) | ONLY(TEST) | ONLY(LOG) | ONLY(OVERRIDE) | \
	 ONLY(BREAKGLASS) | ONLY(TOKEN) | ONLY(BLOCKED) | CHANGES)

static int check_count(const char *arg);

/* In the order a misplaced option is reported and help lists them. */
static const struct cli_option options[] = {
	{ VALUE("socket", "PATH", ALL_CMDS, socket),
	  .help = "ipgated's control socket (" IPG_SOCKET_DEFAULT ")" },
	{ FLAG("json", ALL_CMDS, json),
	  .help = "machine-readable output (see the README)" },
	{ VALUE("list", "NAME", LIST_CMDS, list),
	  .help = "the list a command acts on (default: the top-level "
		  "one,\n\"default\"; override without it: every list)" },
	{ VALUE("to", "ADDRESS", ONLY(TEST), to) },
	{ VALUE("label", "TEXT", ONLY(ADD), label) },
	{ FLAG("force", CHANGES, force),
	  .help = "make a change the guards refuse (empty list, your own "
		  "address)" },
	{ VALUE("client", "IP", CHANGES, client),
	  .help = "your address, for the lockout guard (default: from "
		  "SSH_CONNECTION)" },
	{ VALUE("confirm", "DURATION", CHANGES, confirm),
	  .help = "undo the change after DURATION (at most 1h) unless\n"
		  "'ipgate confirm' comes first" },
	{ FLAG("dry-run", ONLY(APPLY), dry_run) },
	{ VALUE("port", "PORT", ONLY(TEST) | ONLY(KNOCK), port) },
	{ VALUE("lines", "N", ONLY(LOG) | ONLY(BLOCKED), lines),
	  .short_name = 'n', .check = check_count },
	{ FLAG("verify", ONLY(LOG), verify) },
	{ FLAG("follow", ONLY(BLOCKED), follow),
	  .help = "keep printing the sources as they are reported" },
	{ VALUE("for", "DURATION", ONLY(OVERRIDE) | ONLY(KNOCK) | ONLY(ADD),
		dur),
	  .help = "how long: an override, a knock's grant, or an entry\n"
		  "added (it stops matching then, and is removed)" },
	{ VALUE("until", "TIME", ONLY(ADD), until),
	  .help = "the entry added expires at TIME, such as\n"
		  "2026-12-01T18:00:00Z (or with an offset, +01:00)" },
	{ VALUE("reason", "TEXT", ONLY(OVERRIDE), reason) },
	{ FLAG("cancel", ONLY(OVERRIDE), cancel) },
	{ VALUE("id", "NAME", ONLY(BREAKGLASS) | ONLY(TOKEN), id) },
	{ VALUE("role", "ROLE", ONLY(TOKEN), role),
	  .help = "a token's role: admin (changes) or viewer (reads)" },
	{ VALUE("key", "FILE", ONLY(KNOCK), key) },
	{ VALUE("source", "IP", ONLY(KNOCK), source) },
	{ VALUE("anchors", "FILE", ONLY(LOG), anchors),
	  .help = "with log --verify: the journal's record anchors, as\n"
		  "'journalctl -o export IPGATE_AUDIT_LOG=LOG' writes (or -o "
		  "json);\n"
		  "a rewritten or cut log then fails, naming the first "
		  "record\n"
		  "that differs (- reads stdin)" },
	{ RUN("help", ALL_CMDS, cmd_help), .short_name = 'h' },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
/* Options seen are a mask of row indexes; getopt knows a long-only option
 * by OPT_VAL_BASE + its row index. */
_Static_assert(N_OPTIONS <= 32, "options seen must fit an unsigned int");
#define OPT_VAL_BASE 256

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ipgate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun 'ipgate help' for usage.\n");
	return EXIT_USAGE;
}

static int check_count(const char *arg)
{
	char *end;

	errno = 0;
	strtoul(arg, &end, 10);
	if (errno || *end || !*arg || *arg == '-')
		return usage_error("-n: \"%s\" is not a number", arg);
	return 0;
}

/* "--name", or "-x/--name" when it has a short form too. */
static const char *option_label(const struct cli_option *o, char *buf,
				size_t size)
{
	if (o->short_name)
		snprintf(buf, size, "-%c/--%s", o->short_name, o->name);
	else
		snprintf(buf, size, "--%s", o->name);
	return buf;
}

/* Prints @o's help, each line after the first under it in the help
 * column. */
static void print_option_help(FILE *f, const struct cli_option *o)
{
	const char *s = o->help, *nl;
	char head[48];

	snprintf(head, sizeof(head), "--%s%s%s", o->name, o->metavar ? " " : "",
		 o->metavar ? o->metavar : "");
	for (;;) {
		nl = strchr(s, '\n');
		fprintf(f, "  %-15s %.*s\n", head,
			nl ? (int)(nl - s) : (int)strlen(s), s);
		if (!nl)
			break;
		s = nl + 1;
		head[0] = '\0';
	}
}

void cli_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ipgate");
	for (i = 0; i < N_OPTIONS; i++)
		if (options[i].cmds == ALL_CMDS && options[i].help)
			fprintf(f, " [--%s%s%s]", options[i].name,
				options[i].metavar ? " " : "",
				options[i].metavar ? options[i].metavar : "");
	fprintf(f, " COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < CMD_COUNT; i++) {
		char head[96];

		snprintf(head, sizeof(head), "%s %s", commands[i].name,
			 commands[i].args);
		if (strlen(head) > 30)
			fprintf(f, "  %s\n  %-30s %s\n", head, "",
				commands[i].help);
		else
			fprintf(f, "  %-30s %s\n", head, commands[i].help);
	}
	fprintf(f, "\noptions:\n");
	for (i = 0; i < N_OPTIONS; i++)
		if (options[i].help)
			print_option_help(f, &options[i]);
	fprintf(f,
		"\nnotes:\n"
		"  labels are printable UTF-8: control characters are refused\n"
		"  a config that is a symlink or on a read-only mount (a "
		"ConfigMap) is managed\n"
		"    elsewhere: ipgated applies it, but refuses changes made "
		"here (EROFS)\n"
		"  exit: 0 done, 1 refused or failed (a reply cut short too), "
		"2 usage\n");
}

int cmd_help(struct cli *c)
{
	(void)c;
	cli_usage(stdout);
	return 0;
}

/* getopt_long's view of the table: @lo (N_OPTIONS + 1 rows) and @shorts
 * (2 * N_OPTIONS + 3 bytes). Words that are not options come back as 1, a
 * missing value as ':'. */
static void getopt_tables(struct option *lo, char *shorts)
{
	char *s = shorts;

	*s++ = '-';
	*s++ = ':';
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		lo[i] = (struct option){
			.name = o->name,
			.has_arg = o->kind == OPT_VALUE ? required_argument :
							  no_argument,
			.val = o->short_name ? o->short_name :
					       OPT_VAL_BASE + (int)i,
		};
		if (o->short_name) {
			*s++ = o->short_name;
			if (o->kind == OPT_VALUE)
				*s++ = ':';
		}
	}
	lo[N_OPTIONS] = (struct option){ 0 };
	*s = '\0';
}

/* The row getopt_long's @val stands for, or -1. */
static int option_row(int val)
{
	if (val >= OPT_VAL_BASE && val < OPT_VAL_BASE + (int)N_OPTIONS)
		return val - OPT_VAL_BASE;
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].short_name && options[i].short_name == val)
			return (int)i;
	return -1;
}

/* Stores option @o's value in @c. */
static void set_option(struct cli *c, const struct cli_option *o, char *arg)
{
	char *field = (char *)c + o->off;

	if (o->kind == OPT_FLAG)
		*(int *)field = 1;
	else
		*(const char **)field = arg;
}

/* Reads every option into @c and the other words into c->pos, putting the
 * rows seen in @seen and their count in @npos. Options may come before or
 * after the command. Returns 1 to go on, or 0 to exit with @status. */
static int read_args(struct cli *c, int argc, char **argv, unsigned int *seen,
		     int *npos, int *status)
{
	struct option lo[N_OPTIONS + 1];
	char shorts[2 * N_OPTIONS + 3];
	int val, row;

	getopt_tables(lo, shorts);
	opterr = 0;
	while (optind < argc) {
		val = getopt_long(argc, argv, shorts, lo, NULL);
		if (val == -1)
			break;
		if (val == 1 && *npos >= CLI_POS_MAX) {
			*status = usage_error("too many arguments%s", "");
			return 0;
		} else if (val == 1) {
			c->pos[(*npos)++] = optarg;
			continue;
		}
		row = val == ':' ? -1 : option_row(val);
		if (row < 0) {
			*status = usage_error(val == ':' ? "%s needs a value" :
							   "unknown option %s",
					      argv[optind - 1]);
			return 0;
		}
		if (options[row].kind == OPT_RUN) {
			*status = options[row].run(c);
			return 0;
		}
		set_option(c, &options[row], optarg);
		*seen |= 1u << row;
	}
	return 1;
}

/* Finds the command c->pos names and checks that it takes the options in
 * @seen and @npos - 1 arguments. Returns 0 or the exit status. */
static int pick_command(struct cli *c, unsigned int seen, int npos)
{
	const struct command *cmd = NULL;
	size_t i;
	int r;

	if (!npos) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < CMD_COUNT && !cmd; i++)
		if (!strcmp(commands[i].name, c->pos[0]))
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command \"%s\"", c->pos[0]);
	for (i = 0; i < N_OPTIONS; i++) {
		char label[48];

		if (!(seen & (1u << i)) ||
		    (options[i].cmds & CMD_BIT(cmd - commands)))
			continue;
		fprintf(stderr, "ipgate: %s does not take %s\n", cmd->name,
			option_label(&options[i], label, sizeof(label)));
		return EXIT_USAGE;
	}
	if (npos - 1 < cmd->min_args || npos - 1 > cmd->max_args) {
		fprintf(stderr, "ipgate: usage: ipgate %s %s\n", cmd->name,
			cmd->args);
		return EXIT_USAGE;
	}
	for (i = 0; i < N_OPTIONS; i++) {
		if (!(seen & (1u << i)) || !options[i].check)
			continue;
		r = options[i].check(
			*(const char **)((char *)c + options[i].off));
		if (r)
			return r;
	}
	c->cmd = cmd;
	c->argc = npos - 1;
	c->argv = c->pos + 1;
	return 0;
}

/* Does @cmd take the option called @name? */
static int takes_option(const struct command *cmd, const char *name)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return !!(options[i].cmds & CMD_BIT(cmd - commands));
	return 0;
}

/* The lockout guard needs the requester's address: --client says it, or
 * else an SSH session does, for the commands that pass the guard. */
static void find_client(struct cli *c)
{
	const char *ssh = getenv("SSH_CONNECTION");

	_Static_assert(sizeof(c->ssh_client) == 64, "matches %63s below");
	_Static_assert(sizeof(c->ssh_server) == 64, "matches %63s below");
	if (c->client) {
		c->client_source = "--client";
	} else if (ssh && takes_option(c->cmd, "client") &&
		   sscanf(ssh, "%63s", c->ssh_client) == 1) {
		c->client = c->ssh_client;
		c->client_source = "SSH_CONNECTION";
		/* The third field: the list guarding it is the one the
		 * session depends on. */
		if (sscanf(ssh, "%*s %*s %63s", c->ssh_server) != 1)
			c->ssh_server[0] = '\0';
	}
}

int main(int argc, char **argv)
{
	struct cli c = { .socket = IPG_SOCKET_DEFAULT };
	unsigned int seen = 0;
	int npos = 0, status;

	if (getenv("IPGATE_SOCKET"))
		c.socket = getenv("IPGATE_SOCKET");
	if (read_args(&c, argc, argv, &seen, &npos, &status)) {
		status = pick_command(&c, seen, npos);
		if (!status) {
			find_client(&c);
			status = c.cmd->fn(&c);
		}
	}
	ipg_ctl_free(&c.req);
	return status;
}
