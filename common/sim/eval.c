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
	o->alpha = QS_ALPHA;
	o->gamma = QS_GAMMA;
	o->rule = QS_REWARD_NOTEBOOK;
	o->cost.w_perf = QS_REWARD_W_PERF;
	o->cost.w_res = QS_REWARD_W_RES;
	o->cost.w_adp = QS_REWARD_W_ADP;
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

int
qs_simeval_run(const struct qs_sim_params *p, const double *trace, size_t n,
    const struct qs_simeval *o, struct qs_simeval_result *res,
    struct qs_err *err)
{
	struct qs_sim_params q = *p;
	struct qs_rand rng;
	struct qs_sim sim;
	struct qs_hpa hpa;
	double *f = xcalloc(n, sizeof(double)), *lats = xcalloc(n, sizeof(double));
	double rate, rep, t, sum, r, tl;
	double olat = 0, oreq = 0, plat = 0;
	long ticks = 1, j, want, opod = 0, pact = 0;
	size_t k, s = 0, ps = 0;
	int clamped = 0, have = 0, col = 0, rc = 0;

	memset(res, 0, sizeof(*res));
	q.noise = 0;
	q.scale = p->scale;
	qs_rand_seed(&rng, o->seed);
	for (k = 0; k < n; k++)
		f[k] = p->noise > 0 ? exp(p->noise * qs_rand_normal(&rng)) : 1;
	if (o->policy == QS_POLICY_HPA) {
		qs_hpa_init(&hpa, &o->hpa);
		ticks = (long)floor(p->interval / o->hpa.sync + 0.5);
	} else if (o->policy == QS_POLICY_TABLE && o->period > 0) {
		ticks = (long)floor(p->interval / o->period + 0.5);
	}
	if (ticks < 1)
		ticks = 1;
	want = o->policy == QS_POLICY_STATIC ? o->static_replicas : o->replicas;
	qs_sim_init(&sim, &q, trace, n, 0, want, o->seed);
	if (o->series != NULL && fputs("t,requests,latency,replicas\n",
	    o->series) == EOF)
		rc = -1;
	for (k = 0; k < n && rc == 0; k++) {
		rate = rate_at(p, trace, n, (long)k);
		if (o->policy == QS_POLICY_ORACLE)
			want = oracle(&q, rate, f[k], o->min_replicas,
			    o->max_replicas);
		if (o->policy != QS_POLICY_HPA && o->policy != QS_POLICY_TABLE &&
		    want != sim.replicas) {
			if (k > 0)
				res->scale_actions++;
			qs_sim_scale(&sim, want);
		}
		sum = 0;
		rep = 0;
		for (j = 0; j < ticks; j++) {
			t = (double)k * p->interval +
			    (double)j * p->interval / (double)ticks;
			if (o->policy == QS_POLICY_HPA)
				want = qs_hpa_step(&hpa, t, sim.replicas, sim.ready,
				    sim.replicas - sim.ready,
				    qs_sim_window_rate(p, trace, n, t, o->window, 0));
			if (o->policy == QS_POLICY_TABLE && (k > 0 || j > 0)) {
				/* Observe the period just ended, as qs-observe would. */
				s = qs_table_state(o->table, opod, olat, oreq, &clamped);
				if (o->learn && have) {
					if (o->rule == QS_REWARD_COST)
						r = qs_reward_cost(&o->cost, p->ideal,
						    pact, o->table->act[col], olat);
					else
						r = qs_reward_notebook(p->ideal, pact,
						    o->table->act[col], plat, olat);
					qs_learn_update(o->table, ps, col, r, s,
					    o->alpha, o->gamma, QS_COMPAT_NONE);
				}
				pact = opod;
				plat = olat;
				ps = s;
				col = qs_table_best(o->table, s);
				want = o->table->act[col];
				have = 1;
			}
			if ((o->policy == QS_POLICY_HPA ||
			    o->policy == QS_POLICY_TABLE) && want != sim.replicas) {
				res->scale_actions++;
				qs_sim_scale(&sim, want);
			}
			tl = qs_sim_latency(&q, sim.ready, rate);
			sum += tl;
			rep += (double)sim.replicas;
			qs_sim_advance(&sim, p->interval / (double)ticks);
			opod = sim.ready;
			olat = round(fmin(tl * f[k], p->max_latency));
			oreq = round(qs_sim_window_rate(p, trace, n,
			    t + p->interval / (double)ticks, o->window, 0) *
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
	if (n > 0) {
		res->violation_rate = (double)res->slo_violations / (double)n;
		res->latency_mean /= (double)n;
		qsort(lats, n, sizeof(double), cmp_double);
		res->latency_p95 = lats[(size_t)ceil(0.95 * (double)n) - 1];
	}
	if (o->policy == QS_POLICY_HPA)
		qs_hpa_free(&hpa);
	qs_sim_free(&sim);
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
