/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qs/hpa.h"
#include "qs/xalloc.h"

void
qs_hpa_defaults(struct qs_hpa_params *p)
{
	p->target = 1;
	p->tolerance = 0.1;
	p->sync = 15;
	p->up_window = 0;
	p->down_window = 300;
	p->up_pods = 4;
	p->up_percent = 100;
	p->up_period = 15;
	p->down_percent = 100;
	p->down_period = 15;
	p->min_replicas = 1;
	p->max_replicas = 10;
}

void
qs_hpa_init(struct qs_hpa *h, const struct qs_hpa_params *p)
{
	memset(h, 0, sizeof(*h));
	h->p = *p;
}

void
qs_hpa_free(struct qs_hpa *h)
{
	free(h->recs);
	free(h->ups);
	free(h->downs);
	memset(h, 0, sizeof(*h));
}

static int
within(const struct qs_hpa_params *p, double ratio)
{
	return fabs(1.0 - ratio) <= p->tolerance;
}

long
qs_hpa_desired(const struct qs_hpa_params *p, long current, long ready,
    long unready, double sum)
{
	double ratio, nratio;
	long n;

	if (ready <= 0)
		return current;	/* no metrics: the controller does not scale */
	ratio = sum / (double)ready / p->target;
	if (!(unready > 0 && ratio > 1.0)) {
		if (within(p, ratio))
			return current;
		return (long)ceil(ratio * (double)ready);
	}
	/* Scaling up with pods not ready yet: count them as using nothing. */
	nratio = sum / (double)(ready + unready) / p->target;
	if (within(p, nratio) || nratio < 1.0)
		return current;
	n = (long)ceil(nratio * (double)(ready + unready));
	return n < current ? current : n;
}

/* Replicas added (or removed) by the events after now - period. */
static long
change_in_period(const struct qs_hpa_rec *ev, size_t n, double now,
    double period)
{
	long sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (ev[i].t > now - period)
			sum += ev[i].v;
	return sum;
}

/* Drop events and recommendations older than any window looks back. */
static void
prune(struct qs_hpa_rec *ev, size_t *n, double cutoff)
{
	size_t i, j = 0;

	for (i = 0; i < *n; i++)
		if (ev[i].t > cutoff)
			ev[j++] = ev[i];
	*n = j;
}

static void
push(struct qs_hpa_rec **ev, size_t *n, double t, long v)
{
	*ev = xreallocarray(*ev, *n + 1, sizeof(**ev));
	(*ev)[*n].t = t;
	(*ev)[(*n)++].v = v;
}

/* stabilizeRecommendationWithBehaviors */
static long
stabilize(struct qs_hpa *h, double now, long current, long desired)
{
	long up = desired, down = desired, rec = current;
	size_t i;

	for (i = 0; i < h->nrecs; i++) {
		if (h->recs[i].t > now - h->p.up_window && h->recs[i].v < up)
			up = h->recs[i].v;
		if (h->recs[i].t > now - h->p.down_window && h->recs[i].v > down)
			down = h->recs[i].v;
	}
	if (rec < up)
		rec = up;
	if (rec > down)
		rec = down;
	prune(h->recs, &h->nrecs, now - fmax(h->p.up_window, h->p.down_window));
	push(&h->recs, &h->nrecs, now, desired);
	return rec;
}

/* convertDesiredReplicasWithBehaviorRate, with the default policies. */
static long
rate_limit(struct qs_hpa *h, double now, long current, long desired)
{
	long added, deleted, start, limit, bypods, bypct;

	if (desired > current) {
		added = change_in_period(h->ups, h->nups, now, h->p.up_period);
		deleted = change_in_period(h->downs, h->ndowns, now, h->p.up_period);
		start = current - added + deleted;
		bypods = start + h->p.up_pods;
		bypct = (long)ceil((double)start * (1 + h->p.up_percent / 100));
		limit = bypods > bypct ? bypods : bypct;
		if (limit < current)
			limit = current;
		if (limit > h->p.max_replicas)
			limit = h->p.max_replicas;
		return desired > limit ? limit : desired;
	}
	if (desired < current) {
		added = change_in_period(h->ups, h->nups, now, h->p.down_period);
		deleted = change_in_period(h->downs, h->ndowns, now, h->p.down_period);
		start = current - added + deleted;
		limit = (long)((double)start * (1 - h->p.down_percent / 100));
		if (limit > current)
			limit = current;
		if (limit < h->p.min_replicas)
			limit = h->p.min_replicas;
		return desired < limit ? limit : desired;
	}
	return desired;
}

long
qs_hpa_step(struct qs_hpa *h, double now, long current, long ready,
    long unready, double sum)
{
	long desired, n;
	double period;

	/* maybeInitScaleDownStabilizationWindow */
	if (!h->started) {
		h->started = 1;
		if (h->p.down_window > 0)
			push(&h->recs, &h->nrecs, now, current);
	}
	if (current > h->p.max_replicas)
		n = h->p.max_replicas;
	else if (current < h->p.min_replicas)
		n = h->p.min_replicas;
	else {
		desired = qs_hpa_desired(&h->p, current, ready, unready, sum);
		n = stabilize(h, now, current, desired);
		n = rate_limit(h, now, current, n);
	}
	period = fmax(h->p.up_period, h->p.down_period);
	prune(h->ups, &h->nups, now - period);
	prune(h->downs, &h->ndowns, now - period);
	if (n > current)
		push(&h->ups, &h->nups, now, n - current);
	else if (n < current)
		push(&h->downs, &h->ndowns, now, current - n);
	return n;
}
