/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs/err.h"
#include "qs/hpa.h"
#include "qs/learn.h"
#include "qs/num.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/table.h"
#include "qs/xalloc.h"

void
qs_simeval_defaults(struct qs_simeval *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = QS_POLICY_HPA;
	qs_learn_defaults(&o->lp);
	qs_policy_defaults(&o->rules);
	qs_reward_defaults(&o->reward);
	qs_hpa_defaults(&o->hpa);
	o->window = 30;
	o->replicas = 1;
	o->min_replicas = 1;
	o->max_replicas = 100;
	o->seed = 1;
}

int
qs_simeval_policy_parse(const char *s, struct qs_simeval *o, const char **path,
    struct qs_err *err)
{
	*path = NULL;
	if (strncmp(s, "table:", 6) == 0 && s[6] != '\0') {
		o->policy = QS_POLICY_TABLE;
		*path = s + 6;
	} else if (strcmp(s, "hpa") == 0) {
		o->policy = QS_POLICY_HPA;
	} else if (strcmp(s, "oracle") == 0) {
		o->policy = QS_POLICY_ORACLE;
	} else if (strncmp(s, "static:", 7) == 0 &&
	    qs_num_parse_long(s + 7, 0, 100000, &o->static_replicas) == 0) {
		o->policy = QS_POLICY_STATIC;
	} else {
		return qs_err_set(err, EX_USAGE, "invalid --policy: %s "
		    "(table:FILE, hpa, static:N or oracle)", s);
	}
	return 0;
}

/* The trace's rate (requests/s) in interval i, held at its ends. */
static double
rate_at(const struct qs_sim_params *p, const double *trace, size_t n, long i)
{
	if (i < 0)
		i = 0;
	if ((size_t)i >= n)
		i = (long)n - 1;
	return trace[i] * p->scale / p->interval;
}

/*
 * With hindsight of the interval's noise factor f, the fewest replicas in
 * [lo, hi] whose latency meets the ideal, or hi when none does.
 */
static long
oracle(const struct qs_sim_params *p, double rate, double f, long lo, long hi)
{
	long r = qs_sim_needed(p, rate);

	if (r < lo)
		r = lo;
	while (r > lo && qs_sim_latency(p, r - 1, rate) * f <= p->ideal)
		r--;
	while (r < hi && qs_sim_latency(p, r, rate) * f > p->ideal)
		r++;
	return r > hi ? hi : r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
series_row(FILE *fp, double t, double requests, double latency,
    double replicas)
{
	char a[QS_NUM_MAX], b[QS_NUM_MAX], c[QS_NUM_MAX], d[QS_NUM_MAX];

	qs_num_format(a, t);
	qs_num_format(b, requests);
	qs_num_format(c, latency);
	qs_num_format(d, replicas);
	return fprintf(fp, "%s,%s,%s,%s\n", a, b, c, d) < 0 ? -1 : 0;
}

/* One run of a policy over a trace: what its decide function sees. */
struct run {
	const struct qs_sim_params *p;	/* the model, with its noise */
	struct qs_sim_params q;		/* the same without noise */
	const double *trace;
	size_t n;
	const struct qs_simeval *o;
	const double *f;	/* each interval's noise factor */
	struct qs_sim sim;
	struct qs_hpa hpa;
	size_t k;		/* the interval */
	long j;			/* the decision within it */
	double t, rate;		/* its time, the interval's rate */
	/* The table policy. */
	struct qs_obs seen;	/* as qs-observe would see the period ended */
	struct qs_transition tr;	/* the last decision, to be completed */
	int decided;
	int clamped;
	struct qs_policy_opts rules;	/* o's, with its window and ideal */
};

/*
 * A policy's decision at r->t: the replicas it wants, or -1 when it makes
 * none.
 */
typedef long decide_fn(struct run *r);

static long
decide_static(struct run *r)
{
	return r->o->static_replicas;
}

static long
decide_oracle(struct run *r)
{
	return oracle(&r->q, r->rate, r->f[r->k], r->o->min_replicas,
	    r->o->max_replicas);
}

static long
decide_hpa(struct run *r)
{
	return qs_hpa_step(&r->hpa, r->t, r->sim.replicas, r->sim.ready,
	    r->sim.replicas - r->sim.ready, qs_sim_window_rate(r->p, r->trace,
	    r->n, r->t, r->o->window, 0));
}

/*
 * The table's decision by the policy's rules, exploiting, from the
 * period just ended (qs_policy_decide).  With learn, first
 * complete the last decision's transition with what it led to and learn
 * it, as qs-reward | qs-update would.
 */
static long
decide_table(struct run *r)
{
	struct qs_table *t = r->o->table;
	struct qs_learn_result res;
	struct qs_err err = { 0 };
	enum qs_policy_why why;
	size_t s;

	if (r->k == 0 && r->j == 0)
		return -1;
	s = qs_table_state(t, r->seen.pod, r->seen.latency, r->seen.requests,
	    &r->clamped);
	if (r->o->learn && r->decided) {
		r->tr.after = r->seen;
		r->tr.reward = qs_reward_compute(&r->o->reward, r->tr.before.pod,
		    r->tr.action, r->tr.before.latency, r->tr.after.latency);
		/* The action is a column of t: this cannot fail. */
		if (qs_learn_transition(t, &r->tr, &r->o->lp, &res, &err) == 0)
			r->clamped |= res.clamped;
	}
	r->tr.before = r->seen;
	r->tr.action = t->act[qs_policy_decide(t, &r->rules, s, &r->seen, NULL,
	    &why)];
	r->decided = 1;
	return r->tr.action;
}

static const struct {
	decide_fn *decide;
	/* A change at the first decision sets the start: not an action. */
	int sets_start;
} policies[] = {
	[QS_POLICY_TABLE] = { decide_table, 0 },
	[QS_POLICY_HPA] = { decide_hpa, 0 },
	[QS_POLICY_STATIC] = { decide_static, 1 },
	[QS_POLICY_ORACLE] = { decide_oracle, 1 },
};

int
qs_simeval_run(const struct qs_sim_params *p, const double *trace, size_t n,
    const struct qs_simeval *o, struct qs_simeval_result *res,
    struct qs_err *err)
{
	struct qs_rand rng;
	struct run r;
	double *f = xcalloc(n, sizeof(double)), *lats = xcalloc(n, sizeof(double));
	double rep, sum, tl;
	long ticks = 1, want;
	size_t k;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.q = *p;
	r.q.noise = 0;
	r.trace = trace;
	r.n = n;
	r.o = o;
	r.f = f;
	r.rules = o->rules;
	r.rules.epsilon = 0;
	r.rules.window = o->window;
	r.rules.ideal = o->reward.ideal;
	qs_rand_seed(&rng, o->seed);
	for (k = 0; k < n; k++)
		f[k] = p->noise > 0 ? exp(p->noise * qs_rand_normal(&rng)) : 1;
	if (o->policy == QS_POLICY_HPA) {
		qs_hpa_init(&r.hpa, &o->hpa);
		ticks = (long)floor(p->interval / o->hpa.sync + 0.5);
	} else if (o->policy == QS_POLICY_TABLE && o->period > 0) {
		ticks = (long)floor(p->interval / o->period + 0.5);
	}
	if (ticks < 1)
		ticks = 1;
	want = o->policy == QS_POLICY_STATIC ? o->static_replicas : o->replicas;
	qs_sim_init(&r.sim, &r.q, trace, n, 0, want, o->seed);
	if (o->series != NULL && fputs("t,requests,latency,replicas\n",
	    o->series) == EOF)
		rc = -1;
	for (k = 0; k < n && rc == 0; k++) {
		r.k = k;
		r.rate = rate_at(p, trace, n, (long)k);
		sum = 0;
		rep = 0;
		for (r.j = 0; r.j < ticks; r.j++) {
			r.t = (double)k * p->interval +
			    (double)r.j * p->interval / (double)ticks;
			want = policies[o->policy].decide(&r);
			if (want >= 0 && want != r.sim.replicas) {
				if (k > 0 || r.j > 0 || !policies[o->policy].sets_start)
					res->scale_actions++;
				qs_sim_scale(&r.sim, want);
			}
			tl = qs_sim_latency(&r.q, r.sim.ready, r.rate);
			sum += tl;
			rep += (double)r.sim.replicas;
			qs_sim_advance(&r.sim, p->interval / (double)ticks);
			r.seen.pod = r.sim.ready;
			r.seen.latency = round(fmin(tl * f[k], p->max_latency));
			r.seen.requests = round(qs_sim_window_rate(p, trace, n,
			    r.t + p->interval / (double)ticks, o->window, 0) *
			    o->window);
		}
		lats[k] = fmin(sum / (double)ticks * f[k], p->max_latency);
		rep /= (double)ticks;
		res->replica_intervals += rep;
		res->latency_mean += lats[k];
		if (lats[k] > p->ideal)
			res->slo_violations++;
		if (o->series != NULL && series_row(o->series,
		    (double)k, trace[k] * p->scale, lats[k], rep) != 0)
			rc = -1;
	}
	if (rc != 0)
		qs_err_sys(err, EX_IOERR, "cannot write the series");
	res->intervals = (long)n;
	res->clamped = r.clamped;
	if (n > 0) {
		res->violation_rate = (double)res->slo_violations / (double)n;
		res->latency_mean /= (double)n;
		qsort(lats, n, sizeof(double), cmp_double);
		res->latency_p95 = lats[(size_t)ceil(0.95 * (double)n) - 1];
	}
	if (o->policy == QS_POLICY_HPA)
		qs_hpa_free(&r.hpa);
	qs_sim_free(&r.sim);
	free(f);
	free(lats);
	return rc;
}

int
qs_simeval_print(FILE *fp, const struct qs_simeval_result *res)
{
	char rate[QS_NUM_MAX], rep[QS_NUM_MAX], mean[QS_NUM_MAX], p95[QS_NUM_MAX];

	qs_num_format(rate, res->violation_rate);
	qs_num_format(rep, res->replica_intervals);
	qs_num_format(mean, res->latency_mean);
	qs_num_format(p95, res->latency_p95);
	if (fprintf(fp, "{\"intervals\":%ld,\"slo_violations\":%ld,"
	    "\"violation_rate\":%s,\"replica_intervals\":%s,"
	    "\"scale_actions\":%ld,\"latency_mean\":%s,\"latency_p95\":%s}\n",
	    res->intervals, res->slo_violations, rate, rep, res->scale_actions,
	    mean, p95) < 0)
		return -1;
	return 0;
}
