// SPDX-License-Identifier: GPL-2.0
/* The change pipeline without root: the guards, and the order of a change's
 * steps and their rollback, run against fake steps that record what they
 * were asked to do and fail where told. */
#include <errno.h>
#include <stdlib.h>

#include "buf.h"
#include "change.h"
#include "harness.h"

/* A fake world: a log of calls ("save:B attach:A>B apply:B audit:add
 * detach:A>B"), configs named by their first label, and a step to fail. */
struct fake {
	struct ipg_buf log;
	const char *fail, *then_fail; /* then_fail: armed by the first */
	int warned;
};

static const char *name_of(const struct ipg_config *c)
{
	return c->policy.n_entries ? c->policy.entries[0].label : "-";
}

static int step(struct fake *f, const char *what, struct ipg_error *e)
{
	if (f->fail && !strcmp(f->fail, what)) {
		/* Fails once; the rollback's steps work unless then_fail
		 * names one. */
		f->fail = f->then_fail;
		f->then_fail = NULL;
		return ipg_fail(e, -EIO, "%s broke", what);
	}
	return 0;
}

static int f_save(void *ctx, struct ipg_config *c, struct ipg_error *e)
{
	struct fake *f = ctx;

	ipg_buf_printf(&f->log, "save:%s ", name_of(c));
	return step(f, "save", e);
}

static int f_attach(void *ctx, const struct ipg_config *prev,
		    const struct ipg_config *next, struct ipg_error *e)
{
	struct fake *f = ctx;

	ipg_buf_printf(&f->log, "attach:%s>%s ", name_of(prev), name_of(next));
	return step(f, "attach", e);
}

static void f_detach(void *ctx, const struct ipg_config *prev,
		     const struct ipg_config *next)
{
	struct fake *f = ctx;

	ipg_buf_printf(&f->log, "detach:%s>%s ", name_of(prev), name_of(next));
}

static int f_apply(void *ctx, const struct ipg_config *prev,
		   struct ipg_config *c, struct ipg_error *e)
{
	struct fake *f = ctx;

	(void)prev;
	ipg_buf_printf(&f->log, "apply:%s ", name_of(c));
	return step(f, "apply", e);
}

static int f_audit(void *ctx, const char *action, const char *before,
		   const char *after, struct ipg_error *e)
{
	struct fake *f = ctx;

	(void)before;
	(void)after;
	ipg_buf_printf(&f->log, "audit:%s ", action);
	return step(f, "audit", e);
}

static void f_warn(void *ctx, const char *msg)
{
	(void)msg;
	((struct fake *)ctx)->warned++;
}

static const struct ipg_change_ops fake_ops = {
	.save = f_save,
	.attach = f_attach,
	.detach = f_detach,
	.apply = f_apply,
	.audit = f_audit,
	.warn = f_warn,
};

static struct ipg_config cur, next;

static int setup(void)
{
	if (ipg_config_parse(&cur,
			     "enabled yes\nprotect tcp/443\n"
			     "allow 198.51.100.0/24 A\n",
			     "cur", NULL) ||
	    ipg_config_parse(&next,
			     "enabled yes\nprotect tcp/443\n"
			     "allow 203.0.113.0/24 B\n",
			     "next", NULL))
		return -1;
	return 0;
}

/* Runs the pipeline with step @fail failing; checks the calls made. */
static void run(const char *file, int line, const char *fail, bool persist,
		int want_r, const char *want_log)
{
	struct fake f = { .fail = fail };
	struct ipg_config_diff diff = { 0 };
	struct ipg_error e = { { 0 } };
	int r = ipg_change_run(&fake_ops, &f, &cur, &next, persist, "add",
			       &diff, &e);

	if (r != want_r)
		harness_fail(file, line, "fail %s: returned %d, expected %d",
			     fail ? fail : "none", r, want_r);
	else if (strcmp(f.log.s ? f.log.s : "", want_log))
		harness_fail(file, line,
			     "fail %s: steps \"%s\", expected \"%s\"",
			     fail ? fail : "none", f.log.s, want_log);
	else if (r && fail && !strstr(e.msg, "broke"))
		harness_fail(file, line, "error \"%s\" lacks the cause", e.msg);
	else if (f.warned)
		harness_fail(file, line, "a rollback step warned");
	ipg_buf_free(&f.log);
}
#define RUN(...) CHECK(run(__FILE__, __LINE__, __VA_ARGS__))

TEST(test_change_success_runs_steps_in_order_then_detaches_gone)
{
	RUN(NULL, true, 0, "save:B attach:A>B apply:B audit:add detach:A>B ");
}

TEST(test_change_save_failure_touches_nothing_else)
{
	RUN("save", true, -EIO, "save:B ");
}

TEST(test_change_attach_failure_flips_back_detaches_new_restores_file)
{
	RUN("attach", true, -EIO,
	    "save:B attach:A>B apply:A detach:B>A save:A ");
}

TEST(test_change_apply_failure_flips_back_detaches_new_restores_file)
{
	RUN("apply", true, -EIO,
	    "save:B attach:A>B apply:B apply:A detach:B>A save:A ");
}

TEST(test_change_audit_failure_is_undone_too)
{
	struct fake f = { .fail = "audit" };
	struct ipg_config_diff diff = { 0 };
	struct ipg_error e = { { 0 } };

	RUN("audit", true, -EIO,
	    "save:B attach:A>B apply:B audit:add apply:A detach:B>A save:A ");
	ipg_change_run(&fake_ops, &f, &cur, &next, true, "add", &diff, &e);
	ASSERT_TRUE(strstr(e.msg, "the change was undone") != NULL);
	ipg_buf_free(&f.log);
}

/* A reload read the file: nothing is written, not even on rollback. */
TEST(test_change_reload_never_writes_the_file)
{
	RUN(NULL, false, 0, "attach:A>B apply:B audit:add detach:A>B ");
	RUN("apply", false, -EIO, "attach:A>B apply:B apply:A detach:B>A ");
	RUN("audit", false, -EIO,
	    "attach:A>B apply:B audit:add apply:A detach:B>A ");
}

/* When undoing fails too, the pipeline says so (kernel, file and log may
 * disagree now) and still returns the first error. */
TEST(test_change_failed_rollback_is_said)
{
	struct fake f = { .fail = "audit", .then_fail = "save" };
	struct ipg_config_diff diff = { 0 };
	struct ipg_error e = { { 0 } };

	ASSERT_EQ(ipg_change_run(&fake_ops, &f, &cur, &next, true, "add", &diff,
				 &e),
		  -EIO);
	ASSERT_STR(f.log.s, "save:B attach:A>B apply:B audit:add apply:A "
			    "detach:B>A save:A ");
	ASSERT_EQ(f.warned, 1);
	ASSERT_TRUE(strstr(e.msg, "audit broke") != NULL);
	ipg_buf_free(&f.log);
	f = (struct fake){ .fail = "apply", .then_fail = "apply" };
	ASSERT_EQ(ipg_change_run(&fake_ops, &f, &cur, &next, true, "add", &diff,
				 &e),
		  -EIO);
	ASSERT_EQ(f.warned, 1);
	ipg_buf_free(&f.log);
}

static struct ipg_prefix addr(const char *s)
{
	struct ipg_prefix p = { 0 };

	ipg_addr_parse(s, &p, NULL);
	return p;
}

TEST(test_guard_empty_enabled_list_refused_unless_already_so)
{
	struct ipg_config empty, empty2;
	struct ipg_guard_who who = { 0 };
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_config_parse(&empty, "enabled yes\nprotect tcp/443\n",
				   "x", NULL));
	ASSERT_EQ(ipg_guard_check(&cur, &empty, &who, &e), -EPERM);
	ASSERT_TRUE(strstr(e.msg, "enabled, empty allowlist blocks every "
				  "source on tcp/443") != NULL);
	ASSERT_TRUE(strstr(e.msg, "--force") != NULL);
	/* Already enabled and empty: changing something else is fine. */
	ASSERT_OK(ipg_config_parse(&empty2, "enabled yes\nprotect tcp/8443\n",
				   "x", NULL));
	ASSERT_OK(ipg_guard_check(&empty, &empty2, &who, &e));
	/* Disabled and empty is fine; --force passes anything. */
	ipg_config_free(&empty2);
	ASSERT_OK(ipg_config_parse(&empty2, "enabled no\n", "x", NULL));
	ASSERT_OK(ipg_guard_check(&cur, &empty2, &who, &e));
	who.force = true;
	ASSERT_OK(ipg_guard_check(&cur, &empty, &who, &e));
	ipg_config_free(&empty);
	ipg_config_free(&empty2);
}

TEST(test_guard_lockout_refuses_blocking_own_address_only)
{
	struct ipg_prefix mine = addr("198.51.100.7"),
			  other = addr("192.0.2.1");
	struct ipg_guard_who who = { .client = &mine,
				     .client_text = "198.51.100.7",
				     .client_source = "SSH_CONNECTION" };
	struct ipg_config off;
	struct ipg_error e = { { 0 } };

	/* cur allows 198.51.100.0/24, next does not: refused, named. */
	ASSERT_EQ(ipg_guard_check(&cur, &next, &who, &e), -EPERM);
	ASSERT_TRUE(strstr(e.msg,
			   "would block your own address "
			   "198.51.100.7 (from SSH_CONNECTION)") != NULL);
	/* The other way round it lets the requester in: fine. */
	ASSERT_OK(ipg_guard_check(&next, &cur, &who, &e));
	/* An address that was blocked before stays a non-issue. */
	who.client = &other;
	ASSERT_OK(ipg_guard_check(&cur, &next, &who, &e));
	/* From a disabled list (everyone passes) to an enabled one that
	 * lacks the requester: refused. */
	who.client = &mine;
	ASSERT_OK(ipg_config_parse(&off,
				   "enabled no\nprotect tcp/443\n"
				   "allow 203.0.113.0/24 B\n",
				   "x", NULL));
	ASSERT_EQ(ipg_guard_check(&off, &next, &who, &e), -EPERM);
	/* Disabling never locks anyone out. */
	ASSERT_OK(ipg_guard_check(&cur, &off, &who, &e));
	who.force = true;
	ASSERT_OK(ipg_guard_check(&cur, &next, &who, &e));
	ipg_config_free(&off);
}

TEST(test_addr_allowed_honours_disabled_list)
{
	struct ipg_prefix in = addr("198.51.100.9"), out = addr("192.0.2.9");
	struct ipg_config off;

	ASSERT_TRUE(ipg_addr_allowed(&cur.policy, &in));
	ASSERT_TRUE(!ipg_addr_allowed(&cur.policy, &out));
	ASSERT_OK(ipg_config_parse(&off, "enabled no\n", "x", NULL));
	ASSERT_TRUE(ipg_addr_allowed(&off.policy, &out));
	ipg_config_free(&off);
}

static void teardown(void)
{
	ipg_config_free(&cur);
	ipg_config_free(&next);
}

int main(int argc, char **argv)
{
	return harness_main("unit/change", argc, argv, setup, teardown);
}

TEST(test_guard_checks_each_named_list_and_names_it)
{
	static const char head[] = "enabled yes\nprotect tcp/443\n"
				   "allow 192.0.2.0/24 ops\n";
	struct ipg_prefix mine = addr("203.0.113.7");
	struct ipg_guard_who who = { .client = &mine,
				     .client_text = "203.0.113.7",
				     .client_source = "--client" };
	struct ipg_config a, b, c;
	struct ipg_error e = { { 0 } };
	struct ipg_buf t = { 0 };

	ipg_buf_printf(&t,
		       "%slist acme {\n address 198.18.0.10\n"
		       " enabled yes\n allow 203.0.113.0/24\n}\n",
		       head);
	ASSERT_OK(ipg_config_parse(&a, t.s, "a", NULL));
	ipg_buf_free(&t);
	/* acme drops the requester's network: refused, naming acme, though
	 * the default list never let the requester in. */
	ipg_buf_printf(&t,
		       "%slist acme {\n address 198.18.0.10\n"
		       " enabled yes\n allow 198.51.100.0/24\n}\n",
		       head);
	ASSERT_OK(ipg_config_parse(&b, t.s, "b", NULL));
	ipg_buf_free(&t);
	ASSERT_EQ(ipg_guard_check(&a, &b, &who, &e), -EPERM);
	ASSERT_TRUE(strstr(e.msg, "list acme: this change would block your "
				  "own address 203.0.113.7") != NULL);
	/* A new list enabled with no entry: refused, naming it. */
	ipg_buf_printf(&t,
		       "%slist beta {\n address 198.18.0.20\n"
		       " enabled yes\n}\n",
		       head);
	ASSERT_OK(ipg_config_parse(&c, t.s, "c", NULL));
	ipg_buf_free(&t);
	who.client = NULL;
	ASSERT_EQ(ipg_guard_check(&a, &c, &who, &e), -EPERM);
	ASSERT_TRUE(strstr(e.msg, "list beta: an enabled, empty allowlist") !=
		    NULL);
	who.force = true;
	ASSERT_OK(ipg_guard_check(&a, &c, &who, &e));
	ipg_config_free(&a);
	ipg_config_free(&b);
	ipg_config_free(&c);
}

/* The session's own address: a change of which list guards it is checked
 * too, though no list's entries changed for the requester. */
TEST(test_guard_follows_the_list_of_the_sessions_server_address)
{
	static const char head[] = "enabled yes\nprotect tcp/443\n"
				   "allow 203.0.113.0/24 admins\n";
	struct ipg_prefix mine = addr("203.0.113.7"),
			  server = addr("198.18.0.10");
	struct ipg_guard_who who = { .client = &mine,
				     .server = &server,
				     .client_text = "203.0.113.7",
				     .client_source = "SSH_CONNECTION" };
	struct ipg_config a, b;
	struct ipg_error e = { { 0 } };
	struct ipg_buf t = { 0 };

	ipg_buf_printf(&t, "%s", head);
	ASSERT_OK(ipg_config_parse(&a, t.s, "a", NULL));
	/* A new list claims the address the session came to, and does not
	 * let the requester in: refused, naming it. */
	ipg_buf_printf(&t, "list acme {\n address 198.18.0.10\n enabled yes\n"
			   " allow 192.0.2.0/24\n}\n");
	ASSERT_OK(ipg_config_parse(&b, t.s, "b", NULL));
	ipg_buf_free(&t);
	ASSERT_EQ(ipg_guard_check(&a, &b, &who, &e), -EPERM);
	ASSERT_TRUE(strstr(e.msg, "list acme guards this host's address") !=
		    NULL);
	/* The session on another address: not affected. */
	server = addr("198.18.0.99");
	ASSERT_OK(ipg_guard_check(&a, &b, &who, &e));
	/* Without a known server address, as before. */
	who.server = NULL;
	ASSERT_OK(ipg_guard_check(&a, &b, &who, &e));
	ipg_config_free(&a);
	ipg_config_free(&b);
}
