/* See LICENSE file for copyright and license details. */
#ifndef QS_SIMSTEP_H
#define QS_SIMSTEP_H

#include <stddef.h>

#include "qs/err.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/sim.h"

/*
 * The model integrated over fixed steps, as qs-sim eval and qs-sim train
 * both run it, so that a table is trained on the model it is judged on.
 */

/*
 * The latency noise: one factor per trace interval, the k-th drawn k-th
 * from a stream seeded with seed, so that two streams of one seed give
 * every interval the same factor.
 */
struct qs_simnoise {
	struct qs_rand rng;
	double sd;
	long long k;		/* the interval of f; -1 before the first */
	double f;
};

void qs_simnoise_init(struct qs_simnoise *z, double sd,
    unsigned long long seed, long long first);

/* The factor of interval k, which must not be below the last one asked. */
double qs_simnoise_at(struct qs_simnoise *z, long long k);

/*
 * How a run is cut into steps: m sub-steps per trace interval (the figures
 * count them), each of ticks steps when the policy's period is shorter,
 * h = interval / m / ticks seconds per step.
 */
struct qs_simstep_plan {
	long m, ticks;
	double dt, h;
};

/*
 * Plan a run at sub-steps of substep seconds (rounded so that a whole
 * number makes a trace interval; 0: one per interval) for a policy
 * deciding every period seconds (0: every sub-step).  A count that would
 * be above max is stored as max + 1, for the caller to refuse.
 */
void qs_simstep_plan(const struct qs_sim_params *p, double substep,
    double period, double max, struct qs_simstep_plan *pl);

/*
 * A run in steps.  Each step: the rate of the trace interval it lies in
 * (the trace looping, or held at its ends), the mean latency over it of
 * the replicas ready at its start (qs_sim_substep, with the backlog
 * carried from step to step), then the clock moves on and readies the
 * replicas whose start-up is over.  The latencies of the last keep steps,
 * times their interval's noise factor and capped, are kept for
 * observations.
 */
struct qs_simstep {
	struct qs_sim sim;	/* the clock and the replicas; its noise off */
	struct qs_sim_params p;	/* the model, with its noise */
	const double *trace;	/* borrowed */
	size_t n;
	int loop;
	double h;
	long long per;		/* steps per trace interval */
	long long step;		/* the next step's number; its time step * h */
	long long first;	/* the first step's */
	double backlog;
	struct qs_simnoise noise;
	double *lat;		/* ring of the last keep steps' latencies */
	double *req;		/* and of their requests */
	size_t keep;
};

/*
 * Start a run at step first (its time first * h, which may be negative:
 * with loop, the trace's end comes before its start) with replicas ready,
 * keeping keep steps for observations (at least 1).
 */
void qs_simstep_init(struct qs_simstep *st, const struct qs_sim_params *p,
    const double *trace, size_t n, int loop, const struct qs_simstep_plan *pl,
    long long first, size_t keep, long replicas, unsigned long long seed);
void qs_simstep_free(struct qs_simstep *st);

/* The time of the next step. */
double qs_simstep_now(const struct qs_simstep *st);

/* The trace interval of the next step. */
long long qs_simstep_interval(const struct qs_simstep *st);

/*
 * Run one step; returns its latency without noise (ms, the model's cap
 * applied).  st->sim.replicas and ready are those it ran with until the
 * clock moved.
 */
double qs_simstep_run(struct qs_simstep *st);

/*
 * What qs-observe would report now with metrics delay seconds late: the
 * replicas ready now, and of the window seconds before now - delay the
 * mean latency of the requests (of the steps in it, fewer when the run is
 * younger; at least one), rounded to a millisecond, and the requests,
 * rounded.  Returns 1, or 0 when no step lies before now - delay.
 */
int qs_simstep_observe(const struct qs_simstep *st, double delay,
    double window, struct qs_obs *o);

/* The steps qs_simstep_observe needs kept for delay and window. */
double qs_simstep_keep(const struct qs_simstep_plan *pl, double delay,
    double window);

#endif
