/* SPDX-License-Identifier: GPL-2.0 */
/* The fleet's store inside ipgated: what store.c (reading, applying,
 * the loop) and store_write.c (changes made here, this host's record,
 * the fleet and the trail) share. docs/design.md, "The fleet". */
#ifndef IPGATED_STORE_H
#define IPGATED_STORE_H

#include <jansson.h>

#include "daemon.h"
#include "etcd.h"

/* Waits between reconnection attempts, doubling up to the last. */
#define RETRY_FIRST_S 1
#define RETRY_MAX_S 10
/* Silence (no watch message, no lease renewal) after which the store is
 * taken as down. */
#define STORE_SILENT_S 15
/* Refused documents remembered (the newest). */
#define REFUSED_MAX 16

struct store_doc {
	char name[IPG_LIST_NAME_MAX + 1];
	char *text;
	/* As etcd has the key: a write compares mod_revision, and its audit
	 * record goes to audit/NAME/CREATE/VERSION. */
	int64_t mod_revision, create_revision, version;
};

struct store_refusal {
	char name[IPG_LIST_NAME_MAX + 1];
	int64_t mod_revision;
	char why[512];
};

struct store {
	struct ipg_etcd *etcd;
	struct ipg_etcd_watch *watch;
	/* The documents that run, sorted by name; and the store's, which
	 * differ by those refused here (the next batch of events applies
	 * to the store's). */
	struct store_doc *docs;
	int n_docs;
	struct store_doc *stored;
	int n_stored;
	int64_t revision; /* the store's revision they are as of */
	/* Where the connection stands. */
	bool reading; /* a full read in flight */
	bool connected; /* the last read or watch message came through */
	time_t down_since; /* 0: up (or never connected) */
	char error[512]; /* why it is down */
	char apply_error[768]; /* why the store's last revision does not run */
	time_t retry_at;
	time_t heard_at; /* the last answer or watch message */
	int watch_endpoint; /* the member the watch runs on */
	int retry_s;
	struct store_refusal refused[REFUSED_MAX];
	int n_refused;
	/* Changes sent to the store, waiting for its answer or for this
	 * host to run their revision. */
	struct store_write *writes;
	/* This host's record under hosts/NAME (bound to a lease: it goes
	 * when the host does) and seen/NAME (stays: `ipgate fleet` tells a
	 * host gone from one that never was). */
	char host[64];
	uint64_t lease;
	bool leasing, publish;
	time_t keepalive_at, published_at, started;
};

/* The lease's time to live, and how often it is renewed. */
#define LEASE_TTL_S 10
#define KEEPALIVE_S 3
/* A record is published again this often even when nothing changed. */
#define REPUBLISH_S 30

/* One change sent to the store as a transaction. */
struct store_write {
	struct store_write *next;
	struct daemon *d;
	/* Who waits for the answer (req.later; NULL: nobody). */
	void (*later)(struct daemon *d, void *arg, uint64_t id, int err,
		      const struct ipg_ctl_msg *rep);
	void *later_arg;
	uint64_t later_id;
	char list[IPG_LIST_NAME_MAX + 1]; /* the (first) list it writes */
	struct ipg_buf out; /* the diff, for the CLI */
	int64_t revision; /* once written */
	time_t deadline;
	/* A request of the store client holds it; its requester was
	 * answered (the deadline may come first). */
	bool in_flight, answered;
	/* A lost race: the list's key as the store has it now. */
	int64_t now_revision, now_create, now_version;
};

/* store.c */
const struct store_doc *doc_find(const struct store_doc *docs, int n,
				 const char *name);
/* The list a key under the prefix names ("lists/NAME"), or NULL. */
const char *list_key(const char *key);
/* The watch again, from the revision after the one that runs: its member
 * stopped answering (a hung member is silent). */
void store_rewatch(struct daemon *d);

/* store_write.c */
/* Answers the writes whose revision this host runs, or whose time is up. */
void writes_check(struct daemon *d);
/* Answers a write with @err and @msg, and forgets it. */
void write_end(struct store_write *w, int err, const char *msg);
/* The tick's share: the lease, this host's record. */
void fleet_tick(struct daemon *d);

#endif
