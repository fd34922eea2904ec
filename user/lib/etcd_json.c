// SPDX-License-Identifier: GPL-2.0
/* etcd's v3 JSON gateway, the words of both ways: base64, int64 as
 * strings, error replies, and the request bodies. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "etcd_int.h"

char *etcd_b64_encode(const void *data, size_t len)
{
	char *out;

	if (len > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

static bool b64_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
}

int etcd_b64_decode(const char *s, unsigned char **out, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *buf;
	int got;

	/* EVP_DecodeBlock skips blanks and counts padding as zero bytes:
	 * check the form first, then take the padding off. */
	if (n % 4 || n > (size_t)INT_MAX)
		return -EINVAL;
	if (n && s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < n - pad; i++)
		if (!b64_char(s[i]))
			return -EINVAL;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	got = n ? EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) : 0;
	if (got < 0 || (size_t)got < pad) {
		free(buf);
		return -EINVAL;
	}
	*len = (size_t)got - pad;
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

/* The digits of @s, all of them, as an unsigned number. */
static int parse_digits(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EPROTO;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EPROTO : 0;
}

int etcd_json_i64(const json_t *obj, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(obj, name);
	const char *s;
	uint64_t u;
	bool neg;

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	s = json_string_value(v);
	neg = *s == '-';
	if (parse_digits(s + neg, &u) || u > (uint64_t)INT64_MAX + neg)
		return -EPROTO;
	*out = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

int etcd_json_u64(const json_t *obj, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(obj, name);

	*out = 0;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EPROTO;
	return parse_digits(json_string_value(v), out);
}

int etcd_json_bool(const json_t *obj, const char *name, bool *out)
{
	const json_t *v = json_object_get(obj, name);

	*out = false;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return -EPROTO;
	*out = json_is_true(v);
	return 0;
}

bool etcd_json_error(const json_t *root, int *code, const char **msg)
{
	const json_t *e = json_object_get(root, "error");
	const char *m;

	if (!e)
		return false;
	if (json_is_object(e)) {
		/* inside a stream */
		*code = (int)json_integer_value(
			json_object_get(e, "grpc_code"));
		m = json_string_value(json_object_get(e, "message"));
	} else {
		*code = (int)json_integer_value(json_object_get(root, "code"));
		m = json_string_value(json_object_get(root, "message"));
		if (!m)
			m = json_string_value(e);
	}
	*msg = m ? m : "(an error without a message)";
	return true;
}

int etcd_code_errno(int code)
{
	static const int map[] = {
		[1] = -ECANCELED, [3] = -EINVAL,  [4] = -ETIMEDOUT,
		[5] = -ENOENT,	  [6] = -EEXIST,  [7] = -EACCES,
		[8] = -EAGAIN,	  [11] = -ERANGE, [12] = -EOPNOTSUPP,
		[14] = -EAGAIN,	  [16] = -EACCES,
	};

	if (code > 0 && code < (int)(sizeof(map) / sizeof(map[0])) && map[code])
		return map[code];
	return -EIO;
}

bool etcd_auth_expired(int code, const char *msg)
{
	/* 16 is Unauthenticated; an old auth revision (roles changed since
	 * the token) is cured by a new token too. */
	return code == 16 || strstr(msg, "invalid auth token") ||
	       strstr(msg, "revision of auth store is old") ||
	       strstr(msg, "user name is empty");
}

/* The base64 of @prefix and @key, and of the end of the range of keys
 * starting with them when @range_end. */
static json_t *key_json(const char *prefix, const char *key, bool range_end)
{
	size_t plen = strlen(prefix), klen = strlen(key), n = plen + klen;
	char *full, *b64;
	json_t *j;

	full = malloc(n + 1);
	if (!full)
		return NULL;
	memcpy(full, prefix, plen);
	memcpy(full + plen, key, klen + 1);
	if (range_end) {
		/* The first key after every key with this prefix: the last
		 * byte that can grow grows, what follows goes; none can:
		 * "\0", the end of the keyspace. */
		while (n && (unsigned char)full[n - 1] == 0xff)
			n--;
		if (n)
			full[n - 1]++;
		else
			full[n++] = '\0';
	}
	b64 = etcd_b64_encode(full, n);
	free(full);
	j = b64 ? json_string(b64) : NULL;
	free(b64);
	return j;
}

static json_t *bytes_json(const void *data, size_t len)
{
	char *b64;
	json_t *j;

	if (!data && len)
		return NULL;
	b64 = etcd_b64_encode(data ? data : "", len);
	j = b64 ? json_string(b64) : NULL;
	free(b64);
	return j;
}

static json_t *int_json(int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

static json_t *uint_json(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return json_string(s);
}

/* Sets @name in @obj to @v, which it takes; false if @v is NULL or the set
 * failed. */
static bool set(json_t *obj, const char *name, json_t *v)
{
	return v && !json_object_set_new(obj, name, v);
}

json_t *etcd_json_op(const char *prefix, const struct ipg_etcd_op *op)
{
	json_t *o = json_object();
	bool ok;

	if (!o || !op->key)
		goto fail;
	ok = set(o, "key", key_json(prefix, op->key, false));
	switch (op->type) {
	case IPG_ETCD_OP_RANGE:
	case IPG_ETCD_OP_DELETE:
		if (op->prefix)
			ok = ok && set(o, "range_end",
				       key_json(prefix, op->key, true));
		break;
	case IPG_ETCD_OP_PUT:
		ok = ok &&
		     set(o, "value", bytes_json(op->value, op->value_len));
		if (op->lease)
			ok = ok && set(o, "lease", uint_json(op->lease));
		break;
	default:
		ok = false;
	}
	if (ok)
		return o;
fail:
	json_decref(o);
	return NULL;
}

static json_t *cmp_json(const char *prefix, const struct ipg_etcd_cmp *c)
{
	static const char *const targets[] = {
		[IPG_ETCD_MOD] = "MOD",
		[IPG_ETCD_CREATE] = "CREATE",
		[IPG_ETCD_VERSION] = "VERSION",
		[IPG_ETCD_VALUE] = "VALUE",
	};
	static const char *const fields[] = {
		[IPG_ETCD_MOD] = "mod_revision",
		[IPG_ETCD_CREATE] = "create_revision",
		[IPG_ETCD_VERSION] = "version",
		[IPG_ETCD_VALUE] = "value",
	};
	static const char *const results[] = {
		[IPG_ETCD_EQUAL] = "EQUAL",
		[IPG_ETCD_NOT_EQUAL] = "NOT_EQUAL",
		[IPG_ETCD_LESS] = "LESS",
		[IPG_ETCD_GREATER] = "GREATER",
	};
	json_t *o = json_object();
	bool ok;

	if (!o || !c->key || (unsigned)c->target > IPG_ETCD_VALUE ||
	    (unsigned)c->result > IPG_ETCD_GREATER) {
		json_decref(o);
		return NULL;
	}
	/* Always the target: etcd takes a missing one as VERSION. */
	ok = set(o, "key", key_json(prefix, c->key, false)) &&
	     set(o, "target", json_string(targets[c->target])) &&
	     set(o, "result", json_string(results[c->result])) &&
	     set(o, fields[c->target],
		 c->target == IPG_ETCD_VALUE ?
			 bytes_json(c->value, c->value_len) :
			 int_json(c->number));
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

static json_t *ops_json(const char *prefix, const struct ipg_etcd_op *ops,
			size_t n)
{
	static const char *const names[] = {
		[IPG_ETCD_OP_RANGE] = "request_range",
		[IPG_ETCD_OP_PUT] = "request_put",
		[IPG_ETCD_OP_DELETE] = "request_delete_range",
	};
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *w = json_object();

		if (!w || json_array_append_new(a, w) ||
		    (unsigned)ops[i].type > IPG_ETCD_OP_DELETE ||
		    !set(w, names[ops[i].type],
			 etcd_json_op(prefix, &ops[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *etcd_json_txn(const char *prefix, const struct ipg_etcd_txn *t)
{
	json_t *o = json_object(), *cmps = json_array();
	bool ok = o && set(o, "compare", cmps);

	for (size_t i = 0; ok && i < t->n_cmp; i++)
		ok = !json_array_append_new(cmps, cmp_json(prefix, &t->cmp[i]));
	ok = ok &&
	     set(o, "success", ops_json(prefix, t->success, t->n_success));
	ok = ok &&
	     set(o, "failure", ops_json(prefix, t->failure, t->n_failure));
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

json_t *etcd_json_watch(const char *prefix, const char *key, bool is_prefix,
			int64_t start_revision, bool progress_notify)
{
	json_t *o = json_object(), *cr = json_object();
	bool ok = o && set(o, "create_request", cr) &&
		  set(cr, "key", key_json(prefix, key, false));

	if (ok && is_prefix)
		ok = set(cr, "range_end", key_json(prefix, key, true));
	if (ok && start_revision > 0)
		ok = set(cr, "start_revision", int_json(start_revision));
	if (ok && progress_notify)
		ok = set(cr, "progress_notify", json_true());
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}
