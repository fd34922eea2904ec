// SPDX-License-Identifier: GPL-2.0
/* The legitimate client of the under-attack benchmark: one HTTP/1.0
 * request per TCP connection to ADDR:PORT for SECONDS, from BIND.
 * Prints "http OK FAILED SECONDS". */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request; 0 when a full "200" answer came back within a second. */
static int request(const struct sockaddr_in *to)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	struct timeval tv = { .tv_sec = 1 };
	char buf[512];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = -1;
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!connect(fd, (const struct sockaddr *)to, sizeof(*to)) &&
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == sizeof(req) - 1) {
		while ((n = recv(fd, buf + got, sizeof(buf) - 1 - (size_t)got,
				 0)) > 0)
			got += n;
		buf[got] = '\0';
		ok = n == 0 && strstr(buf, " 200 ") ? 0 : -1;
	}
	close(fd);
	return ok;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long ok = 0, failed = 0;
	double t0, secs;

	if (argc < 4 || !inet_aton(argv[1], &to.sin_addr)) {
		fprintf(stderr, "usage: bench_http ADDR PORT SECONDS\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	secs = atof(argv[3]);
	t0 = now_s();
	while (now_s() - t0 < secs) {
		if (request(&to))
			failed++;
		else
			ok++;
	}
	printf("http %lu %lu %.3f\n", ok, failed, now_s() - t0);
	return 0;
}
