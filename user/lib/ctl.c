// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

const struct ipg_ctl_limits ipg_ctl_request_limits = {
	.value_max = IPG_CTL_VALUE_MAX,
	.msg_max = IPG_CTL_MSG_MAX,
}, ipg_ctl_reply_limits = {
	.value_max = IPG_CTL_REPLY_MAX,
	.msg_max = IPG_CTL_REPLY_MAX + (64u << 10),
};

static int key_ok(const char *k)
{
	size_t n = strlen(k);

	if (!n || n >= IPG_CTL_KEY_MAX)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
		      *k == '-' || *k == '_'))
			return 0;
	return 1;
}

static struct ipg_ctl_field *find(const struct ipg_ctl_msg *m, const char *key)
{
	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->f[i].key, key))
			return (struct ipg_ctl_field *)&m->f[i];
	return NULL;
}

int ipg_ctl_setn(struct ipg_ctl_msg *m, const char *key, const char *val,
		 size_t len)
{
	struct ipg_ctl_field *f = find(m, key);
	char *v;

	if (!key_ok(key))
		return -EINVAL;
	if (len > IPG_CTL_REPLY_MAX)
		return -E2BIG;
	if (!f && m->n >= IPG_CTL_FIELDS_MAX)
		return -E2BIG;
	v = malloc(len + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, val, len);
	v[len] = '\0';
	if (!f) {
		f = &m->f[m->n++];
		snprintf(f->key, sizeof(f->key), "%s", key);
	} else {
		free(f->val);
	}
	f->val = v;
	f->len = len;
	return 0;
}

int ipg_ctl_set(struct ipg_ctl_msg *m, const char *key, const char *val)
{
	return ipg_ctl_setn(m, key, val, strlen(val));
}

int ipg_ctl_setf(struct ipg_ctl_msg *m, const char *key, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r, n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = ipg_ctl_setn(m, key, s, (size_t)n);
	free(s);
	return r;
}

const char *ipg_ctl_get(const struct ipg_ctl_msg *m, const char *key)
{
	struct ipg_ctl_field *f = find(m, key);

	return f ? f->val : NULL;
}

const char *ipg_ctl_getn(const struct ipg_ctl_msg *m, const char *key,
			 size_t *len)
{
	struct ipg_ctl_field *f = find(m, key);

	if (f)
		*len = f->len;
	return f ? f->val : NULL;
}

int ipg_ctl_flag(const struct ipg_ctl_msg *m, const char *key)
{
	const char *v = ipg_ctl_get(m, key);

	return v && !strcmp(v, "1");
}

void ipg_ctl_free(struct ipg_ctl_msg *m)
{
	for (int i = 0; i < m->n; i++)
		free(m->f[i].val);
	memset(m, 0, sizeof(*m));
}

int ipg_ctl_encode(const struct ipg_ctl_msg *m, struct ipg_buf *out)
{
	ipg_buf_printf(out, IPG_CTL_MAGIC " %d\n", m->n);
	for (int i = 0; i < m->n; i++) {
		ipg_buf_printf(out, "%s %zu\n", m->f[i].key, m->f[i].len);
		ipg_buf_append(out, m->f[i].val, m->f[i].len);
		ipg_buf_printf(out, "\n");
	}
	return out->oom ? -ENOMEM : 0;
}

/* Reads a decimal in [0, max] ending at @end; returns -1 when it is not. */
static long long read_num(const char *s, const char *end, long long max)
{
	long long v = 0;

	if (s == end || (*s == '0' && end - s > 1))
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* Decodes field @i at *@pos into @m and moves *@pos past it. Returns 0,
 * -EAGAIN when the field is not all there yet, or an error in @e. */
static int decode_field(const char **pos, const char *end,
			const struct ipg_ctl_limits *lim, struct ipg_ctl_msg *m,
			long long i, struct ipg_error *e)
{
	const char *p = *pos, *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
	char key[IPG_CTL_KEY_MAX];
	long long vlen;

	if (!nl)
		return -EAGAIN;
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (!sp || sp - p >= IPG_CTL_KEY_MAX)
		return ipg_fail(e, -EBADMSG,
				"field %lld: expected \"KEY LENGTH\"", i + 1);
	memcpy(key, p, (size_t)(sp - p));
	key[sp - p] = '\0';
	vlen = read_num(sp + 1, nl, (long long)lim->value_max);
	if (!key_ok(key) || vlen < 0)
		return ipg_fail(e, -EBADMSG,
				"field %lld: bad key or length (keys are "
				"[a-z0-9_-], values at most %zu bytes)",
				i + 1, lim->value_max);
	if (find(m, key))
		return ipg_fail(e, -EBADMSG, "field \"%s\" given twice", key);
	p = nl + 1;
	if ((size_t)(end - p) < (size_t)vlen + 1)
		return -EAGAIN;
	if (p[vlen] != '\n')
		return ipg_fail(e, -EBADMSG,
				"field \"%s\": value is not followed by a "
				"newline",
				key);
	if (ipg_ctl_setn(m, key, p, (size_t)vlen))
		return ipg_fail(e, -ENOMEM, "out of memory");
	*pos = p + vlen + 1;
	return 0;
}

int ipg_ctl_decode(const char *buf, size_t len,
		   const struct ipg_ctl_limits *lim, struct ipg_ctl_msg *m,
		   size_t *used, struct ipg_error *e)
{
	const char *p = buf, *end = buf + len, *nl, *sp;
	long long n;
	int r = -EAGAIN;

	memset(m, 0, sizeof(*m));
	nl = memchr(p, '\n', len);
	if (!nl)
		goto more;
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (!sp || (size_t)(sp - p) != strlen(IPG_CTL_MAGIC) ||
	    memcmp(p, IPG_CTL_MAGIC, (size_t)(sp - p))) {
		r = ipg_fail(e, -EBADMSG,
			     "not an ipgate control message (expected "
			     "\"" IPG_CTL_MAGIC " N\" first)");
		goto bad;
	}
	n = read_num(sp + 1, nl, IPG_CTL_FIELDS_MAX);
	if (n < 0) {
		r = ipg_fail(e, -EBADMSG,
			     "field count is not a number from 0 to %d",
			     IPG_CTL_FIELDS_MAX);
		goto bad;
	}
	p = nl + 1;
	for (long long i = 0; i < n; i++) {
		r = decode_field(&p, end, lim, m, i, e);
		if (r == -EAGAIN)
			goto more;
		if (r)
			goto bad;
	}
	*used = (size_t)(p - buf);
	return 0;
more:
	ipg_ctl_free(m);
	if (len >= lim->msg_max)
		return ipg_fail(e, -EBADMSG, "message longer than %zu bytes",
				lim->msg_max);
	return -EAGAIN;
bad:
	ipg_ctl_free(m);
	return r;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Connects to the daemon's socket at @path; returns the fd, or a negative
 * errno with a message saying what to check. */
static int ctl_connect(const char *path, struct ipg_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ipg_fail(e, -ENAMETOOLONG, "socket path %s is too long",
				path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ipg_fail(e, -errno, "socket: %s", strerror(errno));
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	r = -errno;
	close(fd);
	if (r == -ENOENT || r == -ECONNREFUSED)
		return ipg_fail(e, r,
				"cannot reach ipgated at %s: %s; is the daemon "
				"running?",
				path, strerror(-r));
	return ipg_fail(
		e, r, "cannot connect to %s: %s%s", path, strerror(-r),
		r == -EACCES ? " (root or the ipgate group may use it)" : "");
}

int ipg_ctl_call(const char *path, const struct ipg_ctl_msg *req,
		 struct ipg_ctl_msg *rep, struct ipg_error *e)
{
	struct ipg_buf out = { 0 }, in = { 0 };
	size_t used;
	int fd, r;

	memset(rep, 0, sizeof(*rep));
	fd = ctl_connect(path, e);
	if (fd < 0)
		return fd;
	r = ipg_ctl_encode(req, &out);
	if (!r)
		r = write_all(fd, out.s, out.len);
	ipg_buf_free(&out);
	/* A daemon that refuses a connection (permissions, too many) answers
	 * and closes without reading the request: read that answer. */
	if (r == -EPIPE || r == -ECONNRESET)
		r = 0;
	if (r) {
		close(fd);
		return ipg_fail(e, r, "cannot send to ipgated: %s",
				strerror(-r));
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		char chunk[65536];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ipg_fail(e, -errno, "cannot read from ipgated: %s",
				     strerror(errno));
			break;
		}
		if (n == 0 && !in.len) {
			r = ipg_fail(e, -ECONNRESET,
				     "ipgated closed the "
				     "connection without an answer (see its "
				     "log)");
			break;
		}
		if (n == 0) {
			r = ipg_fail(e, -ECONNRESET,
				     "ipgated closed the connection after %zu "
				     "bytes of an unfinished answer; nothing "
				     "printed (see its log)",
				     in.len);
			break;
		}
		ipg_buf_append(&in, chunk, (size_t)n);
		if (in.oom) {
			r = ipg_fail(e, -ENOMEM, "out of memory");
			break;
		}
		r = ipg_ctl_decode(in.s, in.len, &ipg_ctl_reply_limits, rep,
				   &used, e);
		if (r != -EAGAIN)
			break;
	}
	close(fd);
	ipg_buf_free(&in);
	return r;
}

const char *ipg_ctl_code_name(int err)
{
	switch (-err) {
	case 0:
		return "ok";
	case EINVAL:
		return "EINVAL";
	case ENOSPC:
		return "ENOSPC";
	case EEXIST:
		return "EEXIST";
	case ENOENT:
		return "ENOENT";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EBADMSG:
		return "EBADMSG";
	case EBUSY:
		return "EBUSY";
	case ENOTSUP:
		return "ENOTSUP";
	case EROFS:
		return "EROFS";
	case ESTALE:
		return "ESTALE";
	case EAGAIN:
		return "EAGAIN";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	default:
		return "EIO";
	}
}
