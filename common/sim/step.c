/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qs/rand.h"
#include "qs/record.h"
#include "qs/sim.h"
#include "qs/simstep.h"
#include "qs/xalloc.h"

void
qs_simnoise_init(struct qs_simnoise *z, double sd, unsigned long long seed,
    long long first)
{
	qs_rand_seed(&z->rng, seed);
	z->sd = sd;
	z->k = first - 1;
	z->f = 1;
}

double
qs_simnoise_at(struct qs_simnoise *z, long long k)
{
	/* Every interval passed draws its own, asked for or not. */
	while (z->k < k) {
		z->f = z->sd > 0 ? exp(z->sd * qs_rand_normal(&z->rng)) : 1;
		z->k++;
	}
	return z->f;
}

void
qs_simstep_plan(const struct qs_sim_params *p, double substep, double period,
    double max, struct qs_simstep_plan *pl)
{
	pl->m = substep > 0 ? (long)fmin(floor(p->interval / substep + 0.5),
	    max + 1) : 1;
	if (pl->m < 1)
		pl->m = 1;
	pl->dt = p->interval / (double)pl->m;
	/* Integrate at the policy's own period when it is the shorter. */
	pl->ticks = period > 0 ? (long)fmin(floor(pl->dt / period + 0.5),
	    max + 1) : 1;
	if (pl->ticks < 1)
		pl->ticks = 1;
	pl->h = pl->dt / (double)pl->ticks;
}

double
qs_simstep_keep(const struct qs_simstep_plan *pl, double delay, double window)
{
	return ceil(delay / pl->h) + floor(window / pl->h + 0.5) + 2;
}

void
qs_simstep_init(struct qs_simstep *st, const struct qs_sim_params *p,
    const double *trace, size_t n, int loop, const struct qs_simstep_plan *pl,
    long long first, size_t keep, long replicas, unsigned long long seed)
{
	struct qs_sim_params q = *p;

	memset(st, 0, sizeof(*st));
	q.noise = 0;
	qs_sim_init(&st->sim, &q, trace, n, 0, replicas, seed);
	st->p = *p;
	st->trace = trace;
	st->n = n;
	st->loop = loop;
	st->h = pl->h;
	st->per = (long long)pl->m * pl->ticks;
	st->step = st->first = first;
	st->sim.now = (double)first * pl->h;
	qs_simnoise_init(&st->noise, p->noise, seed, qs_simstep_interval(st));
	st->keep = keep > 0 ? keep : 1;
	st->lat = xcalloc(st->keep, sizeof(double));
	st->req = xcalloc(st->keep, sizeof(double));
}

void
qs_simstep_free(struct qs_simstep *st)
{
	qs_sim_free(&st->sim);
	free(st->lat);
	free(st->req);
	st->lat = st->req = NULL;
}

double
qs_simstep_now(const struct qs_simstep *st)
{
	return (double)st->step * st->h;
}

long long
qs_simstep_interval(const struct qs_simstep *st)
{
	long long k = st->step / st->per;

	return k * st->per > st->step ? k - 1 : k;
}

static size_t
slot(const struct qs_simstep *st, long long s)
{
	long long k = (long long)st->keep;

	return (size_t)(((s % k) + k) % k);
}

double
qs_simstep_run(struct qs_simstep *st)
{
	long long k = qs_simstep_interval(st);
	double rate = qs_sim_row_rate(&st->p, st->trace, st->n, k, st->loop);
	double l = qs_sim_substep(&st->sim.p, st->sim.ready, rate, st->h,
	    &st->backlog);
	double f = qs_simnoise_at(&st->noise, k);

	st->lat[slot(st, st->step)] = fmin(l * f, st->p.max_latency);
	st->req[slot(st, st->step)] = rate * st->h;
	st->step++;
	qs_sim_advance(&st->sim, st->h);
	return l;
}

int
qs_simstep_observe(const struct qs_simstep *st, double delay, double window,
    struct qs_obs *o)
{
	double tobs = qs_simstep_now(st) - delay, sum = 0, lsum = 0, rsum = 0;
	long long hi = (long long)floor(tobs / st->h + 1e-9), lo, cnt, x;

	lo = st->step - (long long)st->keep;
	if (lo < st->first)
		lo = st->first;
	if (hi > st->step)
		hi = st->step;
	if (hi <= lo)
		return 0;
	cnt = (long long)floor(window / st->h + 0.5);
	cnt = cnt < 1 ? 1 : cnt > hi - lo ? hi - lo : cnt;
	for (x = hi - cnt; x < hi; x++) {
		sum += st->lat[slot(st, x)];
		lsum += st->lat[slot(st, x)] * st->req[slot(st, x)];
		rsum += st->req[slot(st, x)];
	}
	o->pod = st->sim.ready;
	/*
	 * As Prometheus divides the window's latency sum by its count: the
	 * mean over its requests, or over time when there were none.
	 */
	o->latency = round(rsum > 0 ? lsum / rsum : sum / (double)cnt);
	o->requests = round(qs_sim_window_rate(&st->p, st->trace, st->n, tobs,
	    window, st->loop) * window);
	return 1;
}
