/* See LICENSE file for copyright and license details. */
#ifndef QS_FIT_H
#define QS_FIT_H

#include <stddef.h>
#include <stdio.h>

#include "qs/err.h"
#include "qs/sim.h"

/*
 * The simulator's model fitted to a deployment's past observations:
 * records time, pod, latency and requests as qs-observe writes them
 * (--range exports them from Prometheus) and a history holds them, CSV or
 * JSON Lines.  Latency is fitted against the request rate per ready
 * replica, requests / window / pod, by least squares weighted for its
 * relative noise: the linear model's base is the latency at no load, its
 * capacity the rate per replica at the ideal latency, its noise the
 * standard deviation of log(latency / fitted).  The requests become the
 * trace, one row per time step (the median step between times), in
 * requests per step at the observed rate, unscaled, so that a table
 * trained on it sees requests in the units it will see live.
 */
struct qs_fit {
	long rows;		/* observations read */
	long used;		/* with requests, replicas and latency: fitted */
	long gaps;		/* trace rows held over missing times */
	double interval;	/* seconds per trace row, from time */
	double window;		/* seconds the requests were counted over */
	double base, capacity, ideal, noise;
	double slope;		/* ms per request/s per replica */
	double rate_min, rate_max;	/* requests/s per replica fitted */
	double requests_max;	/* the most requests in one window */
	double r2;		/* the fit's weighted coefficient of determination */
	/*
	 * Whether the queue's curve, base / (1 - r / mu), fitted better than
	 * the line: then base, capacity and noise are its, and the model's
	 * latency model is QS_LATENCY_QUEUE.
	 */
	int queue;
};

/*
 * Read the observations in path and fit p to them: set p->base,
 * p->capacity, p->noise, p->interval and p->scale (1), keeping p->ideal,
 * the latency the capacity is defined at, and the other fields.  window
 * is the observations' window in seconds (> 0).  The trace, *n rows, is
 * stored in a new array *trace.  Returns 0 with f filled, or -1 with err:
 * EX_NOINPUT when path cannot be opened, EX_DATAERR for a record without
 * time, pod, latency or requests, fewer than two rows, times not
 * increasing, or observations that do not determine the curve (one load
 * only, latency not rising with load, no load meeting the ideal).
 */
int qs_fit_load(const char *path, double window, struct qs_sim_params *p,
    double **trace, size_t *n, struct qs_fit *f, struct qs_err *err);

/*
 * Print f as one JSON object on a line: observations, fitted, gaps,
 * interval, window, base, capacity, ideal, noise, slope, rate_min,
 * rate_max, requests_max, r2, latency_model.  Returns 0 or -1 (errno).
 */
int qs_fit_print(FILE *fp, const struct qs_fit *f);

#endif
