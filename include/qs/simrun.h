/* See LICENSE file for copyright and license details. */
#ifndef QS_SIMRUN_H
#define QS_SIMRUN_H

#include <stdio.h>

#include "qs/err.h"
#include "qs/history.h"
#include "qs/hpa.h"
#include "qs/learn.h"
#include "qs/plan.h"
#include "qs/policy.h"
#include "qs/sim.h"
#include "qs/table.h"

/*
 * Offline runs of the learning loop and of scaling policies over a trace,
 * for qs-sim train and qs-sim eval, on the model in steps (simstep.h).
 * Both observe a state as qs-observe does at the end of each decision
 * period (qs_simstep_observe): the ready replicas, and of the window
 * seconds before it the mean latency of their requests rounded to a
 * millisecond and the requests, rounded.
 */
struct qs_simtrain {
	long epochs;
	double period;		/* seconds per epoch; 0: the trace's interval */
	double epsilon;
	/* The decision rules; its epsilon, window and ideal are set from o's. */
	struct qs_policy_opts policy;
	struct qs_learn_params lp;
	double window;		/* seconds of the observation window (30) */
	long replicas;		/* ready at the start */
	struct qs_reward reward;	/* its ideal normally the model's */
	unsigned long long seed;
	/* Called now and then with the epochs done, when not NULL. */
	void (*progress)(long done, long total, void *arg);
	void *arg;
	/*
	 * The model integrated as qs-sim eval integrates it (simstep.h):
	 * sub-steps of substep seconds (15), metrics observation_delay
	 * seconds late (0).
	 */
	double substep;
	double observation_delay;
	/* When not NULL: set to the transitions dropped as not ready. */
	long *dropped;
	/*
	 * Seconds from a decision to the observation that completes its
	 * transition, as qs-run's --wait; 0: one period.
	 */
	double wait;
};

void qs_simtrain_defaults(struct qs_simtrain *o);

/*
 * Run o->epochs epochs of the learning loop on table t against a
 * simulation of params p over trace (n values; the trace loops), one
 * period (o->period, else one trace interval) per epoch: observe, decide
 * (qs_policy_decide), scale, run the model's steps (qs_simstep_run, as
 * qs-sim eval runs them) to the observation o->wait later (one period
 * when 0; several transitions are then in flight, as in qs-run), observe
 * (qs_simstep_observe), reward (qs_reward_compute), learn
 * (qs_learn_transition), as qs-reward and qs-update would.  The first state is observed after a period at the
 * starting replicas before time 0, the trace looping.  A transition whose
 * ready replicas after it are not its action is not learned, as qs-update
 * drops it (qs_ready_dropped), and is counted in *o->dropped.  When h is
 * not NULL, append one history row per learned transition to it.  The
 * model's noise is seeded with o->seed and the decisions with a stream
 * derived from it.  Observations outside the table set QS_CLAMP_* bits in
 * *clamped.  Returns 0, or -1 with err: EX_USAGE before any work when the
 * steps of an epoch, or the periods of the wait, would be too many, or
 * the history cannot be written (it is then rolled back).
 */
int qs_simtrain_run(struct qs_table *t, const struct qs_sim_params *p,
    const double *trace, size_t n, const struct qs_simtrain *o,
    struct qs_history *h, int *clamped, struct qs_err *err);

/*
 * Refuse settings qs_simtrain_run would not finish soon with: an epoch,
 * or the observation delay, of more than a million steps, or a wait of
 * more than a million periods.  Returns 0, or
 * -1 with err (EX_USAGE).
 */
int qs_simtrain_check(const struct qs_sim_params *p,
    const struct qs_simtrain *o, struct qs_err *err);

enum qs_policy {
	QS_POLICY_TABLE,
	QS_POLICY_HPA,
	QS_POLICY_STATIC,
	QS_POLICY_ORACLE,
	QS_POLICY_HPA_SWEEP
};

struct qs_simeval {
	enum qs_policy policy;
	long static_replicas;
	struct qs_table *table;	/* borrowed; updated with learn */
	int learn;
	/* The table's decision rules, exploiting; window and ideal from o's. */
	struct qs_policy_opts rules;
	double period;		/* seconds between table decisions (interval) */
	struct qs_learn_params lp;
	struct qs_reward reward;	/* its ideal normally the model's */
	struct qs_hpa_params hpa;
	double window;
	long replicas;		/* at the start */
	long min_replicas, max_replicas;	/* for the oracle */
	unsigned long long seed;
	FILE *series;		/* per-interval CSV when not NULL */
	/*
	 * Seconds per sub-step (15), rounded so that a whole number of them
	 * makes a trace interval: the figures count sub-steps.
	 */
	double substep;
	/* Policies see metrics as of this many seconds ago (0). */
	double observation_delay;
	/*
	 * When not NULL, each decision's observation as a record
	 * time,pod,latency,requests (CSV, as qs-observe writes them).
	 */
	FILE *record;
	/*
	 * The table's model (borrowed) when it has one: as in qs-decide, each
	 * decision's observation is fed to a copy of it, and the state
	 * decided in planned again (qs_plan_online), instead of Q-learning.
	 */
	struct qs_plan *model;
	/*
	 * The table's level window (qs/level.h), seconds: the table policy
	 * decides on the highest requests it has seen in it; 0 for none.
	 */
	double level_window;
};

struct qs_simeval_result {
	long intervals;
	long slo_violations;
	double violation_rate;
	double replica_intervals;
	long substeps;		/* the violations' denominator */
	double replica_minutes;
	long scale_actions;	/* churn */
	double latency_mean;
	double latency_p95;
	int clamped;		/* QS_CLAMP_* bits of the table's observations */
	double scale;		/* the factor on the trace's requests */
	/* With learn: the transitions completed, those not ready not learned. */
	long transitions, dropped;
};

void qs_simeval_defaults(struct qs_simeval *o);

/*
 * Parse a policy: "table:FILE" (its path stored in *path, borrowed from
 * s), "hpa", "static:N" or "oracle".  Returns 0, or -1 with err.
 */
int qs_simeval_policy_parse(const char *s, struct qs_simeval *o,
    const char **path, struct qs_err *err);

/*
 * Run the policy of o once over the trace (n intervals) and fill res.
 * The run is integrated over sub-steps of o->substep seconds, or at the
 * policy's period when that is shorter, and the policy decides at its own
 * period; the figures count sub-steps.  Each sub-step's latency is the
 * model's mean over it (qs_sim_substep, a backlog carried from one to the
 * next) times one seeded noise factor per trace interval, the same for
 * every policy, so that policies are compared on the same draw.  The
 * oracle starts each pod a start-up delay before it is needed.  Returns
 * 0, or -1 with err when writing the series fails.
 */
int qs_simeval_run(const struct qs_sim_params *p, const double *trace,
    size_t n, const struct qs_simeval *o, struct qs_simeval_result *res,
    struct qs_err *err);

/* Print res as one JSON object on a line; returns 0 or -1 (errno). */
int qs_simeval_print(FILE *fp, const struct qs_simeval_result *res);

/* One HPA setting of a sweep and its figures. */
struct qs_simeval_point {
	double target, down_window, tolerance;
	struct qs_simeval_result res;
	int frontier;		/* on the lower envelope */
};

/*
 * Run HPA, with o's other settings, at every target in capacity times
 * 0.5, 0.55, ..., 1.2, scale-down window 0, 60 and 300 s and tolerance 0
 * and 0.1, into a new array *pts of *npts points (the caller frees it),
 * and mark the frontier: the points no other has at as few violations
 * and fewer replica-minutes.  Returns 0, or -1 with err.
 */
int qs_simeval_sweep(const struct qs_sim_params *p, const double *trace,
    size_t n, const struct qs_simeval *o, struct qs_simeval_point **pts,
    size_t *npts, struct qs_err *err);

/*
 * The frontier's replica-minutes at violation rate v, linear between its
 * points; NAN outside them (no tuned HPA has so few violations, or so
 * many).
 */
double qs_simeval_frontier_at(const struct qs_simeval_point *pts, size_t n,
    double v);

/* A policy's figure of merit: its cost over the yardsticks', minus 1. */
struct qs_simeval_merit {
	double hpa_replica_minutes;	/* the frontier's at res's rate */
	double hpa;		/* NAN outside the frontier's reach */
	/* The same for the frontier of the target alone, at hpa.h's defaults. */
	double hpa_target_replica_minutes;
	double hpa_target;
	struct qs_simeval_result oracle;	/* the lead-time oracle's run */
	double oracle_merit;
};

/*
 * Sweep HPA and run the lead-time oracle with o's settings, and fill m
 * for the result res of o's policy.  Returns 0, or -1 with err.
 */
int qs_simeval_merit(const struct qs_sim_params *p, const double *trace,
    size_t n, const struct qs_simeval *o, const struct qs_simeval_result *res,
    struct qs_simeval_merit *m, struct qs_err *err);

/* Print res with m's figures as one JSON object on a line, as above. */
int qs_simeval_print_merit(FILE *fp, const struct qs_simeval_result *res,
    const struct qs_simeval_merit *m);

/* Print one sweep point as one JSON object on a line, as above. */
int qs_simeval_print_point(FILE *fp, const struct qs_simeval_point *pt);

#endif
