/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/num.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/sim.h"
#include "qs/xalloc.h"

void
qs_sim_defaults(struct qs_sim_params *p)
{
	p->base = 283;
	p->ideal = 500;
	p->capacity = 0.353;
	p->max_latency = 30000;
	p->startup_delay = 60;
	p->noise = 0.05;
	p->interval = 60;
	p->scale = 1;
	p->latency_model = QS_LATENCY_LINEAR;
}

int
qs_sim_trace_load(const char *path, double **out, size_t *n, struct qs_err *err)
{
	struct qs_reader *r;
	size_t cap = 0, len = 0;
	double *v = NULL, d;
	json_t *rec;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL)
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	r = qs_reader_new(fp, path);
	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		if (qs_rec_double(rec, "requests", 0, 1e15, &d, err) != 0) {
			qs_err_wrap(err, "invalid trace %s: line %ld", path,
			    qs_reader_line(r));
			json_decref(rec);
			rc = -1;
			break;
		}
		json_decref(rec);
		if (len == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xreallocarray(v, cap, sizeof(double));
		}
		v[len++] = d;
	}
	qs_reader_free(r);
	fclose(fp);
	if (rc == 0 && len == 0)
		rc = qs_err_set(err, EX_DATAERR, "invalid trace %s: no rows", path);
	if (rc != 0) {
		free(v);
		return -1;
	}
	*out = v;
	*n = len;
	return 0;
}

double
qs_sim_trace_peak(const double *trace, size_t n)
{
	double peak = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (trace[i] > peak)
			peak = trace[i];
	return peak;
}

void
qs_sim_init(struct qs_sim *s, const struct qs_sim_params *p,
    const double *trace, size_t n, double constant, long replicas,
    unsigned long long seed)
{
	memset(s, 0, sizeof(*s));
	s->p = *p;
	s->trace = trace;
	s->n = n;
	s->constant = constant;
	s->replicas = s->ready = replicas;
	qs_rand_seed(&s->rng, seed);
}

void
qs_sim_free(struct qs_sim *s)
{
	free(s->ready_at);
	s->ready_at = NULL;
	s->nstarting = 0;
}

void
qs_sim_scale(struct qs_sim *s, long replicas)
{
	long i, up;

	if (replicas < 0)
		replicas = 0;
	if (replicas <= s->ready) {
		s->ready = replicas;
		s->nstarting = 0;
	} else {
		/* Keep the replicas already starting; start the rest now. */
		up = replicas - s->ready;
		if ((size_t)up < s->nstarting)
			s->nstarting = (size_t)up;
		s->ready_at = xreallocarray(s->ready_at, (size_t)up, sizeof(double));
		for (i = (long)s->nstarting; i < up; i++)
			s->ready_at[i] = s->now + s->p.startup_delay;
		s->nstarting = (size_t)up;
		if (s->p.startup_delay <= 0) {
			s->ready = replicas;
			s->nstarting = 0;
		}
	}
	s->replicas = replicas;
}

void
qs_sim_advance(struct qs_sim *s, double seconds)
{
	size_t i, j = 0;

	s->now += seconds;
	for (i = 0; i < s->nstarting; i++) {
		if (s->ready_at[i] <= s->now)
			s->ready++;
		else
			s->ready_at[j++] = s->ready_at[i];
	}
	s->nstarting = j;
}

double
qs_sim_rate(const struct qs_sim *s)
{
	size_t i;

	if (s->trace == NULL || s->n == 0)
		return s->constant;
	i = (size_t)(s->now / s->p.interval) % s->n;
	return s->trace[i] * s->p.scale / s->p.interval;
}

double
qs_sim_latency(const struct qs_sim_params *p, long ready, double rate)
{
	double l, rho;

	if (ready <= 0)
		return rate > 0 ? p->max_latency : p->base;
	if (p->latency_model == QS_LATENCY_QUEUE) {
		rho = rate / (double)ready / qs_sim_service_rate(p);
		if (rho >= 1)
			return p->max_latency;
		l = p->base / (1 - rho);
	} else {
		l = p->base + (p->ideal - p->base) * (rate / (double)ready) /
		    p->capacity;
	}
	return l < p->max_latency ? l : p->max_latency;
}

double
qs_sim_latency_now(struct qs_sim *s)
{
	double l = qs_sim_latency(&s->p, s->ready, qs_sim_rate(s));

	if (s->p.noise > 0)
		l *= exp(s->p.noise * qs_rand_normal(&s->rng));
	return l < s->p.max_latency ? l : s->p.max_latency;
}

long
qs_sim_needed(const struct qs_sim_params *p, double rate)
{
	long n;

	if (rate <= 0)
		return 1;
	n = (long)ceil(rate / p->capacity);
	/* No count meets an ideal at or below the base: do not search. */
	if (!(p->ideal > p->base && p->ideal <= p->max_latency))
		return n;
	while (n > 1 && qs_sim_latency(p, n - 1, rate) <= p->ideal)
		n--;
	while (qs_sim_latency(p, n, rate) > p->ideal)
		n++;
	return n;
}

double
qs_sim_scale_for_peak(const struct qs_sim_params *p, double peak,
    long replicas)
{
	struct qs_sim_params q = *p;
	double scale = (double)replicas * p->capacity * p->interval / peak;

	/* Rounding may leave the peak a hair above what replicas serve. */
	while (qs_sim_needed(&q, peak * scale / p->interval) > replicas)
		scale = nextafter(scale, 0);
	return scale;
}

double
qs_sim_row_rate(const struct qs_sim_params *p, const double *trace, size_t n,
    long long i, int loop)
{
	if (loop)
		i = ((i % (long long)n) + (long long)n) % (long long)n;
	else if (i < 0)
		i = 0;
	else if ((size_t)i >= n)
		i = (long long)n - 1;
	return trace[i] * p->scale / p->interval;
}

double
qs_sim_window_rate(const struct qs_sim_params *p, const double *trace,
    size_t n, double t, double w, int loop)
{
	double a = t - w, sum = 0, end;
	long i;

	if (w <= 0)
		return qs_sim_row_rate(p, trace, n, (long)floor(t / p->interval), loop);
	while (a < t - 1e-9 * w) {
		i = (long)floor(a / p->interval + 1e-9);
		end = fmin(t, (double)(i + 1) * p->interval);
		sum += qs_sim_row_rate(p, trace, n, i, loop) * (end - a);
		a = end;
	}
	return sum / w;
}

int
qs_sim_check(const struct qs_sim_params *p, struct qs_err *err)
{
	char a[QS_NUM_MAX], b[QS_NUM_MAX];

	qs_num_format(a, p->ideal);
	if (!(p->ideal > p->base)) {
		qs_num_format(b, p->base);
		return qs_err_set(err, EX_USAGE, "--ideal-latency %s cannot be met: "
		    "it is not above the base latency %s (--base-latency)", a, b);
	}
	if (p->ideal > p->max_latency) {
		qs_num_format(b, p->max_latency);
		return qs_err_set(err, EX_USAGE, "--ideal-latency %s cannot be met: "
		    "it is above the latency cap %s", a, b);
	}
	return 0;
}

double
qs_sim_service_rate(const struct qs_sim_params *p)
{
	/* base / (1 - capacity / mu) = ideal: the ideal at capacity. */
	return p->capacity / (1 - p->base / p->ideal);
}

double
qs_sim_substep(const struct qs_sim_params *p, long ready, double rate,
    double dt, double *backlog)
{
	double c, b0 = *backlog, b1, l;

	if (p->latency_model != QS_LATENCY_QUEUE || ready <= 0) {
		*backlog = 0;
		return qs_sim_latency(p, ready, rate);
	}
	c = qs_sim_service_rate(p) * (double)ready;
	b1 = fmax(0, b0 + (rate - c) * dt);
	/* Requests that would wait longer than the cap time out. */
	b1 = fmin(b1, c * p->max_latency / 1000);
	*backlog = b1;
	l = qs_sim_latency(p, ready, rate) + 1000 * (b0 + b1) / 2 / c;
	return l < p->max_latency ? l : p->max_latency;
}
