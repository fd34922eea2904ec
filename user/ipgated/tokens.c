// SPDX-License-Identifier: GPL-2.0
/* The HTTP API's bearer tokens: made, listed and revoked over the control
 * socket (`ipgate token`), kept hashed (SHA-256) in the state directory,
 * mode 0600, one line each: ID ROLE LIST CREATED HASH. A token is shown
 * once, when it is made. */
#include "daemon.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define TOKEN_PREFIX "ipgate_"
#define TOKEN_FILE_MAX (1u << 20)

static void tokens_path(struct daemon *d, char *out, size_t size)
{
	snprintf(out, size, "%s/tokens", d->o.state_dir);
}

bool token_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > TOKEN_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

const char *token_role_name(enum token_role r)
{
	return r == TOKEN_ADMIN ? "admin" : "viewer";
}

/* Parses the tokens file's text into @out (room for TOKENS_MAX). */
static int tokens_parse(char *text, struct token *out, int *n,
			struct ipg_error *e)
{
	int line = 0;

	*n = 0;
	for (char *s = text, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		char id[64], role[16], list[IPG_LIST_NAME_MAX + 2], hash[80];
		long long created;
		struct token *t;

		nl = strchr(s, '\n');
		if (nl)
			*nl = '\0';
		line++;
		if (!*s || *s == '#')
			continue;
		if (*n == TOKENS_MAX)
			return ipg_fail(e, -E2BIG, "more than %d tokens",
					TOKENS_MAX);
		t = &out[*n];
		memset(t, 0, sizeof(*t));
		if (sscanf(s, "%63s %15s %33s %lld %79s", id, role, list,
			   &created, hash) != 5 ||
		    !token_id_ok(id) ||
		    (strcmp(role, "admin") && strcmp(role, "viewer")) ||
		    (strcmp(list, "*") && !ipg_list_name_ok(list)) ||
		    strlen(hash) != IPG_HASH_HEX - 1 ||
		    strspn(hash, "0123456789abcdef") != IPG_HASH_HEX - 1)
			return ipg_fail(e, -EINVAL,
					"line %d is not \"ID ROLE LIST CREATED "
					"SHA256\"",
					line);
		/* Both checked above: they fit. */
		memcpy(t->id, id, strlen(id) + 1);
		memcpy(t->hash, hash, sizeof(t->hash));
		t->role = strcmp(role, "admin") ? TOKEN_VIEWER : TOKEN_ADMIN;
		if (strcmp(list, "*"))
			memcpy(t->list, list, strlen(list) + 1);
		t->created = (time_t)created;
		(*n)++;
	}
	return 0;
}

void tokens_load(struct daemon *d)
{
	char path[PATH_MAX];
	struct ipg_buf b = { 0 };
	struct ipg_error e;
	int r;

	tokens_path(d, path, sizeof(path));
	d->n_tokens = 0;
	r = ipg_read_file(path, TOKEN_FILE_MAX, &b);
	if (r == -ENOENT)
		return;
	if (!r)
		r = tokens_parse(b.s, d->tokens, &d->n_tokens, &e);
	else
		snprintf(e.msg, sizeof(e.msg), "%s", strerror(-r));
	if (r) {
		d->n_tokens = 0;
		pr_warn("%s: %s; no HTTP token is accepted until it is "
			"fixed (ipgate token create makes a new file)",
			path, e.msg);
	}
	ipg_buf_free(&b);
}

static int tokens_save(struct daemon *d, const struct token *t, int n,
		       struct ipg_error *e)
{
	struct ipg_buf b = { 0 };
	char path[PATH_MAX];
	int r;

	tokens_path(d, path, sizeof(path));
	ipg_buf_printf(&b, "# ipgate HTTP API tokens (SHA-256); managed by "
			   "`ipgate token`\n");
	for (int i = 0; i < n; i++) {
		ipg_buf_printf(&b, "%s %s %s %lld %s\n", t[i].id,
			       token_role_name(t[i].role),
			       *t[i].list ? t[i].list : "*",
			       (long long)t[i].created, t[i].hash);
	}
	if (b.oom)
		r = -ENOMEM;
	else
		r = ipg_write_atomic(path, b.s, b.len, 0600);
	ipg_buf_free(&b);
	return r ? ipg_fail(e, r, "cannot write %s: %s", path, strerror(-r)) :
		   0;
}

const struct token *token_check(struct daemon *d, const char *bearer)
{
	char h[IPG_HASH_HEX];
	const struct token *found = NULL;

	if (!bearer || strncmp(bearer, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) ||
	    ipg_audit_sha256(bearer, strlen(bearer), h))
		return NULL;
	/* Every token compared in constant time: no early exit. */
	for (int i = 0; i < d->n_tokens; i++)
		if (!CRYPTO_memcmp(h, d->tokens[i].hash, sizeof(h)))
			found = &d->tokens[i];
	return found;
}

/* The token's record for the audit log. */
static void token_json(const struct token *t, struct ipg_buf *b)
{
	ipg_buf_printf(b, "{\"id\":\"%s\",\"role\":\"%s\",\"list\":", t->id,
		       token_role_name(t->role));
	if (*t->list)
		ipg_buf_json_str(b, t->list);
	else
		ipg_buf_printf(b, "null");
	ipg_buf_printf(b, "}");
}

static int token_create(struct req *q)
{
	struct daemon *d = q->d;
	const char *role = ipg_ctl_get(q->m, "role"),
		   *id = ipg_ctl_get(q->m, "id"),
		   *list = ipg_ctl_get(q->m, "list");
	struct token *next, *t;
	uint8_t rnd[32];
	char secret[96], gen[16];
	struct ipg_buf after = { 0 };
	struct ipg_error e;
	size_t n = 0;
	uint32_t lid;
	int r;

	if (!role || (strcmp(role, "admin") && strcmp(role, "viewer")))
		return reply_err(q, -EINVAL, "--role must be admin or viewer");
	if (list && (!*list || !strcmp(list, "default")))
		return reply_err(q, -EINVAL,
				 "--list names a customer's list; leave it out "
				 "for a token that sees every list");
	if (list && req_list(q, &list, &lid))
		return -ENOENT;
	if (!id) {
		if (RAND_bytes(rnd, 4) != 1)
			return reply_err(q, -EIO, "no random bytes");
		snprintf(gen, sizeof(gen), "tok-%02x%02x%02x%02x", rnd[0],
			 rnd[1], rnd[2], rnd[3]);
		id = gen;
	}
	if (!token_id_ok(id))
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a token id; expected 1 to %d "
				  "of a-z 0-9 _ . -",
				  id, TOKEN_ID_MAX);
	for (int i = 0; i < d->n_tokens; i++)
		if (!strcmp(d->tokens[i].id, id))
			return reply_errf(q, -EEXIST,
					  "a token \"%s\" exists; revoke it "
					  "first or choose another --id",
					  id);
	if (d->n_tokens == TOKENS_MAX)
		return reply_errf(q, -ENOSPC,
				  "%d tokens exist; revoke one first",
				  TOKENS_MAX);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return reply_err(q, -EIO, "no random bytes for the token");
	memcpy(secret, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
	n = strlen(TOKEN_PREFIX);
	/* base64url without padding: 43 characters for 32 bytes. */
	n += (size_t)EVP_EncodeBlock((unsigned char *)secret + n, rnd,
				     sizeof(rnd));
	for (size_t i = strlen(TOKEN_PREFIX); i < n; i++)
		secret[i] = secret[i] == '+' ? '-' :
			    secret[i] == '/' ? '_' :
					       secret[i];
	while (n && secret[n - 1] == '=')
		secret[--n] = '\0';
	explicit_bzero(rnd, sizeof(rnd));
	next = calloc((size_t)d->n_tokens + 1, sizeof(*next));
	if (!next)
		return reply_err(q, -ENOMEM, "out of memory");
	memcpy(next, d->tokens, sizeof(*next) * (size_t)d->n_tokens);
	t = &next[d->n_tokens];
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->role = strcmp(role, "admin") ? TOKEN_VIEWER : TOKEN_ADMIN;
	snprintf(t->list, sizeof(t->list), "%s", list ? list : "");
	t->created = time(NULL);
	if (ipg_audit_sha256(secret, n, t->hash)) {
		explicit_bzero(secret, sizeof(secret));
		free(next);
		return reply_err(q, -EIO, "cannot hash the token");
	}
	r = tokens_save(d, next, d->n_tokens + 1, &e);
	if (!r) {
		token_json(t, &after);
		r = ipg_audit_append_list(&d->audit, &q->who, "token-create",
					  list, NULL, after.s, &e);
		if (r) /* not audited: not made */
			tokens_save(d, d->tokens, d->n_tokens,
				    &(struct ipg_error){ 0 });
	}
	if (!r) {
		d->tokens[d->n_tokens++] = *t;
		ipg_ctl_set(q->rep, "token", secret);
		ipg_buf_printf(&q->out,
			       "token %s (%s%s%s); shown once, keep it "
			       "safe:\n%s\n",
			       t->id, role, list ? ", list " : "",
			       list ? list : "", secret);
		pr_info("token %s (%s) made by %s", t->id, role, q->who.user);
	} else {
		reply_err(q, r, e.msg);
	}
	explicit_bzero(secret, sizeof(secret));
	ipg_buf_free(&after);
	free(next);
	return r;
}

static int token_revoke(struct req *q)
{
	struct daemon *d = q->d;
	const char *id = ipg_ctl_get(q->m, "id");
	struct ipg_buf before = { 0 };
	struct token *next;
	struct ipg_error e;
	int i, r;

	for (i = 0; id && i < d->n_tokens; i++)
		if (!strcmp(d->tokens[i].id, id))
			break;
	if (!id || i == d->n_tokens)
		return reply_errf(q, -ENOENT,
				  "no token \"%s\"; `ipgate token list` shows "
				  "them",
				  id ? id : "");
	next = calloc((size_t)d->n_tokens, sizeof(*next));
	if (!next)
		return reply_err(q, -ENOMEM, "out of memory");
	memcpy(next, d->tokens, sizeof(*next) * (size_t)i);
	memcpy(next + i, d->tokens + i + 1,
	       sizeof(*next) * (size_t)(d->n_tokens - i - 1));
	r = tokens_save(d, next, d->n_tokens - 1, &e);
	if (!r) {
		token_json(&d->tokens[i], &before);
		/* Revoked even if the audit fails: refusing would keep a
		 * token someone wants gone. */
		if (ipg_audit_append_list(&d->audit, &q->who, "token-revoke",
					  d->tokens[i].list, before.s, NULL,
					  &e))
			pr_warn("token %s revoked, but not audited: %s", id,
				e.msg);
		memcpy(d->tokens, next,
		       sizeof(*next) * (size_t)(d->n_tokens - 1));
		d->n_tokens--;
		ipg_buf_printf(&q->out, "token %s revoked\n", id);
		pr_info("token %s revoked by %s", id, q->who.user);
	} else {
		reply_err(q, r, e.msg);
	}
	ipg_buf_free(&before);
	free(next);
	return r;
}

static int token_list(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_print p;

	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	if (d->n_tokens)
		ipg_print_text(&p, "%-32s %-7s %-20s %s\n", "ID", "ROLE",
			       "LIST", "CREATED");
	ipg_print_open_array(&p, "tokens");
	for (int i = 0; i < d->n_tokens; i++) {
		const struct token *t = &d->tokens[i];
		char ts[40];

		format_utc(t->created, ts, sizeof(ts));
		ipg_print_open_object(&p, NULL);
		ipg_print_string(&p, IPG_PR_ANY, "id", "%-32s ", t->id);
		ipg_print_string(&p, IPG_PR_ANY, "role", "%-7s ",
				 token_role_name(t->role));
		if (*t->list)
			ipg_print_string(&p, IPG_PR_ANY, "list", "%-20s ",
					 t->list);
		else {
			ipg_print_null(&p, "list");
			ipg_print_text(&p, "%-20s ", "(every list)");
		}
		ipg_print_string(&p, IPG_PR_ANY, "created", "%s\n", ts);
		ipg_print_close_object(&p);
	}
	ipg_print_close_array(&p);
	if (!d->n_tokens)
		ipg_print_text(&p, "no tokens; ipgate token create --role "
				   "admin|viewer [--list NAME] makes one\n");
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

int do_token(struct req *q)
{
	const char *op = ipg_ctl_get(q->m, "op");

	if (op && !strcmp(op, "create"))
		return token_create(q);
	if (op && !strcmp(op, "revoke"))
		return token_revoke(q);
	if (op && !strcmp(op, "list"))
		return token_list(q);
	return reply_errf(q, -EINVAL,
			  "unknown token operation \"%s\"; expected create, "
			  "list or revoke",
			  op ? op : "");
}
