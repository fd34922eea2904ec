// SPDX-License-Identifier: GPL-2.0
/* etcd's replies and watch messages, parsed whole or refused whole: a
 * field of the wrong type, bad base64 or a key outside the prefix gives
 * -EPROTO and a reason, never part of a reply. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

void etcd_msgf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* Formats a reason into @msg and returns -EPROTO. */
__attribute__((format(printf, 3, 4))) static int bad(char *msg, size_t size,
						     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

void etcd_kvs_free(struct ipg_etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kvs[i].key);
		free(kvs[i].value);
	}
	free(kvs);
}

/* A base64 string field of @o, decoded; absent is empty. */
static int bytes_field(const json_t *o, const char *name, unsigned char **out,
		       size_t *len, char *msg, size_t size)
{
	const json_t *v = json_object_get(o, name);
	int err;

	if (v && !json_is_string(v))
		return bad(msg, size, "\"%s\" is not a string", name);
	err = etcd_b64_decode(v ? json_string_value(v) : "", out, len);
	if (err == -EINVAL)
		return bad(msg, size, "\"%s\" is not base64", name);
	return err;
}

int etcd_parse_kv(const json_t *o, const char *prefix, struct ipg_etcd_kv *kv,
		  char *msg, size_t size)
{
	size_t plen = strlen(prefix), klen;
	unsigned char *key = NULL;
	uint64_t lease = 0;
	int err;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return bad(msg, size, "a key-value pair is not an object");
	if (!json_object_get(o, "key"))
		return bad(msg, size, "a key-value pair without a key");
	err = bytes_field(o, "key", &key, &klen, msg, size);
	if (err)
		return err;
	if (klen < plen || memcmp(key, prefix, plen)) {
		free(key);
		return bad(msg, size, "key outside the prefix %s", prefix);
	}
	memmove(key, key + plen, klen - plen + 1);
	kv->key = (char *)key;
	kv->key_len = klen - plen;
	err = bytes_field(o, "value", &kv->value, &kv->value_len, msg, size);
	if (!err &&
	    (etcd_json_i64(o, "create_revision", &kv->create_revision) ||
	     etcd_json_i64(o, "mod_revision", &kv->mod_revision) ||
	     etcd_json_i64(o, "version", &kv->version) ||
	     etcd_json_u64(o, "lease", &lease)))
		err = bad(msg, size, "a revision or lease is not a number");
	if (err) {
		free(kv->key);
		free(kv->value);
		memset(kv, 0, sizeof(*kv));
		return err;
	}
	kv->lease = lease;
	return 0;
}

/* The kvs and count of a range reply, or the count of a delete reply. */
static int parse_op_reply(const json_t *o, enum ipg_etcd_op_type type,
			  const char *prefix, struct ipg_etcd_op_reply *out,
			  char *msg, size_t size)
{
	const json_t *kvs = json_object_get(o, "kvs");
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	out->type = type;
	if (!json_is_object(o))
		return bad(msg, size, "a reply is not an object");
	if (etcd_json_i64(o, type == IPG_ETCD_OP_DELETE ? "deleted" : "count",
			  &out->count))
		return bad(msg, size, "a count is not a number");
	if (type != IPG_ETCD_OP_RANGE || !kvs)
		return 0; /* no kvs: no key */
	if (!json_is_array(kvs))
		return bad(msg, size, "\"kvs\" is not an array");
	n = json_array_size(kvs);
	out->kvs = calloc(n ? n : 1, sizeof(*out->kvs));
	if (!out->kvs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		err = etcd_parse_kv(json_array_get(kvs, i), prefix,
				    &out->kvs[i], msg, size);
		if (err) {
			etcd_kvs_free(out->kvs, i);
			out->kvs = NULL;
			return err;
		}
	}
	out->n_kvs = n;
	return 0;
}

static void replies_free(struct ipg_etcd_op_reply *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		etcd_kvs_free(r[i].kvs, r[i].n_kvs);
	free(r);
}

static int parse_txn(const json_t *root, const char *prefix,
		     struct ipg_etcd_result *r, char *msg, size_t size)
{
	static const char *const names[] = {
		[IPG_ETCD_OP_RANGE] = "response_range",
		[IPG_ETCD_OP_PUT] = "response_put",
		[IPG_ETCD_OP_DELETE] = "response_delete_range",
	};
	const json_t *a = json_object_get(root, "responses");
	size_t n = json_array_size(a);
	int err = 0;

	/* No "succeeded": the compare failed. */
	if (etcd_json_bool(root, "succeeded", &r->succeeded))
		return bad(msg, size, "\"succeeded\" is not a boolean");
	if (a && !json_is_array(a))
		return bad(msg, size, "\"responses\" is not an array");
	r->replies = calloc(n ? n : 1, sizeof(*r->replies));
	if (!r->replies)
		return -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		const json_t *o = json_array_get(a, i), *v = NULL;
		enum ipg_etcd_op_type t;

		for (t = IPG_ETCD_OP_RANGE; t <= IPG_ETCD_OP_DELETE; t++) {
			v = json_object_get(o, names[t]);
			if (v)
				break;
		}
		if (!v)
			err = bad(msg, size,
				  "reply %zu of a txn is of no known type", i);
		else
			err = parse_op_reply(v, t, prefix, &r->replies[i], msg,
					     size);
		if (!err)
			r->n_replies = i + 1;
	}
	if (err) {
		replies_free(r->replies, r->n_replies);
		r->replies = NULL;
		r->n_replies = 0;
	}
	return err;
}

static int parse_status(const json_t *root, struct etcd_reply *out)
{
	struct ipg_etcd_result *r = &out->r;
	const json_t *v = json_object_get(root, "version"), *errs;
	size_t used = 0;

	if (v && !json_is_string(v))
		return bad(out->message, sizeof(out->message),
			   "\"version\" is not a string");
	etcd_msgf(out->version, sizeof(out->version), "%s",
		  v ? json_string_value(v) : "");
	if (etcd_json_u64(root, "leader", &r->leader) ||
	    etcd_json_u64(root, "raftTerm", &r->raft_term) ||
	    etcd_json_u64(root, "raftIndex", &r->raft_index) ||
	    etcd_json_i64(root, "dbSize", &r->db_size))
		return bad(out->message, sizeof(out->message),
			   "a status field is not a number");
	/* The member's alarms and "no leader", joined. */
	errs = json_object_get(root, "errors");
	for (size_t i = 0; i < json_array_size(errs); i++) {
		const char *s = json_string_value(json_array_get(errs, i));

		used = strlen(out->status_error);
		if (s)
			etcd_msgf(out->status_error + used,
				  sizeof(out->status_error) - used, "%s%s",
				  used ? "; " : "", s);
	}
	return 0;
}

static int parse_kind(enum etcd_kind kind, const json_t *root,
		      const char *prefix, struct etcd_reply *out)
{
	struct ipg_etcd_result *r = &out->r;
	char *msg = out->message;
	size_t size = sizeof(out->message);
	const char *token;

	switch (kind) {
	case ETCD_RANGE:
		return parse_op_reply(root, IPG_ETCD_OP_RANGE, prefix,
				      &r->reply, msg, size);
	case ETCD_DELETE:
		return parse_op_reply(root, IPG_ETCD_OP_DELETE, prefix,
				      &r->reply, msg, size);
	case ETCD_TXN:
		return parse_txn(root, prefix, r, msg, size);
	case ETCD_LEASE_GRANT:
	case ETCD_LEASE_KEEPALIVE:
		if (etcd_json_u64(root, "ID", &r->lease) ||
		    etcd_json_i64(root, "TTL", &r->ttl))
			return bad(msg, size,
				   "the lease or TTL is not a number");
		if (r->ttl <= 0) {
			/* A keepalive of a lease gone answers TTL 0. */
			r->err = -ENOENT;
			snprintf(msg, size,
				 "lease %" PRIx64
				 " not found: expired or revoked",
				 r->lease);
		}
		return 0;
	case ETCD_STATUS:
		return parse_status(root, out);
	case ETCD_AUTH:
		token = json_string_value(json_object_get(root, "token"));
		if (!token || !*token)
			return bad(msg, size, "no token in the reply");
		out->token = strdup(token);
		return out->token ? 0 : -ENOMEM;
	default:
		return 0;
	}
}

int etcd_parse_reply(enum etcd_kind kind, const char *prefix, const char *body,
		     size_t len, struct etcd_reply *out)
{
	struct ipg_etcd_result *r = &out->r;
	json_t *root, *res, *header;
	json_error_t jerr;
	const char *emsg;
	int err, code;

	r->message = out->message;
	r->version = out->version;
	r->status_error = out->status_error;
	r->endpoint = -1;
	if (!len)
		return bad(out->message, sizeof(out->message),
			   "an empty reply");
	root = json_loadb(body, len, 0, &jerr);
	if (!root)
		return bad(out->message, sizeof(out->message),
			   "a reply that is not JSON (%s at byte %d)",
			   jerr.text, jerr.position);
	/* A streaming call (keepalive) wraps its reply in "result". */
	res = json_object_get(root, "result");
	if (!json_is_object(res))
		res = root;
	if (!json_is_object(res)) {
		err = bad(out->message, sizeof(out->message),
			  "a reply that is not a JSON object");
	} else if (etcd_json_error(res, &code, &emsg)) {
		r->code = code;
		r->err = code ? etcd_code_errno(code) : -EIO;
		etcd_msgf(out->message, sizeof(out->message), "%s", emsg);
		err = 0;
	} else {
		header = json_object_get(res, "header");
		if (etcd_json_i64(header, "revision", &r->revision) ||
		    etcd_json_u64(header, "member_id", &r->member_id))
			err = bad(out->message, sizeof(out->message),
				  "the header's revision is not a number");
		else
			err = parse_kind(kind, res, prefix, out);
	}
	json_decref(root);
	return err;
}

void etcd_reply_free(struct etcd_reply *rep)
{
	etcd_kvs_free(rep->r.reply.kvs, rep->r.reply.n_kvs);
	replies_free(rep->r.replies, rep->r.n_replies);
	free(rep->token);
	rep->r.reply.kvs = NULL;
	rep->r.replies = NULL;
	rep->token = NULL;
}

static int parse_events(const json_t *a, const char *prefix,
			struct etcd_watch_msg *m)
{
	size_t n = json_array_size(a);
	int err = 0;

	if (!json_is_array(a))
		return bad(m->message, sizeof(m->message),
			   "\"events\" is not an array");
	m->events = calloc(n ? n : 1, sizeof(*m->events));
	if (!m->events)
		return -ENOMEM;
	for (size_t i = 0; !err && i < n; i++) {
		const json_t *e = json_array_get(a, i);
		const json_t *type = json_object_get(e, "type");
		const char *t = json_string_value(type);

		/* No type: PUT, etcd's default. */
		if (type && (!t || (strcmp(t, "PUT") && strcmp(t, "DELETE"))))
			err = bad(m->message, sizeof(m->message),
				  "event %zu has an unknown type", i);
		else
			err = etcd_parse_kv(json_object_get(e, "kv"), prefix,
					    &m->events[i].kv, m->message,
					    sizeof(m->message));
		m->events[i].deleted = t && !strcmp(t, "DELETE");
		if (!err)
			m->n_events = i + 1;
	}
	return err;
}

void etcd_watch_msg_free(struct etcd_watch_msg *m)
{
	for (size_t i = 0; i < m->n_events; i++) {
		free(m->events[i].kv.key);
		free(m->events[i].kv.value);
	}
	free(m->events);
	m->events = NULL;
	m->n_events = 0;
}

static int parse_watch_result(const json_t *res, const char *prefix,
			      struct etcd_watch_msg *m)
{
	const json_t *events = json_object_get(res, "events");
	const char *reason;
	bool created, canceled;

	if (etcd_json_i64(json_object_get(res, "header"), "revision",
			  &m->revision) ||
	    etcd_json_i64(res, "compact_revision", &m->compact_revision) ||
	    etcd_json_bool(res, "created", &created) ||
	    etcd_json_bool(res, "canceled", &canceled))
		return bad(m->message, sizeof(m->message),
			   "a watch field has the wrong type");
	if (canceled) {
		m->kind = m->compact_revision > 0 ? ETCD_MSG_COMPACTED :
						    ETCD_MSG_CANCELED;
		reason = json_string_value(
			json_object_get(res, "cancel_reason"));
		etcd_msgf(m->message, sizeof(m->message), "%s",
			  reason ? reason : "canceled by etcd");
		return 0;
	}
	if (created) {
		m->kind = ETCD_MSG_CREATED;
		return 0;
	}
	if (!events) {
		m->kind = ETCD_MSG_PROGRESS;
		return 0;
	}
	m->kind = ETCD_MSG_EVENTS;
	return parse_events(events, prefix, m);
}

int etcd_watch_parse(const char *prefix, const char *line, size_t len,
		     struct etcd_watch_msg *m)
{
	json_t *root, *res;
	json_error_t jerr;
	const char *emsg;
	int err;

	memset(m, 0, sizeof(*m));
	root = json_loadb(line, len, 0, &jerr);
	if (!root)
		return bad(m->message, sizeof(m->message),
			   "a watch message that is not JSON (%s at byte %d)",
			   jerr.text, jerr.position);
	res = json_object_get(root, "result");
	if (json_is_object(root) && etcd_json_error(root, &m->code, &emsg)) {
		m->kind = ETCD_MSG_ERROR;
		etcd_msgf(m->message, sizeof(m->message), "%s", emsg);
		err = 0;
	} else if (!json_is_object(res)) {
		err = bad(m->message, sizeof(m->message),
			  "a watch message without a result");
	} else {
		err = parse_watch_result(res, prefix, m);
	}
	json_decref(root);
	if (err)
		etcd_watch_msg_free(m);
	return err;
}
