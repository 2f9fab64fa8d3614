/* See LICENSE file for copyright and license details. */
#ifndef QS_PLAN_H
#define QS_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/record.h"
#include "qs/table.h"

/*
 * The model-based learner.  A model of the application (latency against
 * the request rate per ready replica) and of its load (how requests move
 * over the start-up horizon) is learned from observations, and the table
 * is planned from it with discount 0: Q(s, n) is minus the expected cost
 * reward of qs-reward --rules cost,
 *
 *	w_slo P(latency > ideal | n, s) + w_res n / max + w_adp [n != pod],
 *
 * so that online updates and planning agree.  The model lives in a CSV
 * file beside the table (TABLE.model), one row per parameter or bin:
 * kind,lo,hi,bin_lo,bin_hi,count,mean,sd (see qscale(7)).
 */

/* Latency bins of request rate per replica; more are never made. */
#define QS_PLAN_LAT_BINS 400
/* Samples a latency bin needs to count for the curve's fit on its own. */
#define QS_PLAN_MIN_BIN 3
/* Request levels the load ratios are kept for. */
#define QS_PLAN_LEVELS 8
/* Log-ratio bins of width QS_PLAN_RATIO_W, QS_PLAN_RATIO_N/2 each side. */
#define QS_PLAN_RATIO_N 80
#define QS_PLAN_RATIO_W 0.05

enum { QS_PLAN_FIT_NONE, QS_PLAN_FIT_LINEAR, QS_PLAN_FIT_QUEUE };

/* A latency bin: samples, their geometric mean (ms), log spread. */
struct qs_plan_lat {
	long n;
	double mean, sd;
};

struct qs_plan {
	/* The planner's parameters. */
	double ideal;		/* ms, the SLO */
	double window;		/* seconds the requests count */
	double horizon;		/* seconds: the start-up delay */
	double w_slo, w_res, w_adp;
	long min_replicas, max_replicas;
	/* Seconds of the load level (qs/level.h); 0: the requests. */
	double level_window;
	/* Latency against requests/s per replica, bins of lat_width. */
	double lat_width;
	int nlat;
	struct qs_plan_lat lat[QS_PLAN_LAT_BINS];
	/* The parametric fit, from the bins (qs_plan_refit). */
	int fit_kind;
	double fit_base, fit_param, fit_sd, fit_lo, fit_hi;
	long fit_n;
	/* Request levels: upper edges, the last one unbounded. */
	int nlevel;
	double level_hi[QS_PLAN_LEVELS];
	/* Ratio histograms per level: requests at t + horizon, peak in it. */
	long at[QS_PLAN_LEVELS][QS_PLAN_RATIO_N];
	long peak[QS_PLAN_LEVELS][QS_PLAN_RATIO_N];
	/*
	 * Per level of at (0) and peak (1): the sum of its ratio samples'
	 * weights and of their squares, for its effective sample count
	 * (Kish's, sw^2 / sw2) that decides whether it borrows every level's.
	 * A model's file has counts only: they load as samples of weight 1.
	 */
	double ratio_sw[2][QS_PLAN_LEVELS], ratio_sw2[2][QS_PLAN_LEVELS];
	/*
	 * The rows of the table's history the model has learned, its
	 * "learned" row; -1 when it has none (taken as up to date).
	 */
	long learned;
};

/* The defaults: ideal 500, window 30, horizon 60, weights 0.9,0.09,0.0025. */
void qs_plan_defaults(struct qs_plan *pl);

/*
 * The model path of a table: its path with ".model" appended, in a new
 * string.
 */
char *qs_plan_path(const char *table);

/*
 * Load a model file.  Returns 0, or -1 with err: EX_NOINPUT when it
 * cannot be opened, EX_DATAERR naming the line when it is not a model.
 */
int qs_plan_load(struct qs_plan *pl, const char *path, struct qs_err *err);

/* Write the model as CSV; returns 0, or -1 with errno set. */
int qs_plan_write(const struct qs_plan *pl, FILE *fp);

/*
 * Write the model to a temporary file beside path and sync it, for
 * qs_atomic_commit to rename over path (qs_table_save_prepare's way).
 */
int qs_plan_save_prepare(const struct qs_plan *pl, const char *path,
    struct qs_atomic *a, struct qs_err *err);

/* Replace path with the model, crash-safely. */
int qs_plan_save(const struct qs_plan *pl, const char *path,
    struct qs_err *err);

/*
 * Fit a new model to an observation series: records time, pod, latency
 * and requests, as qs-observe and qs-sim eval --record write them, in
 * path, ascending in time.  pl's parameters are kept; its bins and
 * histograms are replaced.  Returns 0, or -1 with err (EX_NOINPUT,
 * EX_DATAERR naming the line, or too few usable rows).
 */
int qs_plan_fit_file(struct qs_plan *pl, const char *path,
    struct qs_err *err);

/* As qs_plan_fit_file, from the stream fp, named name in messages. */
int qs_plan_fit_fp(struct qs_plan *pl, FILE *fp, const char *name,
    struct qs_err *err);

/* Add one latency sample at pod ready replicas; ignored when unusable. */
void qs_plan_add_latency(struct qs_plan *pl, long pod, double requests,
    double latency);

/* Add one "at" ratio sample: requests, then later requests after. */
void qs_plan_add_ratio(struct qs_plan *pl, double requests, double after);

/*
 * As qs_plan_observe, the ratio taken against level, the load level the
 * state before was decided at (its record's level field), when above 0.
 */
void qs_plan_observe_level(struct qs_plan *pl, const struct qs_obs *before,
    const struct qs_obs *after, double level);

/*
 * Learn a completed transition: latency samples of the state before and
 * the state after, and the ratio of its requests.
 */
void qs_plan_observe(struct qs_plan *pl, const struct qs_obs *before,
    const struct qs_obs *after);

/* Fit the parametric latency curve to the bins (linear or queue). */
void qs_plan_refit(struct qs_plan *pl);

/* The latency samples behind the model. */
long qs_plan_count(const struct qs_plan *pl);

/*
 * The largest request rate per replica whose mean latency meets the
 * ideal, by the model; 0 when it has no latency samples.
 */
double qs_plan_rate_at_ideal(const struct qs_plan *pl);

/*
 * A new table for the model: replicas min_replicas..max_replicas, two
 * latency buckets (up to the ideal, above it) and request buckets of
 * equal width covering what max_replicas serve at the ideal, at most
 * about 300 of them, with visits; then planned.  NULL with err when the
 * model has no latency samples or the range makes no table.
 */
struct qs_table *qs_plan_table(struct qs_plan *pl, struct qs_err *err);

/*
 * Plan every row of t from the model (qs_plan_refit first): Q values as
 * above, each row's visits, when t has them, the model's sample count.
 */
void qs_plan_fill(struct qs_plan *pl, struct qs_table *t);

/*
 * Print the model's summary as one JSON object on a line: observations,
 * fit, base, capacity parameter, its noise, range, rate_at_ideal,
 * replicas.  Returns 0 or -1 (errno).
 */
int qs_plan_print(FILE *fp, const struct qs_plan *pl);

/*
 * A stream of observations into a model, in time order: the latency of
 * each settled one (qs_obs_settled) and, once the horizon has passed,
 * the ratios of its requests to its level, each ratio counted weight
 * times.  qs_plan_fit_fp feeds a series through one; a long-lived
 * qs-decide and qs-sim eval feed the observations they decide on.
 */
struct qs_plan_feed {
	double step;		/* seconds between observations; 0: measured */
	long weight;
	/* Recent observations; their ratios are pending from first. */
	double *t, *req, *lv;
	long *pod, *at;
	size_t n, cap, first;
	int latency;		/* whether latency samples are learned (1) */
};

/* The model's own ratio samples weigh as much as this many online ones. */
#define QS_PLAN_PRIOR 1440
/* Observations after which an online sample counts e times less (12 h at 15 s). */
#define QS_PLAN_MEMORY 2880

void qs_plan_feed_init(struct qs_plan_feed *f, double step, long weight);
void qs_plan_feed_free(struct qs_plan_feed *f);

/*
 * Feed one observation, its level (the requests when there is no level
 * window; 0 or less: no ratio from it).  An observation at the last's
 * time is ignored; one before it ends the stream there (as
 * qs_plan_feed_flush) and starts another.  Returns the ratio samples it
 * completed.
 */
long qs_plan_feed_add(struct qs_plan_feed *f, struct qs_plan *pl, double t,
    long pod, double latency, double requests, double level);

/* At the stream's end, the peaks cut short by it; returns how many. */
long qs_plan_feed_flush(struct qs_plan_feed *f, struct qs_plan *pl);

/*
 * The weight of an online ratio sample: the model's own samples over
 * QS_PLAN_PRIOR, at least 1, so that a model fitted to another workload
 * yields to this one's within QS_PLAN_PRIOR decisions.
 */
long qs_plan_online_weight(const struct qs_plan *pl);

/*
 * A decider's model learning the load online: the observations it decides
 * on are fed to the model (at qs_plan_online_weight), and the state it
 * decides in is planned again when the model has learned since.  The
 * table and the model are changed in memory only: the files are
 * qs-update's.
 */
struct curve;

struct qs_plan_online {
	struct qs_plan pl;
	struct qs_plan_feed feed;
	long added;		/* ratio samples since the table was planned */
	double wf, memory;	/* the next sample's weight; QS_PLAN_MEMORY */
	long *stamp;		/* per state: added when it was last planned */
	size_t nstates;
	struct curve *curve;	/* the latency curve, prepared once */
};

/*
 * Start learning online into a copy of the model pl for table t (its
 * states planned from pl, as qs_plan_fill left them).
 */
void qs_plan_online_init(struct qs_plan_online *o, const struct qs_plan *pl,
    const struct qs_table *t);

/* A table and model loaded again: the feed goes on into them. */
void qs_plan_online_reset(struct qs_plan_online *o, const struct qs_plan *pl,
    const struct qs_table *t);

void qs_plan_online_free(struct qs_plan_online *o);

/*
 * Feed one observation at time secs with its level, then plan state s of
 * t again when the model has learned since it was planned.
 */
void qs_plan_online_step(struct qs_plan_online *o, struct qs_table *t,
    size_t s, double secs, const struct qs_obs *obs, double level);

#endif
