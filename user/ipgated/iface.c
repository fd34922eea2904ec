// SPDX-License-Identifier: GPL-2.0
/* Detach and attach: taking the filter off every interface and putting it
 * back. */
#include "daemon.h"

static int mark_detached(struct daemon *d, int on)
{
	int fd;

	if (!on)
		return unlink(d->detached_path) && errno != ENOENT ? -errno : 0;
	fd = open(d->detached_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

static void json_ifaces(struct ipg_buf *b, const struct ipg_config *c, int on)
{
	struct ipg_print p;

	ipg_print_init(&p, b, true);
	ipg_print_open_object(&p, NULL);
	ipg_print_open_array(&p, "interfaces");
	for (int i = 0; on && i < c->n_interfaces; i++)
		ipg_print_string(&p, IPG_PR_JSON, NULL, NULL, c->interfaces[i]);
	ipg_print_close_array(&p);
	ipg_print_close_object(&p);
}

int do_detach(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e;
	int r;

	if (d->detached) {
		ipg_buf_printf(&q->out, "already detached\n");
		return 0;
	}
	r = mark_detached(d, 1);
	if (r)
		return reply_errf(q, r, "cannot record the detach in %s: %s",
				  d->detached_path, strerror(-r));
	json_ifaces(&before, &d->cfg, 1);
	json_ifaces(&after, &d->cfg, 0);
	r = ipg_audit_append(&d->audit, &q->who, "detach", before.s, after.s,
			     &e);
	if (r) {
		mark_detached(d, 0);
		reply_err(q, r, e.msg);
		goto out;
	}
	d->detached = 1;
	for (int i = 0; i < d->cfg.n_interfaces; i++) {
		if (ipg_datapath_detach(d->cfg.interfaces[i], &e)) {
			ipg_buf_printf(&q->out, "warning: %s\n", e.msg);
			continue;
		}
		ipg_buf_printf(&q->out, "detached from %s\n",
			       d->cfg.interfaces[i]);
	}
	pr_info("detached by %s (uid %u)", q->who.user, (unsigned)q->who.uid);
out:
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}

int do_attach(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_buf before = { 0 }, after = { 0 };
	struct ipg_error e;
	int r;

	if (!d->detached) {
		ipg_buf_printf(&q->out, "already attached\n");
		return 0;
	}
	d->detached = 0;
	r = attach_new(d, NULL, &d->cfg, &e);
	if (r) {
		d->detached = 1;
		return reply_err(q, r, e.msg);
	}
	json_ifaces(&before, &d->cfg, 0);
	json_ifaces(&after, &d->cfg, 1);
	r = ipg_audit_append(&d->audit, &q->who, "attach", before.s, after.s,
			     &e);
	if (!r)
		r = mark_detached(d, 0);
	if (r) {
		for (int i = 0; i < d->cfg.n_interfaces; i++)
			ipg_datapath_detach(d->cfg.interfaces[i], NULL);
		d->detached = 1;
		reply_err(q, r, e.msg);
	} else {
		for (int i = 0; i < d->cfg.n_interfaces; i++)
			ipg_buf_printf(&q->out, "attached to %s\n",
				       d->cfg.interfaces[i]);
	}
	ipg_buf_free(&before);
	ipg_buf_free(&after);
	return r;
}
