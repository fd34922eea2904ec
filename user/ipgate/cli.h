/* SPDX-License-Identifier: GPL-2.0 */
/* The CLI's shared state: what the options set for one run, and the command
 * table that main.c dispatches on and generates usage from. */
#ifndef IPGATE_CLI_H
#define IPGATE_CLI_H

#include <stdio.h>

#include "ctl.h"

#define EXIT_USAGE 2
/* Positional words on one command line, the command's name included. */
#define CLI_POS_MAX 8

/* Every command, as its index in commands[]; an option names the commands
 * that take it as a mask of CMD_BIT()s. */
enum cmd_id {
	CMD_STATUS,
	CMD_LIST,
	CMD_LISTS,
	CMD_ADD,
	CMD_REMOVE,
	CMD_ENABLE,
	CMD_DISABLE,
	CMD_APPLY,
	CMD_TEST,
	CMD_LOG,
	CMD_DETACH,
	CMD_ATTACH,
	CMD_OVERRIDE,
	CMD_BREAKGLASS,
	CMD_KNOCK,
	CMD_TOKEN,
	CMD_CONFIRM,
	CMD_BLOCKED,
	CMD_FLEET,
	CMD_HELP,
	CMD_COUNT
};

#define CMD_BIT(id) (1u << (id))

/* One run of the CLI: the options' values, the command and its arguments,
 * and the request being built for ipgated. */
struct cli {
	const char *socket, *label, *client, *client_source, *port, *lines;
	const char *dur, *reason, *id, *key, *source, *role, *confirm, *until;
	const char *anchors; /* log --verify --anchors FILE */
	const char *list, *to; /* --list NAME, test --to ADDRESS */
	int json, force, dry_run, verify, cancel, follow;
	int argc;
	char **argv; /* the command's positional arguments */
	const struct command *cmd;
	struct ipg_ctl_msg req;
	char *pos[CLI_POS_MAX];
	char ssh_client[64]; /* the address SSH_CONNECTION names */
	char ssh_server[64]; /* ... and the host's address it came to */
};

/* A command: its usage line is "name args", followed by help. */
struct command {
	const char *name, *args;
	int min_args, max_args;
	int (*fn)(struct cli *c); /* returns the exit status */
	const char *help;
};

/* Indexed by enum cmd_id (cmds.c). */
extern const struct command commands[CMD_COUNT];

/* Prints the usage text, generated from the command and option tables. */
void cli_usage(FILE *f);

/* The handlers that live outside cmds.c. */
int cmd_help(struct cli *c); /* main.c */
int cmd_knock(struct cli *c); /* knock.c */

#endif
