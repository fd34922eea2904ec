// SPDX-License-Identifier: GPL-2.0
/* GET /metrics: Prometheus' text exposition format (0.0.4). One table names
 * every family; a family's samples are printed together under its HELP and
 * TYPE. The XDP counters are read with a batch per map, not a call per
 * list and counter, so that 1,000 lists cost the loop a few ms. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "http.h"

/* The version build_info reports: the Makefile may pass the release's. */
#ifndef IPGATE_VERSION
#define IPGATE_VERSION "dev"
#endif

/* Keys read by one batch call. */
#define BATCH_KEYS 1024

/* One list as the families print it: the default first, then the config's
 * lists in its order. */
struct mlist {
	const char *name;
	const struct ipg_policy_spec *spec;
	uint32_t id;
	bool live; /* the kernel has it: id and the fields below are valid */
	bool have_pol;
	struct ipg_policy pol; /* the live slot's */
	uint64_t ovr_left; /* s of the list's own override */
};

struct mctx {
	struct daemon *d;
	struct ipg_buf *o;
	const char *fam; /* the family being printed, without "ipgate_" */
	int n_labels; /* of the sample being printed */
	struct mlist *lists;
	int n;
	uint64_t *stats; /* by list id * IPG_STAT_MAX + enum ipg_stat */
	uint32_t n_stats;
	uint64_t *hits; /* by rule id */
	uint32_t n_hits;
};

/* ---- samples ---- */

static void put(struct mctx *m, const char *s)
{
	ipg_buf_append(m->o, s, strlen(s));
}

static void sample_begin(struct mctx *m)
{
	put(m, "ipgate_");
	put(m, m->fam);
	m->n_labels = 0;
}

/* A label; its value escaped as the format wants (\\, \", \n). */
static void label(struct mctx *m, const char *key, const char *v)
{
	const char *run = v;

	put(m, m->n_labels++ ? "," : "{");
	put(m, key);
	put(m, "=\"");
	for (; *v; v++) {
		const char *esc = *v == '\\' ? "\\\\" :
				  *v == '"'  ? "\\\"" :
				  *v == '\n' ? "\\n" :
					       NULL;

		if (!esc)
			continue;
		ipg_buf_append(m->o, run, (size_t)(v - run));
		put(m, esc);
		run = v + 1;
	}
	ipg_buf_append(m->o, run, (size_t)(v - run));
	put(m, "\"");
}

/* Ends the sample with its value: digits by hand, as printf is most of
 * the time of 60,000 samples. */
static void sample_end(struct mctx *m, uint64_t v)
{
	char s[24], *p = s + sizeof(s);

	*--p = '\n';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	*--p = ' ';
	if (m->n_labels)
		*--p = '}';
	ipg_buf_append(m->o, p, (size_t)(s + sizeof(s) - p));
}

/* A sample of the current family with at most one label (@key NULL:
 * none). */
static void sample(struct mctx *m, const char *key, const char *v, uint64_t n)
{
	sample_begin(m);
	if (key)
		label(m, key, v);
	sample_end(m, n);
}

/* ---- the families ---- */

static void fam_build_info(struct mctx *m)
{
	char abi[16];

	snprintf(abi, sizeof(abi), "%d", IPG_ABI_VERSION);
	sample_begin(m);
	label(m, "version", IPGATE_VERSION);
	label(m, "abi", abi);
	sample_end(m, 1);
}

static void fam_packets_total(struct mctx *m)
{
	for (int i = 0; i < m->n; i++) {
		const struct mlist *l = &m->lists[i];

		if (!l->live || (l->id + 1) * IPG_STAT_MAX > m->n_stats)
			continue;
		for (int s = 0; s < IPG_STAT_MAX; s++) {
			sample_begin(m);
			label(m, "list", l->name);
			label(m, "outcome", ipg_stat_name(s));
			sample_end(m, m->stats[l->id * IPG_STAT_MAX + s]);
		}
	}
}

/* Labelled by the entry, never by the sources it let through. */
static void fam_entry_hits_total(struct mctx *m)
{
	char cidr[IPG_PREFIX_STRLEN];

	for (int i = 0; i < m->n; i++) {
		const struct mlist *l = &m->lists[i];

		for (uint32_t k = 0; l->live && k < l->spec->n_entries; k++) {
			const struct ipg_entry *e = &l->spec->entries[k];

			if (e->rule_id >= m->n_hits)
				continue;
			ipg_prefix_format(&e->prefix, cidr, sizeof(cidr));
			sample_begin(m);
			label(m, "list", l->name);
			label(m, "cidr", cidr);
			label(m, "label", e->label);
			sample_end(m, m->hits[e->rule_id]);
		}
	}
}

static void fam_list_entries(struct mctx *m)
{
	for (int i = 0; i < m->n; i++)
		sample(m, "list", m->lists[i].name,
		       m->lists[i].spec->n_entries);
}

static void fam_list_entries_limit(struct mctx *m)
{
	for (int i = 0; i < m->n; i++)
		sample(m, "list", m->lists[i].name,
		       m->lists[i].spec->max_entries);
}

/* As the kernel enforces it; as the config says for a list it lacks. */
static void fam_list_enabled(struct mctx *m)
{
	for (int i = 0; i < m->n; i++) {
		const struct mlist *l = &m->lists[i];

		sample(m, "list", l->name,
		       l->have_pol ? l->pol.enabled : l->spec->kern.enabled);
	}
}

static void fam_list_policy_generation(struct mctx *m)
{
	for (int i = 0; i < m->n; i++)
		if (m->lists[i].have_pol)
			sample(m, "list", m->lists[i].name,
			       m->lists[i].pol.generation);
}

static void fam_list_override_active(struct mctx *m)
{
	for (int i = 0; i < m->n; i++)
		sample(m, "list", m->lists[i].name, m->lists[i].ovr_left > 0);
}

static void fam_list_override_remaining_seconds(struct mctx *m)
{
	for (int i = 0; i < m->n; i++)
		sample(m, "list", m->lists[i].name, m->lists[i].ovr_left);
}

static void fam_override_active(struct mctx *m)
{
	sample(m, NULL, NULL, override_left(m->d) > 0);
}

static void fam_override_remaining_seconds(struct mctx *m)
{
	sample(m, NULL, NULL, override_left(m->d));
}

static void fam_breakglass_active_grants(struct mctx *m)
{
	sample(m, NULL, NULL, live_grants(m->d, m->d->prefix_buf, NULL));
}

static void fam_breakglass_grants_total(struct mctx *m)
{
	sample(m, NULL, NULL, *kstat_of(m->d, IPG_KNOCK_GRANTED));
}

/* Knocks and break-glass URL keys refused, by the knock's verdict. */
static void fam_breakglass_refusals_total(struct mctx *m)
{
	enum ipg_knock_verdict v;

	for (v = IPG_KNOCK_MALFORMED; v <= IPG_KNOCK_RATE_LIMITED; v++)
		sample(m, "reason", ipg_knock_verdict_name(v),
		       *kstat_of(m->d, v));
}

static void fam_changes_total(struct mctx *m)
{
	sample(m, "result", "made", m->d->changes_ok);
	sample(m, "result", "refused", m->d->changes_refused);
}

/* The blocked-source log: totals only, never addresses as labels. */
static void fam_blocked_reports_total(struct mctx *m)
{
	uint64_t sources;

	blocked_read(m->d);
	sample(m, NULL, NULL, blocked_reports(m->d, &sources));
}

static void fam_blocked_sources(struct mctx *m)
{
	uint64_t sources;

	blocked_reports(m->d, &sources);
	sample(m, NULL, NULL, sources);
}

static void http_code_sample(void *ctx, unsigned code, uint64_t n)
{
	char c[16];

	snprintf(c, sizeof(c), "%u", code);
	sample(ctx, "code", c, n);
}

static void fam_http_requests_total(struct mctx *m)
{
	http_codes(m->d, http_code_sample, m);
}

/* Every family: X(name without "ipgate_", type, help). */
#define METRIC_FAMILIES(X)                                                     \
	X(build_info, gauge,                                                   \
	  "The version of ipgated and of its maps' layout (abi); always 1")    \
	X(packets_total, counter,                                              \
	  "Packets the XDP program judged, by the list that judged them "      \
	  "and the outcome")                                                   \
	X(entry_hits_total, counter,                                           \
	  "Packets to a protected port an allowlist entry let through")        \
	X(list_entries, gauge, "Entries in the list")                          \
	X(list_entries_limit, gauge, "The list's max-entries")                 \
	X(list_enabled, gauge, "1 when the list is enforced, 0 when disabled") \
	X(list_policy_generation, gauge,                                       \
	  "Generation of the list's live policy (the API's ETag)")             \
	X(list_override_active, gauge,                                         \
	  "1 while an emergency override of the list alone runs")              \
	X(list_override_remaining_seconds, gauge,                              \
	  "Seconds left of the list's own override (0: none)")                 \
	X(override_active, gauge,                                              \
	  "1 while an emergency override of every list runs")                  \
	X(override_remaining_seconds, gauge,                                   \
	  "Seconds left of the override of every list (0: none)")              \
	X(breakglass_active_grants, gauge, "Live break-glass grants")          \
	X(breakglass_grants_total, counter,                                    \
	  "Break-glass grants made (knocks and the break-glass URL)")          \
	X(breakglass_refusals_total, counter,                                  \
	  "Break-glass knocks and keys refused, by reason")                    \
	X(blocked_reports_total, counter,                                      \
	  "Blocked-source reports of the XDP program (at most blocked-log "    \
	  "a second per list and CPU)")                                        \
	X(blocked_sources, gauge,                                              \
	  "Sources the blocked-source log keeps (ipgate blocked)")             \
	X(changes_total, counter,                                              \
	  "Policy changes asked for, by result (made or refused)")             \
	X(http_requests_total, counter,                                        \
	  "HTTP requests answered, by status code")

static const struct family {
	const char *name, *type, *help;
	void (*render)(struct mctx *m);
} families[] = {
#define METRIC_FAMILY_ROW(n, t, h) { #n, #t, h, fam_##n },
	METRIC_FAMILIES(METRIC_FAMILY_ROW)
#undef METRIC_FAMILY_ROW
};

/* ---- reading the kernel ---- */

/* Sums each of the first @n keys of per-CPU array @fd (u64 values) over
 * the CPUs into @out: one call per BATCH_KEYS keys, or one per key where
 * the kernel has no batch lookups. */
static int percpu_sums(int fd, uint32_t n, uint64_t *out)
{
	int ncpus = libbpf_num_possible_cpus();
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = NULL, in = 0, next = 0, count;
	uint64_t *vals = NULL;
	uint32_t done = 0;
	bool first = true;
	int r = 0;

	if (fd < 0 || ncpus <= 0)
		return fd < 0 ? fd : ncpus;
	keys = calloc(BATCH_KEYS, sizeof(*keys));
	vals = calloc((size_t)BATCH_KEYS * ncpus, sizeof(*vals));
	if (!keys || !vals) {
		r = -ENOMEM;
		goto out;
	}
	while (done < n) {
		count = n - done < BATCH_KEYS ? n - done : BATCH_KEYS;
		r = bpf_map_lookup_batch(fd, first ? NULL : &in, &next, keys,
					 vals, &count, &opts);
		if (r && r != -ENOENT)
			break;
		for (__u32 i = 0; i < count; i++)
			for (int c = 0; keys[i] < n && c < ncpus; c++)
				out[keys[i]] += vals[(size_t)i * ncpus + c];
		done += count;
		if (r == -ENOENT || !count) {
			r = 0;
			break;
		}
		in = next;
		first = false;
	}
	if (!r)
		goto out;
	/* No batch lookups: one key at a time. */
	memset(out, 0, n * sizeof(*out));
	for (__u32 k = 0; k < n; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			r = -errno;
			goto out;
		}
		for (int c = 0; c < ncpus; c++)
			out[k] += vals[c];
	}
	r = 0;
out:
	free(keys);
	free(vals);
	return r;
}

struct name_id {
	const char *name;
	uint32_t id;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_id *)a)->name,
		      ((const struct name_id *)b)->name);
}

/* The lists, their kernel ids (one pass over the kernel's names, not a
 * search per list), live policies and overrides; how many counters of
 * each map the lists use (the maps are twice that or more). */
static int lists_read(struct mctx *m, uint32_t lists_max)
{
	struct daemon *d = m->d;
	struct name_id *k = calloc(lists_max + 1, sizeof(*k)), key, *hit;
	uint32_t *ids = calloc(lists_max + 1, sizeof(*ids));
	int nk = 0, n = 0;

	m->lists = calloc((size_t)d->cfg.n_lists + 1, sizeof(*m->lists));
	if (!k || !ids || !m->lists) {
		free(k);
		free(ids);
		return -ENOMEM;
	}
	n = ipg_datapath_list_ids(d->dp, ids, (int)lists_max + 1);
	for (int i = 0; i < n; i++) {
		k[nk].name = ipg_datapath_list_name(d->dp, ids[i]);
		k[nk].id = ids[i];
		nk += k[nk].name != NULL;
	}
	qsort(k, nk, sizeof(*k), name_cmp);
	m->n = d->cfg.n_lists + 1;
	for (int i = 0; i < m->n; i++) {
		struct mlist *l = &m->lists[i];

		l->name = i ? d->cfg.lists[i - 1]->name : "default";
		l->spec = i ? &d->cfg.lists[i - 1]->policy : &d->cfg.policy;
		key.name = l->name;
		hit = bsearch(&key, k, nk, sizeof(*k), name_cmp);
		if (!hit)
			continue;
		l->live = true;
		l->id = hit->id;
		l->have_pol = !ipg_datapath_list_active(d->dp, l->id, &l->pol);
		l->ovr_left = list_override_left(d, l->id);
		if (l->id >= m->n_stats / IPG_STAT_MAX)
			m->n_stats = (l->id + 1) * IPG_STAT_MAX;
		for (uint32_t e = 0; e < l->spec->n_entries; e++)
			if (l->spec->entries[e].rule_id >= m->n_hits)
				m->n_hits = l->spec->entries[e].rule_id + 1;
	}
	free(k);
	free(ids);
	return 0;
}

int metrics_render(struct daemon *d, struct ipg_buf *out)
{
	struct mctx m = { .d = d, .o = out };
	struct ipg_datapath_opts z;
	int r;

	ipg_datapath_sizes(d->dp, &z);
	r = lists_read(&m, z.lists_max);
	if (m.n_stats > z.lists_max * IPG_STAT_MAX)
		m.n_stats = z.lists_max * IPG_STAT_MAX;
	if (m.n_hits > z.rules_max)
		m.n_hits = z.rules_max;
	m.stats = calloc(m.n_stats + 1, sizeof(*m.stats));
	m.hits = calloc(m.n_hits + 1, sizeof(*m.hits));
	if (!r && (!m.stats || !m.hits))
		r = -ENOMEM;
	if (!r)
		r = percpu_sums(ipg_datapath_map_fd(d->dp, "ipg_stats"),
				m.n_stats, m.stats);
	if (!r)
		r = percpu_sums(ipg_datapath_map_fd(d->dp, "ipg_rule_hits"),
				m.n_hits, m.hits);
	for (size_t f = 0; !r && f < sizeof(families) / sizeof(*families);
	     f++) {
		m.fam = families[f].name;
		ipg_buf_printf(out,
			       "# HELP ipgate_%s %s\n# TYPE ipgate_%s %s\n",
			       m.fam, families[f].help, m.fam,
			       families[f].type);
		families[f].render(&m);
	}
	free(m.lists);
	free(m.stats);
	free(m.hits);
	return r;
}
