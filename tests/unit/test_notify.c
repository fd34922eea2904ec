// SPDX-License-Identifier: GPL-2.0
/* sd_notify by hand: $NOTIFY_SOCKET's two address forms, the datagram that
 * reaches a bound socket of each, one-line fields, the watchdog's
 * environment, and silence without the variable. No root needed. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "notify.h"

/* A datagram socket bound to @addr (a path or '@' name; bound here as
 * systemd binds it, not through the code under test) that @n sends to:
 * returns its fd, or -1 after failing the test. */
static int listener(const char *addr, struct ipg_notify *n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    strlen(addr));
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	memcpy(sa.sun_path, addr, strlen(addr));
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	else
		unlink(addr);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len)) {
		harness_fail(__FILE__, __LINE__, "cannot bind %s: %s", addr,
			     strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", addr, 1);
	if (ipg_notify_open(n) || n->fd < 0) {
		harness_fail(__FILE__, __LINE__, "ipg_notify_open(%s) failed",
			     addr);
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends READY=1 and a STATUS through @n; the bytes @fd receives must be
 * exactly those lines. */
static void ready_reaches(struct ipg_notify *n, int fd)
{
	struct ipg_buf b = { 0 };
	char got[256];
	ssize_t len;

	ipg_notify_field(&b, "READY", "1");
	ipg_notify_field(&b, "STATUS", "generation %d, %d entries", 3, 2);
	ASSERT_OK(ipg_notify_send(n, &b));
	ipg_buf_free(&b);
	len = recv(fd, got, sizeof(got) - 1, 0);
	ASSERT_TRUE(len > 0);
	got[len] = '\0';
	ASSERT_STR(got, "READY=1\nSTATUS=generation 3, 2 entries\n");
}

TEST(test_notify_reaches_a_path_socket)
{
	char path[64];
	struct ipg_notify n;
	int fd;

	snprintf(path, sizeof(path), "/tmp/ipg-test-notify-%d.sock",
		 (int)getpid());
	fd = listener(path, &n);
	if (fd < 0)
		return;
	ready_reaches(&n, fd);
	close(fd);
	unlink(path);
	ipg_notify_close(&n);
}

TEST(test_notify_reaches_an_abstract_socket)
{
	char name[64];
	struct ipg_notify n;
	int fd;

	snprintf(name, sizeof(name), "@ipg-test-notify-%d", (int)getpid());
	fd = listener(name, &n);
	if (fd < 0)
		return;
	ready_reaches(&n, fd);
	close(fd);
	ipg_notify_close(&n);
}

TEST(test_notify_address_forms)
{
	struct sockaddr_un sa;
	socklen_t len;
	char long_path[sizeof(sa.sun_path) + 2];

	ASSERT_OK(ipg_notify_addr("/run/systemd/notify", &sa, &len));
	ASSERT_STR(sa.sun_path, "/run/systemd/notify");
	ASSERT_EQ(len, offsetof(struct sockaddr_un, sun_path) +
			       sizeof("/run/systemd/notify"));
	/* Abstract: a NUL, then the name's bytes, no NUL counted at the end. */
	ASSERT_OK(ipg_notify_addr("@sd/x", &sa, &len));
	ASSERT_EQ(sa.sun_path[0], '\0');
	ASSERT_TRUE(!memcmp(sa.sun_path + 1, "sd/x", 4));
	ASSERT_EQ(len, offsetof(struct sockaddr_un, sun_path) + 5);
	ASSERT_EQ(ipg_notify_addr("", &sa, &len), -EINVAL);
	ASSERT_EQ(ipg_notify_addr("@", &sa, &len), -EINVAL);
	ASSERT_EQ(ipg_notify_addr("run/notify", &sa, &len), -EINVAL);
	ASSERT_EQ(ipg_notify_addr("vsock:2:1234", &sa, &len), -EAFNOSUPPORT);
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	ASSERT_EQ(ipg_notify_addr(long_path, &sa, &len), -ENAMETOOLONG);
	/* A path that fills sun_path but for its NUL fits. */
	long_path[sizeof(sa.sun_path) - 1] = '\0';
	ASSERT_OK(ipg_notify_addr(long_path, &sa, &len));
}

TEST(test_notify_field_is_one_line)
{
	struct ipg_buf b = { 0 };

	ipg_notify_field(&b, "STATUS", "%s", "two\nlines");
	ipg_notify_field(&b, "WATCHDOG", "1");
	ASSERT_TRUE(b.s != NULL);
	ASSERT_STR(b.s, "STATUS=two lines\nWATCHDOG=1\n");
	ipg_buf_free(&b);
}

TEST(test_notify_unset_sends_nothing)
{
	struct ipg_notify n;
	struct ipg_buf b = { 0 };

	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "2000000", 1);
	ASSERT_OK(ipg_notify_open(&n));
	ASSERT_EQ(n.fd, -1);
	ASSERT_EQ(n.watchdog_usec, 0);
	ipg_notify_field(&b, "READY", "1");
	ASSERT_OK(ipg_notify_send(&n, &b));
	ipg_buf_free(&b);
	unsetenv("WATCHDOG_USEC");
}

TEST(test_notify_bad_address_is_refused)
{
	struct ipg_notify n;

	setenv("NOTIFY_SOCKET", "relative/path", 1);
	ASSERT_EQ(ipg_notify_open(&n), -EINVAL);
	ASSERT_EQ(n.fd, -1);
	unsetenv("NOTIFY_SOCKET");
}

TEST(test_notify_gone_manager_is_an_error)
{
	struct ipg_notify n;
	struct ipg_buf b = { 0 };

	setenv("NOTIFY_SOCKET", "@ipg-test-notify-nobody-listens", 1);
	ASSERT_OK(ipg_notify_open(&n));
	ipg_notify_field(&b, "READY", "1");
	ASSERT_EQ(ipg_notify_send(&n, &b), -ECONNREFUSED);
	ipg_buf_free(&b);
	ipg_notify_close(&n);
	unsetenv("NOTIFY_SOCKET");
}

TEST(test_watchdog_interval_for_this_process_only)
{
	ASSERT_EQ(ipg_notify_watchdog("2000000", NULL, 42), 2000000);
	ASSERT_EQ(ipg_notify_watchdog("2000000", "", 42), 2000000);
	ASSERT_EQ(ipg_notify_watchdog("2000000", "42", 42), 2000000);
	ASSERT_EQ(ipg_notify_watchdog("2000000", "43", 42), 0);
	ASSERT_EQ(ipg_notify_watchdog("2000000", "4x", 42), 0);
	ASSERT_EQ(ipg_notify_watchdog(NULL, NULL, 42), 0);
	ASSERT_EQ(ipg_notify_watchdog("", NULL, 42), 0);
	ASSERT_EQ(ipg_notify_watchdog("0", NULL, 42), 0);
	ASSERT_EQ(ipg_notify_watchdog("-5", NULL, 42), 0);
	ASSERT_EQ(ipg_notify_watchdog("30s", NULL, 42), 0);
}

TEST(test_watchdog_read_from_environment)
{
	struct ipg_notify n;
	char pid[16];

	setenv("NOTIFY_SOCKET", "@ipg-test-notify-wd", 1);
	setenv("WATCHDOG_USEC", "30000000", 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	ASSERT_OK(ipg_notify_open(&n));
	ASSERT_EQ(n.watchdog_usec, 30000000);
	ipg_notify_close(&n);
	setenv("WATCHDOG_PID", "1", 1);
	ASSERT_OK(ipg_notify_open(&n));
	ASSERT_EQ(n.watchdog_usec, 0);
	ipg_notify_close(&n);
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	unsetenv("NOTIFY_SOCKET");
}

int main(int argc, char **argv)
{
	return harness_main("unit/notify", argc, argv, NULL, NULL);
}
