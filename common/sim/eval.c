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
#include "qs/ready.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simstep.h"
#include "qs/level.h"
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
	o->substep = 15;
	o->observation_delay = 0;
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
	} else if (strcmp(s, "hpa-sweep") == 0) {
		o->policy = QS_POLICY_HPA_SWEEP;
	} else if (strncmp(s, "static:", 7) == 0 &&
	    qs_num_parse_long(s + 7, 0, 100000, &o->static_replicas) == 0) {
		o->policy = QS_POLICY_STATIC;
	} else {
		return qs_err_set(err, EX_USAGE, "invalid --policy: %s "
		    "(table:FILE, hpa, static:N, oracle or hpa-sweep)", s);
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
	struct qs_simstep st;	/* the model in steps; its sim the replicas */
	struct qs_hpa hpa;
	size_t k;		/* the interval */
	long j;			/* the decision within it */
	double t;		/* its time */
	double tobs;		/* the time its metrics are as of */
	size_t i;		/* the sub-step */
	/* The oracle: each sub-step's need, how many sub-steps ahead. */
	long *need;
	size_t ns, look;
	/* The table policy. */
	struct qs_obs seen;	/* as qs-observe would see it now */
	struct qs_transition tr;	/* the last decision, to be completed */
	int decided;
	int clamped;
	long transitions, dropped;	/* completed with learn; not learned */
	struct qs_policy_opts rules;	/* o's, with its window and ideal */
	/* The model learning the load online, when the table has one. */
	struct qs_plan_online on;
	/* The level window of the decisions' observations, and the level. */
	struct qs_level lv;
	double level;
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
	long want = 0;
	size_t i;

	/* What a pod started now, or kept now, will be needed for. */
	for (i = r->i; i <= r->i + r->look && i < r->ns; i++)
		if (r->need[i] > want)
			want = r->need[i];
	return want;
}

static long
decide_hpa(struct run *r)
{
	return qs_hpa_step(&r->hpa, r->t, r->st.sim.replicas, r->st.sim.ready,
	    r->st.sim.replicas - r->st.sim.ready, qs_sim_window_rate(r->p, r->trace,
	    r->n, r->tobs, r->o->window, 0));
}

/*
 * The table's decision by the policy's rules, exploiting, from the
 * state seen now (qs_policy_decide).  With learn, first
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
	/* As qs-decide: the level of the observations as of r->tobs. */
	r->level = qs_level_add(&r->lv, r->tobs, r->seen.requests);
	s = qs_table_state(t, r->seen.pod, r->seen.latency, r->level,
	    &r->clamped);
	if (r->o->learn && r->decided)
		r->transitions++;
	/*
	 * The model learns from every observation; a table's transition
	 * whose pods are not ready is not learned (ready.h).
	 */
	if (r->o->model != NULL) {
		qs_plan_online_step(&r->on, t, s, r->tobs, &r->seen, r->level);
	} else if (r->o->learn && r->decided &&
	    qs_ready_dropped(r->seen.pod, r->tr.action)) {
		r->dropped++;
	} else if (r->o->learn && r->decided) {
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

/* --record: the observation a decision is made on, as a record. */
static int
record_row(const struct run *r)
{
	char a[QS_NUM_MAX], b[QS_NUM_MAX], c[QS_NUM_MAX];

	qs_num_format(a, round(r->t * 1000) / 1000);
	qs_num_format(b, r->seen.latency);
	qs_num_format(c, r->seen.requests);
	return fprintf(r->o->record, "%s,%ld,%s,%s\n", a, r->seen.pod, b, c) <
	    0 ? -1 : 0;
}

/* Runs longer than this many steps are refused: they would not end soon. */
#define MAX_STEPS 100000000.0

int
qs_simeval_run(const struct qs_sim_params *p, const double *trace, size_t n,
    const struct qs_simeval *o, struct qs_simeval_result *res,
    struct qs_err *err)
{
	struct qs_simnoise z;
	struct qs_simstep_plan pl;
	struct run r;
	double *f, *lats;
	double rep, sum, tl, dt, h, period, next = 0, isum, irep, keep = 1;
	double secs = 0;
	long m, ticks, want, e;
	size_t k, s, i, ns;
	int rc = 0, first = 1, seen;

	if (o->policy == QS_POLICY_HPA_SWEEP)
		return qs_err_set(err, EX_USAGE, "%s", "hpa-sweep runs through "
		    "qs_simeval_sweep");
	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.p = p;
	r.q = *p;
	r.q.noise = 0;
	r.trace = trace;
	r.n = n;
	r.o = o;
	r.rules = o->rules;
	r.rules.epsilon = 0;
	r.rules.window = o->window;
	r.rules.ideal = o->reward.ideal;
	qs_level_init(&r.lv, o->level_window);
	/* Sub-steps: a whole number per trace interval. */
	period = 0;
	if (o->policy == QS_POLICY_HPA)
		period = o->hpa.sync;
	else if (o->policy == QS_POLICY_TABLE)
		period = o->period > 0 ? o->period : p->interval;
	qs_simstep_plan(p, o->substep, period, MAX_STEPS, &pl);
	m = pl.m;
	ticks = pl.ticks;
	dt = pl.dt;
	h = pl.h;
	if (period <= 0)
		period = dt;
	if ((double)n * (double)m * (double)ticks > MAX_STEPS)
		return qs_err_set(err, EX_USAGE, "%.0f steps are too many (at "
		    "most %.0f): choose a longer --substep or policy period",
		    (double)n * (double)m * (double)ticks, MAX_STEPS);
	if (o->policy == QS_POLICY_TABLE || o->record != NULL)
		keep = fmin(qs_simstep_keep(&pl, o->observation_delay, o->window),
		    (double)n * (double)m * (double)ticks + 1);
	/* The noise of every interval, as the run will draw it. */
	f = xcalloc(n, sizeof(double));
	qs_simnoise_init(&z, p->noise, o->seed, 0);
	for (k = 0; k < n; k++)
		f[k] = qs_simnoise_at(&z, (long long)k);
	r.f = f;
	ns = n * (size_t)m;
	lats = xcalloc(ns, sizeof(double));
	if (o->policy == QS_POLICY_HPA)
		qs_hpa_init(&r.hpa, &o->hpa);
	if (o->policy == QS_POLICY_TABLE && o->model != NULL)
		qs_plan_online_init(&r.on, o->model, o->table);
	if (o->policy == QS_POLICY_ORACLE) {
		r.need = xcalloc(ns, sizeof(long));
		for (i = 0; i < ns; i++)
			r.need[i] = oracle(&r.q, rate_at(p, trace, n,
			    (long)(i / (size_t)m)), f[i / (size_t)m],
			    o->min_replicas, o->max_replicas);
		r.ns = ns;
		/* A pod started now serves the sub-steps from a delay on. */
		r.look = (size_t)ceil(p->startup_delay / dt - 1e-9);
	}
	if (o->policy == QS_POLICY_STATIC)
		want = o->static_replicas;
	else if (o->policy == QS_POLICY_ORACLE)
		want = decide_oracle(&r);
	else
		want = o->replicas;
	qs_simstep_init(&r.st, p, trace, n, 0, &pl, 0, (size_t)keep, want,
	    o->seed);
	if (o->series != NULL && fputs("t,requests,latency,replicas\n",
	    o->series) == EOF)
		rc = -1;
	if (o->record != NULL && fputs("time,pod,latency,requests\n",
	    o->record) == EOF)
		rc = -1;
	for (k = 0; k < n && rc == 0; k++) {
		r.k = k;
		isum = irep = 0;
		for (s = 0; s < (size_t)m; s++) {
			i = k * (size_t)m + s;
			r.i = i;
			sum = rep = 0;
			for (e = 0; e < ticks; e++) {
				r.j = (long)s * ticks + e;
				r.t = (double)k * p->interval + (double)s * dt +
				    (double)e * h;
				r.tobs = r.t - o->observation_delay;
				want = -1;
				if (r.t >= next - 1e-9 * h) {
					while (next <= r.t + 1e-9 * h)
						next += period;
					seen = o->policy == QS_POLICY_TABLE ||
					    o->record != NULL ?
					    qs_simstep_observe(&r.st,
					    o->observation_delay, o->window,
					    &r.seen) : 1;
					if (seen && o->record != NULL &&
					    record_row(&r) != 0)
						rc = -1;
					if (seen || o->policy != QS_POLICY_TABLE) {
						want = policies[o->policy].decide(&r);
					}
				}
				if (want >= 0 && want != r.st.sim.replicas) {
					if (!first || !policies[o->policy].sets_start)
						res->scale_actions++;
					qs_sim_scale(&r.st.sim, want);
				}
				first = 0;
				rep += (double)r.st.sim.replicas;
				tl = qs_simstep_run(&r.st);
				sum += tl;
			}
			lats[i] = fmin(sum / (double)ticks * f[k], p->max_latency);
			rep /= (double)ticks;
			secs += rep * dt;
			res->latency_mean += lats[i];
			if (lats[i] > p->ideal)
				res->slo_violations++;
			isum += lats[i];
			irep += rep;
		}
		if (o->series != NULL && series_row(o->series,
		    (double)k, trace[k] * p->scale, isum / (double)m,
		    irep / (double)m) != 0)
			rc = -1;
	}
	if (rc != 0)
		qs_err_sys(err, EX_IOERR, "cannot write the %s", o->record !=
		    NULL ? "series or the record" : "series");
	res->intervals = (long)n;
	res->substeps = (long)ns;
	res->scale = p->scale;
	res->replica_intervals = secs / p->interval;
	res->replica_minutes = secs / 60;
	res->clamped = r.clamped;
	res->transitions = r.transitions;
	res->dropped = r.dropped;
	if (ns > 0) {
		res->violation_rate = (double)res->slo_violations / (double)ns;
		res->latency_mean /= (double)ns;
		qsort(lats, ns, sizeof(double), cmp_double);
		res->latency_p95 = lats[(size_t)ceil(0.95 * (double)ns) - 1];
	}
	if (o->policy == QS_POLICY_HPA)
		qs_hpa_free(&r.hpa);
	qs_simstep_free(&r.st);
	free(r.need);
	if (o->policy == QS_POLICY_TABLE && o->model != NULL)
		qs_plan_online_free(&r.on);
	qs_level_free(&r.lv);
	free(f);
	free(lats);
	return rc;
}

/* The fields of res, without braces. */
static int
print_fields(FILE *fp, const struct qs_simeval_result *res)
{
	char rate[QS_NUM_MAX], rep[QS_NUM_MAX], mean[QS_NUM_MAX], p95[QS_NUM_MAX];
	char min[QS_NUM_MAX], scale[QS_NUM_MAX];

	qs_num_format(scale, res->scale);
	qs_num_format(rate, res->violation_rate);
	qs_num_format(rep, res->replica_intervals);
	qs_num_format(min, res->replica_minutes);
	qs_num_format(mean, res->latency_mean);
	qs_num_format(p95, res->latency_p95);
	if (fprintf(fp, "\"intervals\":%ld,\"substeps\":%ld,"
	    "\"slo_violations\":%ld,"
	    "\"violation_rate\":%s,\"replica_intervals\":%s,"
	    "\"replica_minutes\":%s,"
	    "\"scale_actions\":%ld,\"latency_mean\":%s,\"latency_p95\":%s,"
	    "\"scale\":%s",
	    res->intervals, res->substeps, res->slo_violations, rate, rep, min,
	    res->scale_actions, mean, p95, scale) < 0)
		return -1;
	return 0;
}

int
qs_simeval_print(FILE *fp, const struct qs_simeval_result *res)
{
	if (fputc('{', fp) == EOF || print_fields(fp, res) != 0 ||
	    fputs("}\n", fp) == EOF)
		return -1;
	return 0;
}

/*
 * Mark the points of v that no other has at as few violations and fewer
 * replica-minutes (the first of equals).
 */
static void
mark_frontier(struct qs_simeval_point *v, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i++) {
		v[i].frontier = 1;
		for (j = 0; j < len && v[i].frontier; j++)
			if (j != i && v[j].res.violation_rate <=
			    v[i].res.violation_rate &&
			    (v[j].res.replica_minutes < v[i].res.replica_minutes ||
			    (v[j].res.replica_minutes == v[i].res.replica_minutes &&
			    (v[j].res.violation_rate < v[i].res.violation_rate ||
			    j < i))))
				v[i].frontier = 0;
	}
}

int
qs_simeval_sweep(const struct qs_sim_params *p, const double *trace,
    size_t n, const struct qs_simeval *o, struct qs_simeval_point **pts,
    size_t *npts, struct qs_err *err)
{
	static const double windows[] = { 0, 60, 300 }, tols[] = { 0, 0.1 };
	struct qs_simeval q = *o;
	struct qs_simeval_point *v;
	size_t i, w, t, len = 0;

	v = xcalloc(15 * 3 * 2, sizeof(*v));
	q.policy = QS_POLICY_HPA;
	q.series = NULL;
	for (i = 0; i < 15; i++)
		for (w = 0; w < 3; w++)
			for (t = 0; t < 2; t++) {
				q.hpa.target = p->capacity * (0.5 + 0.05 * (double)i);
				q.hpa.down_window = windows[w];
				q.hpa.tolerance = tols[t];
				v[len].target = q.hpa.target;
				v[len].down_window = windows[w];
				v[len].tolerance = tols[t];
				if (qs_simeval_run(p, trace, n, &q, &v[len].res,
				    err) != 0) {
					free(v);
					return -1;
				}
				len++;
			}
	mark_frontier(v, len);
	*pts = v;
	*npts = len;
	return 0;
}

double
qs_simeval_frontier_at(const struct qs_simeval_point *pts, size_t n, double v)
{
	const struct qs_simeval_point *a = NULL, *b = NULL;
	double x;
	size_t i;

	/* a: the frontier's last point at or below v; b: its next. */
	for (i = 0; i < n; i++) {
		if (!pts[i].frontier)
			continue;
		x = pts[i].res.violation_rate;
		if (x <= v && (a == NULL || x > a->res.violation_rate))
			a = &pts[i];
		if (x > v && (b == NULL || x < b->res.violation_rate))
			b = &pts[i];
	}
	/* Beyond its ends no tuned HPA says what the rate would cost. */
	if (a == NULL || (b == NULL && a->res.violation_rate != v))
		return NAN;
	if (b == NULL || a->res.violation_rate == v)
		return a->res.replica_minutes;
	x = (v - a->res.violation_rate) /
	    (b->res.violation_rate - a->res.violation_rate);
	return a->res.replica_minutes +
	    x * (b->res.replica_minutes - a->res.replica_minutes);
}

int
qs_simeval_merit(const struct qs_sim_params *p, const double *trace,
    size_t n, const struct qs_simeval *o, const struct qs_simeval_result *res,
    struct qs_simeval_merit *m, struct qs_err *err)
{
	struct qs_simeval_point *pts;
	struct qs_simeval q = *o;
	struct qs_hpa_params def;
	size_t npts, i, j;

	if (qs_simeval_sweep(p, trace, n, o, &pts, &npts, err) != 0)
		return -1;
	m->hpa_replica_minutes = qs_simeval_frontier_at(pts, npts,
	    res->violation_rate);
	m->hpa = res->replica_minutes / m->hpa_replica_minutes - 1;
	/*
	 * The frontier of HPA's target alone, its other knobs at Kubernetes'
	 * defaults: what a user who tunes only the target would get.
	 */
	qs_hpa_defaults(&def);
	for (i = j = 0; i < npts; i++)
		if (pts[i].down_window == def.down_window &&
		    pts[i].tolerance == def.tolerance)
			pts[j++] = pts[i];
	mark_frontier(pts, j);
	m->hpa_target_replica_minutes = qs_simeval_frontier_at(pts, j,
	    res->violation_rate);
	m->hpa_target = res->replica_minutes / m->hpa_target_replica_minutes - 1;
	free(pts);
	q.policy = QS_POLICY_ORACLE;
	q.series = NULL;
	if (qs_simeval_run(p, trace, n, &q, &m->oracle, err) != 0)
		return -1;
	m->oracle_merit = res->replica_minutes / m->oracle.replica_minutes - 1;
	return 0;
}

/* A number, or null when it is not one. */
static void
format_or_null(char *buf, double x)
{
	if (isfinite(x))
		qs_num_format(buf, x);
	else
		strcpy(buf, "null");
}

int
qs_simeval_print_merit(FILE *fp, const struct qs_simeval_result *res,
    const struct qs_simeval_merit *m)
{
	char a[QS_NUM_MAX], b[QS_NUM_MAX], c[QS_NUM_MAX], d[QS_NUM_MAX];
	char e[QS_NUM_MAX], f[QS_NUM_MAX], g[QS_NUM_MAX];

	format_or_null(a, m->hpa_replica_minutes);
	format_or_null(b, m->hpa);
	format_or_null(c, m->oracle.replica_minutes);
	format_or_null(d, m->oracle.violation_rate);
	format_or_null(e, m->oracle_merit);
	format_or_null(f, m->hpa_target_replica_minutes);
	format_or_null(g, m->hpa_target);
	if (fputc('{', fp) == EOF || print_fields(fp, res) != 0 ||
	    fprintf(fp, ",\"hpa_frontier_replica_minutes\":%s,\"merit_hpa\":%s,"
	    "\"hpa_target_frontier_replica_minutes\":%s,"
	    "\"merit_hpa_target\":%s,"
	    "\"oracle_replica_minutes\":%s,\"oracle_violation_rate\":%s,"
	    "\"merit_oracle\":%s}\n", a, b, f, g, c, d, e) < 0)
		return -1;
	return 0;
}

int
qs_simeval_print_point(FILE *fp, const struct qs_simeval_point *pt)
{
	char a[QS_NUM_MAX], b[QS_NUM_MAX], c[QS_NUM_MAX];

	qs_num_format(a, pt->target);
	qs_num_format(b, pt->down_window);
	qs_num_format(c, pt->tolerance);
	if (fprintf(fp, "{\"hpa_target\":%s,\"hpa_window\":%s,"
	    "\"hpa_tolerance\":%s,\"frontier\":%s,", a, b, c,
	    pt->frontier ? "true" : "false") < 0 ||
	    print_fields(fp, &pt->res) != 0 || fputs("}\n", fp) == EOF)
		return -1;
	return 0;
}
