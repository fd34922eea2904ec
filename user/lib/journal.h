/* SPDX-License-Identifier: GPL-2.0 */
/* journald's native protocol: one datagram of KEY=VALUE fields to its
 * socket (what sd_journal_send() does, without libsystemd). */
#ifndef IPGATE_JOURNAL_H
#define IPGATE_JOURNAL_H

#include <stddef.h>

#define IPG_JOURNAL_SOCKET "/run/systemd/journal/socket"

struct ipg_jfield {
	const char *key; /* A-Z, 0-9 and _, not starting with _ */
	const char *val;
};

/* Sends one entry of the @n fields @f to the journal socket at @path
 * (IPG_JOURNAL_SOCKET when NULL); waits at most 100 ms for a busy journal.
 * Returns 0 or a negative errno. */
int ipg_journal_send(const char *path, const struct ipg_jfield *f, size_t n);

/* Whether standard error is the journal's stream: $JOURNAL_STREAM names
 * its device and inode, as systemd sets it for a service. */
int ipg_journal_stderr(void);

#endif
