// SPDX-License-Identifier: GPL-2.0
/* Named lists in the config: "list NAME {" ... "}" blocks and the address
 * lines inside them, then the checks across lists once every file is read:
 * inherited settings, each list's entry count against its max-entries,
 * unique names, every destination claimed by one list at most. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_lines.h"
#include "config_parse.h"

bool ipg_list_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > IPG_LIST_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') ||
			     (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '_' && ch != '-')))
			return false;
	}
	return true;
}

int ipg_cfg_parse_list(struct parse_ctx *p, struct ipg_config *c,
		       const struct line_toks *lt)
{
	const struct tok *name = &lt->t[1];
	struct ipg_config_list *l, **ls;
	size_t n = strlen(name->val);

	if (lt->n == 2 && n > 1 && name->val[n - 1] == '{' && !name->quoted)
		return fail_at(p, name->col + (int)n - 1,
			       "expected a space between the list name and {");
	if (name->quoted || !ipg_list_name_ok(name->val))
		return fail_at(p, name->col,
			       "\"%s\" is not a list name; expected 1 to %d of "
			       "a-z, 0-9, _ and -, starting with a letter or "
			       "digit",
			       name->val, IPG_LIST_NAME_MAX);
	if (!strcmp(name->val, "default"))
		return fail_at(p, name->col,
			       "\"default\" names the top-level list; choose "
			       "another name");
	if (lt->n == 2 || strcmp(lt->t[2].val, "{") || lt->t[2].quoted)
		return fail_at(p,
			       lt->n == 2 ? name->col + (int)n : lt->t[2].col,
			       "expected { after the list name, on the same "
			       "line");
	if (lt->n > 3)
		return fail_at(p, lt->t[3].col,
			       "unexpected \"%s\" after {; write the block's "
			       "settings on the lines below it, and } on a "
			       "line of its own",
			       lt->t[3].val);
	if (c->n_lists == IPG_LISTS_MAX)
		return fail_at(p, name->col, "more than %d lists",
			       IPG_LISTS_MAX);
	ls = realloc(c->lists, sizeof(*ls) * (size_t)(c->n_lists + 1));
	if (!ls)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	c->lists = ls;
	l = ipg_config_list_new(name->val, p->file);
	if (!l)
		return ipg_fail(p->e, -ENOMEM, "%s: out of memory", p->name);
	l->line = p->line;
	l->override_max_s = IPG_OVERRIDE_MAX_DEFAULT_S;
	l->idx = c->n_lists;
	c->lists[c->n_lists++] = l;
	memset(&p->blk, 0, sizeof(p->blk));
	p->blk.list = l;
	p->blk.spec = &l->policy;
	p->blk.override_max_s = &l->override_max_s;
	p->s = &p->blk;
	return 0;
}

int ipg_cfg_parse_list_end(struct parse_ctx *p, struct ipg_config *c,
			   const struct line_toks *lt)
{
	struct ipg_config_list *l = p->blk.list;

	(void)c;
	(void)lt;
	if (!l->n_addrs && !l->shared)
		return fail_at(p, 1,
			       "list %s (line %d) has no address line; a list "
			       "guards the destinations its address lines "
			       "name, e.g. address 192.0.2.10 2001:db8::10 "
			       "(or \"address shared\" for a customer known "
			       "only from the HTTP request, see /v1/check)",
			       l->name, l->line);
	/* What the block wrote; resolved once the top level is known. */
	l->policy.max_entries = p->blk.max_entries;
	p->s = &p->top;
	return 0;
}

static bool addr_usable(const struct ipg_prefix *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a->addr, zero, a->family == 4 ? 4 : 16))
		return false;
	if (a->family == 4)
		return a->addr[0] < 224;
	return a->addr[0] != 0xff;
}

static int add_claim(struct parse_ctx *p, const struct ipg_prefix *a, int col)
{
	struct claim *cl;

	if (p->n_claims == p->cap_claims) {
		int cap = p->cap_claims ? p->cap_claims * 2 : 64;

		cl = realloc(p->claims, sizeof(*cl) * (size_t)cap);
		if (!cl)
			return ipg_fail(p->e, -ENOMEM, "%s: out of memory",
					p->name);
		p->claims = cl;
		p->cap_claims = cap;
	}
	cl = &p->claims[p->n_claims];
	cl->addr = *a;
	cl->file = p->name;
	cl->line = p->line;
	cl->col = col;
	cl->seq = p->n_claims++;
	cl->list = p->s->list;
	return 0;
}

int ipg_cfg_parse_address(struct parse_ctx *p, struct ipg_config *c,
			  const struct line_toks *lt)
{
	struct ipg_config_list *l = p->s->list;

	(void)c;
	if (l->shared)
		return fail_at(p, lt->t[0].col,
			       "list %s is already \"address shared\"; a "
			       "shared list has no address of its own",
			       l->name);
	if (!strcmp(lt->t[1].val, "shared") && !lt->t[1].quoted) {
		if (lt->n > 2 || l->n_addrs)
			return fail_at(p, lt->t[1].col,
				       "\"address shared\" stands alone: a "
				       "shared list has no address of its own");
		l->shared = true;
		return 0;
	}
	for (int i = 1; i < lt->n; i++) {
		const struct tok *t = &lt->t[i];
		struct ipg_error pe = { { 0 } };
		struct ipg_prefix a;
		int r;

		if (ipg_addr_parse(t->val, &a, &pe))
			return fail_at(p, t->col, "%s", pe.msg);
		if (!addr_usable(&a))
			return fail_at(p, t->col,
				       "%s is not a destination a list can "
				       "guard; expected a unicast address of "
				       "this host",
				       t->val);
		if (l->n_addrs == IPG_LIST_ADDRS_MAX)
			return fail_at(p, t->col,
				       "more than %d addresses in list %s",
				       IPG_LIST_ADDRS_MAX, l->name);
		r = add_claim(p, &a, t->col);
		if (r)
			return r;
		l->addrs[l->n_addrs++] = a;
	}
	return 0;
}

/* The file list @l is written in, for messages. */
static const char *file_of(const struct parse_ctx *p,
			   const struct ipg_config *c,
			   const struct ipg_config_list *l)
{
	return l->file >= 0 ? c->files[l->file].path : p->main_name;
}

/* Gives list @l the settings it does not write from the top level, and
 * checks its entry count against its max-entries. */
static int resolve(struct parse_ctx *p, struct ipg_config *c,
		   struct ipg_config_list *l)
{
	struct ipg_policy *k = &l->policy.kern;
	struct ipg_ports *ports = &l->policy.ports;
	uint32_t max = l->policy.max_entries;
	int n = 0;

	if (!(l->set & IPG_LIST_SET_PROTECT)) {
		*ports = c->policy.ports;
	}
	if (!(l->set & IPG_LIST_SET_MODE))
		k->mode = c->policy.kern.mode;
	if (!(l->set & IPG_LIST_SET_MAX_ENTRIES))
		max = c->policy.max_entries;
	if (!(l->set & IPG_LIST_SET_OVERRIDE_MAX))
		l->override_max_s = c->override_max_s;
	l->policy.max_entries = max;
	p->name = file_of(p, c, l);
	if (l->policy.n_entries > max) {
		for (int i = 0; i < l->n_lines; i++)
			if (l->lines[i].kind == IPG_LINE_ALLOW &&
			    ++n == (int)max + 1)
				p->line = l->line + i;
		return fail_at(p, 1,
			       "list %s: %u entries, more than max-entries "
			       "(%u); remove some or raise max-entries",
			       l->name, l->policy.n_entries, max);
	}
	if (c->breakglass_port &&
	    ipg_policy_port_protected(ports, IPPROTO_UDP, c->breakglass_port)) {
		p->line = l->line;
		for (int i = l->n_lines - 1; i >= 0; i--)
			if (l->lines[i].kind == IPG_LINE_PROTECT)
				p->line = l->line + i;
		return fail_at(p, 1,
			       "list %s protects udp/%u, the break-glass "
			       "port; protect another port, or set "
			       "breakglass-port to another port or off",
			       l->name, c->breakglass_port);
	}
	return 0;
}

struct named {
	const struct ipg_config_list *l;
	int at; /* its place in the document */
};

static int by_name(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->l->name, y->l->name);

	return r ? r : x->at - y->at;
}

/* Fails at the second of two lists of one name. */
static int unique_names(struct parse_ctx *p, struct ipg_config *c)
{
	const struct named *first = NULL, *second = NULL;
	struct named *v;
	struct line_toks lt;
	int r;

	if (c->n_lists < 2)
		return 0;
	v = malloc(sizeof(*v) * (size_t)c->n_lists);
	if (!v)
		return ipg_fail(p->e, -ENOMEM, "out of memory");
	for (int i = 0; i < c->n_lists; i++)
		v[i] = (struct named){ c->lists[i], i };
	qsort(v, (size_t)c->n_lists, sizeof(*v), by_name);
	for (int i = 1; i < c->n_lists; i++)
		if (!strcmp(v[i].l->name, v[i - 1].l->name) &&
		    (!second || v[i].at < second->at)) {
			first = &v[i - 1];
			second = &v[i];
		}
	r = 0;
	if (second) {
		p->name = file_of(p, c, second->l);
		p->line = second->l->line;
		r = ipg_cfg_tokenize(p, second->l->lines[0].text, &lt);
		if (!r)
			r = fail_at(p, lt.t[1].col,
				    "list %s is already defined at %s:%d; "
				    "list names are unique",
				    second->l->name, file_of(p, c, first->l),
				    first->l->line);
	}
	free(v);
	return r;
}

static int by_addr(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int r = ipg_prefix_cmp(&x->addr, &y->addr);

	return r ? r : x->seq - y->seq;
}

/* Fails at the first claim, in the order of the document, of an address
 * an earlier line already claimed. */
static int claimed_once(struct parse_ctx *p)
{
	const struct claim *first = NULL, *second = NULL, *cl = p->claims;
	char a[IPG_PREFIX_STRLEN];

	if (p->n_claims < 2)
		return 0;
	qsort(p->claims, (size_t)p->n_claims, sizeof(*cl), by_addr);
	for (int i = 1; i < p->n_claims; i++)
		if (ipg_prefix_equal(&cl[i].addr, &cl[i - 1].addr) &&
		    (!second || cl[i].seq < second->seq) &&
		    (i < 2 ||
		     !ipg_prefix_equal(&cl[i].addr, &cl[i - 2].addr))) {
			first = &cl[i - 1];
			second = &cl[i];
		}
	if (!second)
		return 0;
	ipg_prefix_format(&second->addr, a, sizeof(a));
	p->name = second->file;
	p->line = second->line;
	return fail_at(p, second->col,
		       "%s is already claimed by list %s at %s:%d; a "
		       "destination belongs to one list at most",
		       a, first->list->name, first->file, first->line);
}

int ipg_cfg_lists_finish(struct parse_ctx *p, struct ipg_config *c)
{
	int r = 0;

	for (int i = 0; i < c->n_lists && !r; i++)
		r = resolve(p, c, c->lists[i]);
	if (!r)
		r = unique_names(p, c);
	if (!r)
		r = claimed_once(p);
	return r;
}
