/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the clock, and the model and pods it moves. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/xalloc.h"
#include "serve_int.h"

double
serve_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
serve_random_chars(struct qs_rand *r, char *buf, size_t n)
{
	/* The alphabet Kubernetes uses for generated names. */
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = alnum[qs_rand_below(r, sizeof(alnum) - 1)];
	buf[n] = '\0';
}

static void
pod_new(struct qs_simserve *s, struct pod *p)
{
	char sfx[6];
	long i;

	memset(p, 0, sizeof(*p));
	p->created = time(NULL);
	do {
		serve_random_chars(&s->names, sfx, 5);
		snprintf(p->name, sizeof(p->name), "%s-%s-%s", s->deployment,
		    s->hash, sfx);
		for (i = 0; i < s->npods; i++)
			if (strcmp(s->pods[i].name, p->name) == 0)
				break;
	} while (i < s->npods);
}

/* Follow the model's desired count with the pod list. */
void
serve_pods_resize(struct qs_simserve *s, long n)
{
	long i;

	s->pods = xreallocarray(s->pods, n > 0 ? (size_t)n : 1,
	    sizeof(struct pod));
	for (i = s->npods; i < n; i++) {
		pod_new(s, &s->pods[i]);
		s->npods = i + 1;
	}
	s->npods = n;
}

const double serve_buckets[SERVE_NBUCKETS] = { SERVE_BUCKETS };

/*
 * Count per requests of mean latency lat (seconds) into the buckets of
 * pod p.  A request's latency is taken as exponential about the mean, the
 * sojourn time of a single-server queue: the fraction 1 - exp(-le / lat)
 * of them is at or under the bound le, so that the mean of the histogram
 * is the model's latency and its upper percentiles lie above it.
 */
static void
count_buckets(struct pod *p, double per, double lat)
{
	int i;

	for (i = 0; i < SERVE_NBUCKETS; i++)
		p->le[i] += lat > 0 ? per * -expm1(-serve_buckets[i] / lat) : per;
}

/*
 * Bring the model up to now.  Time moves in steps that end at trace row
 * boundaries, so that each row's rate counts for exactly its interval;
 * the ready pods share each step's requests evenly.
 */
void
serve_advance(struct qs_simserve *s)
{
	double now = serve_clock(s), dt = now - s->last, speed, step, rate;
	double lat, per;
	double interval = s->sim.p.interval, boundary;
	long i, ready;

	s->last = now;
	speed = interval / s->tick;	/* simulated seconds per second */
	while (dt > 0) {
		step = dt;
		if (s->sim.trace != NULL) {
			boundary = (floor(s->sim.now / interval) + 1) * interval;
			if ((boundary - s->sim.now) / speed < step)
				step = (boundary - s->sim.now) / speed;
			if (step < 1e-6)
				step = dt < 1e-6 ? dt : 1e-6;
		}
		rate = qs_sim_rate(&s->sim);
		ready = s->sim.ready < s->npods ? s->sim.ready : s->npods;
		if (ready > 0 && rate > 0) {
			lat = qs_sim_latency_now(&s->sim) / 1000;
			per = rate * step / (double)ready;
			for (i = 0; i < ready; i++) {
				s->pods[i].requests += per;
				s->pods[i].seconds += per * lat;
				count_buckets(&s->pods[i], per, lat);
			}
		}
		qs_sim_advance(&s->sim, step * speed);
		dt -= step;
	}
	if (s->sim.ready != s->ready) {
		/* A change of status is a new version of the object. */
		s->ready = s->sim.ready;
		s->version++;
	}
}

void
serve_set_replicas(struct qs_simserve *s, long n)
{
	if (n == s->sim.replicas)
		return;
	qs_sim_scale(&s->sim, n);
	serve_pods_resize(s, n);
	s->ready = s->sim.ready;
	s->generation++;
	s->version++;
}

double
serve_clock(const struct qs_simserve *s)
{
	return s->manual ? s->skipped : serve_mono() - s->t0 + s->skipped;
}
