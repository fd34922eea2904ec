// SPDX-License-Identifier: GPL-2.0
/* A paced HTTP/1.1 client on one keep-alive connection: RATE requests a
 * second for SECONDS, "GET PATH" with Host: HOST to ADDR:PORT, each sent at
 * its scheduled time (or at once when the last answer came late). Prints
 * "check KIND MICROSECONDS STATUS" per request, from the send to the last
 * byte of the answer, then "check_late KIND N" (requests sent late by more
 * than 100 us: the answer before them took longer than the interval).
 *   bench_check ADDR PORT HOST PATH RATE SECONDS KIND */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void sleep_until_us(double t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1e6),
		.tv_nsec = (long)((t - (double)(time_t)(t / 1e6) * 1e6) * 1e3)
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static int connect_to(const struct sockaddr_in *to)
{
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* One answer on @fd: its status, or negative errno. Reads the headers and
 * Content-Length bytes of body (every answer here has one). */
static int answer(int fd)
{
	char buf[8192];
	size_t got = 0;
	char *end, *cl;
	long body;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		got += (size_t)n;
		buf[got] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (got == sizeof(buf) - 1)
			return -E2BIG;
	}
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (!cl || cl > end)
		return -EPROTO;
	body = strtol(cl + 17, NULL, 10) -
	       (long)(got - (size_t)(end + 4 - buf));
	while (body > 0) {
		n = recv(fd, buf,
			 sizeof(buf) < (size_t)body ? sizeof(buf) :
						      (size_t)body,
			 0);
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		body -= n;
	}
	return atoi(buf + 9);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	char req[512];
	double rate, secs, t0, t, sent;
	unsigned long late = 0;
	long n, i;
	int fd, len;

	if (argc != 8 || !inet_aton(argv[1], &to.sin_addr)) {
		fprintf(stderr, "usage: bench_check ADDR PORT HOST PATH RATE "
				"SECONDS KIND\n");
		return 2;
	}
	to.sin_port = htons((uint16_t)atoi(argv[2]));
	rate = atof(argv[5]);
	secs = atof(argv[6]);
	if (rate <= 0 || secs <= 0) {
		fprintf(stderr, "bench_check: RATE and SECONDS must be > 0\n");
		return 2;
	}
	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
		       "bench_check\r\n\r\n",
		       argv[4], argv[3]);
	fd = connect_to(&to);
	if (fd < 0) {
		fprintf(stderr, "bench_check: cannot connect to %s:%s: %s\n",
			argv[1], argv[2], strerror(-fd));
		return 1;
	}
	n = (long)(rate * secs);
	t0 = now_us() + 1000;
	for (i = 0; i < n; i++) {
		int st;

		t = t0 + (double)i * 1e6 / rate;
		sleep_until_us(t);
		sent = now_us();
		if (sent - t > 100)
			late++;
		if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
			fprintf(stderr, "bench_check: send: %s\n",
				strerror(errno));
			return 1;
		}
		st = answer(fd);
		if (st < 0) {
			fprintf(stderr,
				"bench_check: request %ld: no answer: %s\n", i,
				strerror(-st));
			return 1;
		}
		printf("check %s %.1f %d\n", argv[7], now_us() - sent, st);
	}
	printf("check_late %s %lu\n", argv[7], late);
	close(fd);
	return 0;
}
