/* See LICENSE file for copyright and license details. */
#ifndef QS_HPA_H
#define QS_HPA_H

#include <stddef.h>

/*
 * The Kubernetes HorizontalPodAutoscaler's algorithm on one per-pod metric
 * of type Pods (requests per second per replica), as
 * pkg/controller/podautoscaler implements it: the replica calculator
 * (calcPlainMetricReplicas) and the default behavior
 * (normalizeDesiredReplicasWithBehaviors): scale-up stabilization 0 s,
 * scale-down stabilization 300 s (the highest recommendation in the
 * window), scale-up limited to the larger of +100 % and +4 pods per 15 s,
 * scale-down to -100 % per 15 s, then minReplicas and maxReplicas.
 */
struct qs_hpa_params {
	double target;		/* metric per replica at which no change */
	double tolerance;	/* 0.1 */
	double sync;		/* seconds between two reconciliations (15) */
	double up_window;	/* scale-up stabilization, seconds (0) */
	double down_window;	/* scale-down stabilization, seconds (300) */
	long up_pods;		/* scale-up policy Pods value (4) */
	double up_percent;	/* scale-up policy Percent value (100) */
	double up_period;	/* their periodSeconds (15) */
	double down_percent;	/* scale-down policy Percent value (100) */
	double down_period;	/* its periodSeconds (15) */
	long min_replicas, max_replicas;
};

struct qs_hpa_rec {
	double t;
	long v;
};

struct qs_hpa {
	struct qs_hpa_params p;
	struct qs_hpa_rec *recs;	/* recommendations, for stabilization */
	size_t nrecs;
	struct qs_hpa_rec *ups, *downs;	/* scale events, for the rate limits */
	size_t nups, ndowns;
	int started;
};

void qs_hpa_defaults(struct qs_hpa_params *p);
void qs_hpa_init(struct qs_hpa *h, const struct qs_hpa_params *p);
void qs_hpa_free(struct qs_hpa *h);

/*
 * The replica calculator alone: the replica count for a total metric sum
 * over ready pods, with unready (pending) pods counted as 0 on a scale-up
 * and left out otherwise.  current is the scale's spec.replicas.  Returns
 * current when the ratio is within the tolerance or no pod is ready.
 */
long qs_hpa_desired(const struct qs_hpa_params *p, long current, long ready,
    long unready, double sum);

/*
 * One reconciliation at time now (seconds): the calculator, stabilization,
 * rate limits and replica bounds.  Returns the replica count to set and
 * records it as a scale event when it differs from current.
 */
long qs_hpa_step(struct qs_hpa *h, double now, long current, long ready,
    long unready, double sum);

#endif
