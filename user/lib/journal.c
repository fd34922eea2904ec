// SPDX-License-Identifier: GPL-2.0
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"

/* One field: KEY=VALUE, or, for a value holding a newline, KEY, the
 * length as 64-bit little endian, the value. */
static void field(struct ipg_buf *b, const char *key, const char *val)
{
	size_t n = strlen(val);
	uint64_t le = htole64(n);

	if (!memchr(val, '\n', n)) {
		ipg_buf_printf(b, "%s=%s\n", key, val);
		return;
	}
	ipg_buf_printf(b, "%s\n", key);
	ipg_buf_append(b, &le, sizeof(le));
	ipg_buf_append(b, val, n);
	ipg_buf_append(b, "\n", 1);
}

int ipg_journal_send(const char *path, const struct ipg_jfield *f, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	/* journald busy: wait a little, never stall the daemon for long. */
	struct timeval tv = { .tv_usec = 100000 };
	struct ipg_buf b = { 0 };
	int fd, r = 0;

	if (!path)
		path = IPG_JOURNAL_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	for (size_t i = 0; i < n; i++)
		if (f[i].val)
			field(&b, f[i].key, f[i].val);
	if (b.oom) {
		ipg_buf_free(&b);
		return -ENOMEM;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (sendto(fd, b.s, b.len, MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   sizeof(sa)) < 0)
			r = -errno;
		close(fd);
	}
	ipg_buf_free(&b);
	return r;
}

int ipg_journal_stderr(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st))
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}
