// SPDX-License-Identifier: GPL-2.0
/* sd_notify(3) by hand; the protocol is systemd's documented, stable
 * interface for reimplementations (sd_notify(3), "NOTES"). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "notify.h"

int ipg_notify_addr(const char *s, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(s);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (s[0] != '/' && s[0] != '@')
		/* "vsock:CID:PORT" and any other SCHEME: form. */
		return n && strchr(s, ':') ? -EAFNOSUPPORT : -EINVAL;
	if (n < 2)
		return -EINVAL;
	/* A path keeps its NUL; an abstract name is its bytes after a NUL. */
	if (n + (s[0] == '/') > sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			   (s[0] == '/'));
	return 0;
}

uint64_t ipg_notify_watchdog(const char *usec, const char *pid, pid_t self)
{
	unsigned long long v, p;
	char *end;

	if (!usec || !*usec || *usec == '-')
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno || *end)
		return 0;
	if (pid && *pid) {
		errno = 0;
		p = strtoull(pid, &end, 10);
		if (errno || *end || *pid == '-' ||
		    p != (unsigned long long)self)
			return 0;
	}
	return v;
}

int ipg_notify_open(struct ipg_notify *n)
{
	const char *s = getenv("NOTIFY_SOCKET");
	int r;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!s)
		return 0;
	r = ipg_notify_addr(s, &n->sa, &n->sa_len);
	if (r)
		return r;
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	/* A busy manager: wait a little, never stall the daemon's loop. */
	setsockopt(n->fd, SOL_SOCKET, SO_SNDTIMEO,
		   &(struct timeval){ .tv_usec = 250000 },
		   sizeof(struct timeval));
	n->watchdog_usec = ipg_notify_watchdog(
		getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
	return 0;
}

void ipg_notify_field(struct ipg_buf *b, const char *key, const char *fmt, ...)
{
	size_t from;
	va_list ap;
	char *v;

	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (!v) {
		b->oom = 1;
		return;
	}
	ipg_buf_printf(b, "%s=", key);
	from = b->len;
	ipg_buf_printf(b, "%s\n", v);
	free(v);
	if (b->oom)
		return;
	for (size_t i = from; i + 1 < b->len; i++)
		if (b->s[i] == '\n')
			b->s[i] = ' ';
}

int ipg_notify_send(const struct ipg_notify *n, const struct ipg_buf *b)
{
	ssize_t r;

	if (n->fd < 0)
		return 0;
	if (b->oom || !b->len)
		return b->oom ? -ENOMEM : -EINVAL;
	do
		r = sendto(n->fd, b->s, b->len, MSG_NOSIGNAL,
			   (const struct sockaddr *)&n->sa, n->sa_len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

void ipg_notify_close(struct ipg_notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
