/* SPDX-License-Identifier: GPL-2.0 */
/* The service manager's notification protocol (sd_notify(3)), by hand: one
 * datagram of KEY=VALUE lines to the AF_UNIX socket $NOTIFY_SOCKET names,
 * a path or an '@' abstract name. No libsystemd. */
#ifndef IPGATE_NOTIFY_H
#define IPGATE_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "buf.h"

struct ipg_notify {
	int fd; /* -1: no service manager to tell; sends do nothing */
	struct sockaddr_un sa;
	socklen_t sa_len;
	uint64_t watchdog_usec; /* 0: no watchdog asked of this process */
};

/* Parses a $NOTIFY_SOCKET value: an absolute path, or '@' and an abstract
 * name. Returns 0, -EINVAL (empty, relative), -EAFNOSUPPORT (vsock: and
 * other forms) or -ENAMETOOLONG. */
int ipg_notify_addr(const char *s, struct sockaddr_un *sa, socklen_t *len);
/* The watchdog interval $WATCHDOG_USEC asks of process @self: 0 when unset,
 * not a number, zero, or when $WATCHDOG_PID is set to another process. */
uint64_t ipg_notify_watchdog(const char *usec, const char *pid, pid_t self);
/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID, once, and opens
 * the socket. Unset: 0, with @n->fd = -1. A bad value: a negative errno,
 * @n->fd = -1. */
int ipg_notify_open(struct ipg_notify *n);
/* Appends the line KEY=VALUE to @b; a newline in the value becomes a space
 * (every field ipgate sends is one line). */
void ipg_notify_field(struct ipg_buf *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends @b's lines as one datagram, waiting at most 250 ms for room.
 * Returns 0 (also when there is no socket) or a negative errno. */
int ipg_notify_send(const struct ipg_notify *n, const struct ipg_buf *b);
void ipg_notify_close(struct ipg_notify *n);

#endif
