// SPDX-License-Identifier: GPL-2.0
/* ipgate knock: the client side of break-glass. It runs anywhere, needs no
 * daemon, and sends one UDP datagram that no one answers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netdb.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <openssl/rand.h>

#include "buf.h"
#include "cli.h"
#include "config.h"
#include "knock.h"
#include "log.h"
#include "prefix.h"

/* The largest key file read. */
#define KNOCK_KEY_FILE_MAX 4096

/* Checks what the daemon never sees: a key is named and --for fits a
 * grant. Returns 0, or -EINVAL after saying why. */
static int knock_args(const struct cli *c, struct ipg_knock *k)
{
	if (!c->key) {
		fprintf(stderr, "ipgate: knock needs --key FILE (from 'ipgate "
				"breakglass keygen')\n");
		return -EINVAL;
	}
	if (c->dur && (ipg_duration_parse(c->dur, &k->duration_s) ||
		       !k->duration_s || k->duration_s > IPG_GRANT_MAX_S)) {
		fprintf(stderr,
			"ipgate: --for: \"%s\" is not a duration from 1s "
			"to 60m\n",
			c->dur);
		return -EINVAL;
	}
	return 0;
}

/* Reads the key file at @path into @k's key id and @key. Returns 0, or a
 * negative errno after saying why. */
static int knock_key(const char *path, struct ipg_knock *k, uint8_t *key)
{
	struct ipg_error e = { { 0 } };
	struct ipg_buf kf = { 0 };
	int r;

	r = ipg_read_file(path, KNOCK_KEY_FILE_MAX, &kf);
	if (!r)
		r = ipg_knock_key_parse(kf.s, k->key_id, key, &e);
	else
		ipg_fail(&e, r, "cannot read %s: %s", path, strerror(-r));
	ipg_buf_free(&kf);
	if (r)
		fprintf(stderr, "ipgate: %s\n", e.msg);
	return r;
}

/* The local address the kernel would send from to reach @to. */
static int source_for(const struct sockaddr *to, socklen_t len,
		      struct sockaddr_storage *src)
{
	socklen_t sl = sizeof(*src);
	int fd = socket(to->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, to, len) ||
	    getsockname(fd, (struct sockaddr *)src, &sl))
		r = -errno;
	close(fd);
	return r;
}

/* Puts the address this host reaches @host from into @out. Returns 0, or
 * a negative errno after saying why. */
static int knock_route(const char *host, const struct addrinfo *ai,
		       struct ipg_prefix *out)
{
	struct sockaddr_storage src;
	int r;

	r = source_for(ai->ai_addr, ai->ai_addrlen, &src);
	if (r) {
		fprintf(stderr, "ipgate: no route to %s; give --source IP\n",
			host);
		return r;
	}
	/* getsockname() on an AF_INET/AF_INET6 socket gives one of those. */
	ipg_prefix_from_sockaddr((struct sockaddr *)&src, out);
	return 0;
}

/* Stamps @k with the time and a fresh nonce, seals it with @key and sends
 * it to @ai. Returns 0, or a negative errno after saying why. */
static int knock_send(struct ipg_knock *k, const uint8_t *key, const char *host,
		      const struct addrinfo *ai)
{
	uint8_t pkt[IPG_KNOCK_MAX_LEN];
	size_t len;
	int fd, r = 0;

	k->timestamp = (uint64_t)time(NULL);
	if (RAND_bytes(k->nonce, sizeof(k->nonce)) != 1) {
		fprintf(stderr, "ipgate: no random bytes for the nonce\n");
		return -EIO;
	}
	len = ipg_knock_encode(k, key, pkt, sizeof(pkt));
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !len ||
	    sendto(fd, pkt, len, 0, ai->ai_addr, ai->ai_addrlen) !=
		    (ssize_t)len) {
		r = errno ? -errno : -EIO;
		fprintf(stderr, "ipgate: cannot send the knock to %s: %s\n",
			host, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int cmd_knock(struct cli *c)
{
	const char *host = c->argv[0], *port = c->port ? c->port : "62201";
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	uint8_t key[IPG_KNOCK_KEY_BYTES];
	struct ipg_error e = { { 0 } };
	struct ipg_knock k = { 0 };
	char addr[IPG_PREFIX_STRLEN];
	int r;

	if (knock_args(c, &k))
		return EXIT_USAGE;
	if (knock_key(c->key, &k, key))
		return 1;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		fprintf(stderr, "ipgate: cannot resolve %s port %s: %s\n", host,
			port, gai_strerror(r));
		explicit_bzero(key, sizeof(key));
		return 1;
	}
	if (c->source && ipg_addr_parse(c->source, &k.source, &e)) {
		fprintf(stderr, "ipgate: --source: %s\n", e.msg);
		r = EXIT_USAGE;
	} else if (!c->source && knock_route(host, ai, &k.source)) {
		r = 1;
	} else {
		r = knock_send(&k, key, host, ai) ? 1 : 0;
	}
	explicit_bzero(key, sizeof(key));
	freeaddrinfo(ai);
	if (r)
		return r;
	ipg_prefix_format(&k.source, addr, sizeof(addr));
	printf("knocked on %s udp/%s for %s (key %s, %s asked); no reply comes. "
	       "If the key is good, %s can reach the API in a moment.\n",
	       host, port, addr, k.key_id, c->dur ? c->dur : "15m", addr);
	return 0;
}
