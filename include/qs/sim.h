/* See LICENSE file for copyright and license details. */
#ifndef QS_SIM_H
#define QS_SIM_H

#include <stddef.h>

#include "qs/err.h"
#include "qs/rand.h"

/*
 * The simulator's model of one deployment under a workload.  Requests
 * arrive at the rate of a trace (CSV t,requests, one row per interval),
 * rescaled by scale.  Each ready replica serves its share; mean latency
 * rises linearly with the request rate per ready replica:
 *
 *	latency = base + (ideal - base) * (rate / ready) / capacity
 *
 * so that capacity is the rate (requests per second) one replica serves at
 * the ideal latency.  With no ready replica the latency is max_latency.
 * New replicas become ready startup_delay seconds (60) after a scale-up; a
 * scale-down takes effect at once.  Latency carries seeded multiplicative
 * noise with relative standard deviation noise.  The defaults reproduce the
 * notebook's printed (replicas, requests in 30 s, latency) triples within
 * about 15 %.
 */
struct qs_sim_params {
	double base;		/* ms at no load (283) */
	double ideal;		/* ms, the ideal latency (500) */
	double capacity;	/* requests/s per replica at the ideal (0.353) */
	double max_latency;	/* ms, cap and value with no replica (30000) */
	double startup_delay;	/* seconds before a new replica is ready (60) */
	double noise;		/* relative standard deviation (0.05) */
	double interval;	/* seconds per trace row (60) */
	double scale;		/* factor on the trace's requests (1) */
	/*
	 * The latency model (QS_LATENCY_LINEAR), see qs_sim_latency.  With
	 * QS_LATENCY_QUEUE the latency of one replica is an M/M/1 sojourn
	 * curve, base / (1 - rho), that meets the ideal at capacity too.
	 */
	int latency_model;
};

enum { QS_LATENCY_LINEAR, QS_LATENCY_QUEUE };

struct qs_sim {
	struct qs_sim_params p;
	const double *trace;	/* requests per interval, borrowed */
	size_t n;
	double constant;	/* requests/s when there is no trace */
	double now;		/* seconds since the start */
	long replicas;		/* desired */
	long ready;
	double *ready_at;	/* when each starting replica becomes ready */
	size_t nstarting;
	struct qs_rand rng;
};

void qs_sim_defaults(struct qs_sim_params *p);

/*
 * Read a trace file (CSV with columns t and requests) into a new array
 * *out of *n values.  Returns 0 or -1 with err.
 */
int qs_sim_trace_load(const char *path, double **out, size_t *n,
    struct qs_err *err);

/* The largest value of a trace. */
double qs_sim_trace_peak(const double *trace, size_t n);

/*
 * Start a simulation with replicas ready at time 0.  trace (borrowed) may
 * be NULL for a constant rate of constant requests/s.
 */
void qs_sim_init(struct qs_sim *s, const struct qs_sim_params *p,
    const double *trace, size_t n, double constant, long replicas,
    unsigned long long seed);
void qs_sim_free(struct qs_sim *s);

/* Set the desired replica count at the current time. */
void qs_sim_scale(struct qs_sim *s, long replicas);

/* Move the clock forward, readying replicas whose start-up is over. */
void qs_sim_advance(struct qs_sim *s, double seconds);

/* The request rate (per second) at the current time; the trace loops. */
double qs_sim_rate(const struct qs_sim *s);

/* The mean latency in ms for a rate with ready replicas, without noise. */
double qs_sim_latency(const struct qs_sim_params *p, long ready, double rate);

/* As qs_sim_latency at the current time, with the model's noise. */
double qs_sim_latency_now(struct qs_sim *s);

/* The fewest ready replicas that keep the latency at or under the ideal. */
long qs_sim_needed(const struct qs_sim_params *p, double rate);

/*
 * The mean request rate (per second) of a trace over [t - w, t), as a
 * Prometheus rate() over w seconds sees it at time t; the rate at t when w
 * is 0.  With loop the trace repeats, else it is held at its ends.
 */
double qs_sim_window_rate(const struct qs_sim_params *p, const double *trace,
    size_t n, double t, double w, int loop);

/*
 * The factor on a trace of the given peak (requests per interval) that
 * makes its peak need exactly replicas at the ideal latency (for
 * --peak-replicas).  peak and replicas must be positive.
 */
double qs_sim_scale_for_peak(const struct qs_sim_params *p, double peak,
    long replicas);

/*
 * Check that the ideal latency can be met at all: the base must be below
 * the ideal and the ideal below the cap, else qs_sim_needed has no answer.
 * Returns 0, or -1 with err (EX_USAGE).
 */
int qs_sim_check(const struct qs_sim_params *p, struct qs_err *err);

/*
 * The service rate (requests/s) of one replica under the queueing model:
 * the rate at which base / (1 - rho) would grow without bound.
 */
double qs_sim_service_rate(const struct qs_sim_params *p);

/*
 * One sub-step of dt seconds of the queueing model with ready replicas at
 * rate requests/s: requests beyond what the replicas serve join *backlog
 * (requests), which drains first in later sub-steps; a request that would
 * wait longer than max_latency times out, so the backlog stays under what
 * the replicas serve in max_latency.  Returns the mean latency (ms, no
 * noise) over the sub-step, the wait behind the backlog included.  The
 * linear model has no backlog: its latency is qs_sim_latency's.
 */
double qs_sim_substep(const struct qs_sim_params *p, long ready, double rate,
    double dt, double *backlog);

/*
 * The request rate (per second) of trace row i; with loop the trace
 * repeats, else it is held at its ends.
 */
double qs_sim_row_rate(const struct qs_sim_params *p, const double *trace,
    size_t n, long long i, int loop);

#endif
