/* SPDX-License-Identifier: GPL-2.0 */
/* The control protocol between ipgate and ipgated, both ends. The wire
 * format is documented once, in the README ("Control protocol"). */
#ifndef IPGATE_CTL_H
#define IPGATE_CTL_H

#include <stddef.h>

#include "buf.h"
#include "log.h"

#define IPG_SOCKET_DEFAULT "/run/ipgate/ipgate.sock"
#define IPG_CTL_MAGIC "ipgate/1"
#define IPG_CTL_FIELDS_MAX 16
#define IPG_CTL_KEY_MAX 32
/* Requests: room for an `apply` of a generous config file. */
#define IPG_CTL_VALUE_MAX (1u << 20)
#define IPG_CTL_MSG_MAX (2u << 20)
/* Replies: room for `log -n 0` of a long rotated audit log. */
#define IPG_CTL_REPLY_MAX (1u << 30)

/* How large one decoded message and each of its values may be. */
struct ipg_ctl_limits {
	size_t value_max, msg_max;
};
extern const struct ipg_ctl_limits ipg_ctl_request_limits, ipg_ctl_reply_limits;

struct ipg_ctl_field {
	char key[IPG_CTL_KEY_MAX];
	char *val; /* NUL-ended; may also hold NULs within len */
	size_t len;
};

/* One request or reply: named fields, each at most once. */
struct ipg_ctl_msg {
	int n;
	struct ipg_ctl_field f[IPG_CTL_FIELDS_MAX];
};

/* Sets @key to @len bytes of @val (replacing an earlier value). Returns 0
 * or -ENOMEM/-E2BIG (past IPG_CTL_REPLY_MAX)/-EINVAL (bad key). */
int ipg_ctl_setn(struct ipg_ctl_msg *m, const char *key, const char *val,
		 size_t len);
int ipg_ctl_set(struct ipg_ctl_msg *m, const char *key, const char *val);
int ipg_ctl_setf(struct ipg_ctl_msg *m, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value of @key, or NULL. */
const char *ipg_ctl_get(const struct ipg_ctl_msg *m, const char *key);
/* The value of @key and its length (values may hold NUL bytes), or NULL. */
const char *ipg_ctl_getn(const struct ipg_ctl_msg *m, const char *key,
			 size_t *len);
/* Whether @key is present with the value "1". */
int ipg_ctl_flag(const struct ipg_ctl_msg *m, const char *key);
void ipg_ctl_free(struct ipg_ctl_msg *m);

/* Appends @m in wire form to @out. */
int ipg_ctl_encode(const struct ipg_ctl_msg *m, struct ipg_buf *out);
/* Decodes one message from the first @len bytes of @buf, within @lim.
 * Returns 0 and the bytes used in *used; -EAGAIN when more bytes are
 * needed; -EBADMSG with a message saying what is wrong. @m is empty on any
 * error. */
int ipg_ctl_decode(const char *buf, size_t len,
		   const struct ipg_ctl_limits *lim, struct ipg_ctl_msg *m,
		   size_t *used, struct ipg_error *e);

/* Client side: connects to @path, sends @req, reads the whole reply (a
 * reply cut short is an error, never a partial answer). */
int ipg_ctl_call(const char *path, const struct ipg_ctl_msg *req,
		 struct ipg_ctl_msg *rep, struct ipg_error *e);

/* The reply code for a negative errno: "ok", "EINVAL", "ENOSPC", ... */
const char *ipg_ctl_code_name(int err);

#endif
