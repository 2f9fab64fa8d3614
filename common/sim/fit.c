/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/fit.h"
#include "qs/num.h"
#include "qs/record.h"
#include "qs/sim.h"
#include "qs/time.h"
#include "qs/xalloc.h"

/* A gap this many steps long or longer is held, not one step. */
#define GAP 1.5
/* A longer gap is another range, not a hole in one: the trace would be huge. */
#define GAP_MAX 10000
/* The weighted fit is refined this many times from the plain one. */
#define REFINE 3

struct obs {
	double t, x, latency, requests;
	int fit;		/* has load and latency, settled */
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The observations of path, each with its load per replica; fitted are
 * those with load and latency that are settled (qs_obs_settled).
 */
static int
read_obs(const char *path, double window, struct obs **out, size_t *n,
    struct qs_err *err)
{
	struct qs_obs_series s;
	struct obs *v;
	FILE *fp;
	size_t i;
	int rc;

	if ((fp = fopen(path, "r")) == NULL)
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	rc = qs_obs_series_read(fp, path, &s, err);
	fclose(fp);
	if (rc != 0)
		return -1;
	if (s.n < 2) {
		qs_obs_series_free(&s);
		return qs_err_set(err, EX_DATAERR, "invalid observations %s: %s",
		    path, s.n == 0 ? "no rows" : "a single row; the time step "
		    "needs two or more");
	}
	v = xcalloc(s.n, sizeof(*v));
	for (i = 0; i < s.n; i++) {
		v[i].t = s.t[i];
		v[i].requests = s.req[i];
		v[i].latency = s.lat[i];
		v[i].fit = s.pod[i] > 0 && s.req[i] > 0 && s.lat[i] > 0 &&
		    qs_obs_settled(s.t, s.pod, i, window);
		v[i].x = v[i].fit ? s.req[i] / window / (double)s.pod[i] : 0;
	}
	*out = v;
	*n = s.n;
	qs_obs_series_free(&s);
	return 0;
}

/*
 * Least squares of latency on load with weights w; a is the intercept,
 * b the slope.  Returns -1 when the loads do not vary.
 */
static int
wls(const struct obs *v, size_t n, const double *w, double *a, double *b)
{
	double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, d;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!v[i].fit)
			continue;
		sw += w[i];
		sx += w[i] * v[i].x;
		sy += w[i] * v[i].latency;
		sxx += w[i] * v[i].x * v[i].x;
		sxy += w[i] * v[i].x * v[i].latency;
	}
	d = sw * sxx - sx * sx;
	if (!(sw > 0) || !(d > 1e-12 * sw * sxx))
		return -1;
	*b = (sw * sxy - sx * sy) / d;
	*a = (sy - *b * sx) / sw;
	return 0;
}

/*
 * The queue's curve, base / (1 - r / mu): 1 / latency is linear in r,
 * weighted for relative noise by latency squared.  When its spread of
 * log latency is below the linear fit's noise, it replaces the linear
 * model in f: base, capacity (the rate at the ideal, mu (1 - base /
 * ideal)), noise and queue set; slope and r2 stay the linear fit's.
 */
static void
fit_queue(const struct obs *v, size_t n, struct qs_fit *f)
{
	struct obs *u = xcalloc(n, sizeof(*u));
	double *w = xcalloc(n, sizeof(double)), a, b, base, mu, e, y;
	double sq = 0, sl = 0, m = 0;
	size_t i;

	/*
	 * Overload (twice the ideal and more: a backlog, a start-up) says
	 * nothing of the curve near the ideal and, weighted by its latency,
	 * would outweigh the rest: both curves are compared without it.
	 */
	for (i = 0; i < n; i++) {
		u[i] = v[i];
		u[i].fit = v[i].fit && v[i].latency <= 2 * f->ideal;
		if (u[i].fit) {
			u[i].latency = 1 / v[i].latency;
			w[i] = v[i].latency * v[i].latency;
		}
	}
	if (wls(u, n, w, &a, &b) != 0 || !(a > 0) || !(b < 0))
		goto out;
	base = 1 / a;
	mu = a / -b;
	if (!(base < f->ideal))
		goto out;
	for (i = 0; i < n; i++) {
		if (!u[i].fit)
			continue;
		y = v[i].x < mu ? base / (1 - v[i].x / mu) : INFINITY;
		e = isfinite(y) ? log(v[i].latency / y) : 10;
		sq += e * e;
		y = f->base + f->slope * v[i].x;
		e = y > 0 ? log(v[i].latency / y) : 10;
		sl += e * e;
		m++;
	}
	if (!(m > 2) || !(sq < sl))
		goto out;
	f->queue = 1;
	f->base = base;
	f->capacity = mu * (1 - base / f->ideal);
	f->noise = sqrt(sq / (m - 2));
out:
	free(u);
	free(w);
}

/* Fit latency to load in v; fills base, slope, noise, r2 and the ranges. */
static int
fit_curve(const char *path, const struct obs *v, size_t n, struct qs_fit *f,
    struct qs_err *err)
{
	double *w = xcalloc(n, sizeof(double)), a, b, y, e, se = 0, st = 0;
	double mean = 0, sw = 0, sl = 0, sl2 = 0;
	size_t i;
	int k, rc = 0;

	f->rate_min = INFINITY;
	for (i = 0; i < n; i++) {
		w[i] = 1;
		if (!v[i].fit)
			continue;
		f->used++;
		f->rate_min = fmin(f->rate_min, v[i].x);
		f->rate_max = fmax(f->rate_max, v[i].x);
	}
	if (f->used < 2 || wls(v, n, w, &a, &b) != 0) {
		rc = qs_err_set(err, EX_DATAERR, "cannot fit %s: %s", path,
		    f->used < 2 ? "fewer than two rows have requests, replicas "
		    "and latency" : "the request rate per replica never varies; "
		    "observe a range where the load changes");
		goto out;
	}
	/* The noise is relative: weigh each row by its fitted latency. */
	for (k = 0; k < REFINE && b > 0 && a + b * f->rate_min > 0; k++) {
		for (i = 0; i < n; i++) {
			y = a + b * v[i].x;
			w[i] = 1 / (y * y);
		}
		if (wls(v, n, w, &a, &b) != 0)
			break;
	}
	if (!(b > 0)) {
		rc = qs_err_set(err, EX_DATAERR, "cannot fit %s: latency does not "
		    "rise with the request rate per replica", path);
		goto out;
	}
	if (!(a < f->ideal)) {
		rc = qs_err_set(err, EX_DATAERR, "cannot fit %s: the latency at "
		    "no load, %.0f ms, is not below the ideal latency, %.0f ms",
		    path, a, f->ideal);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!v[i].fit)
			continue;
		sw += w[i];
		mean += w[i] * v[i].latency;
	}
	mean /= sw;
	for (i = 0; i < n; i++) {
		if (!v[i].fit)
			continue;
		y = a + b * v[i].x;
		e = v[i].latency - y;
		se += w[i] * e * e;
		st += w[i] * (v[i].latency - mean) * (v[i].latency - mean);
		if (y > 0) {
			e = log(v[i].latency / y);
			sl += e;
			sl2 += e * e;
		}
	}
	f->base = a;
	f->slope = b;
	f->capacity = (f->ideal - a) / b;
	f->r2 = st > 0 ? 1 - se / st : 1;
	/* The spread about the fit, with the two fitted parameters' dof. */
	f->noise = f->used > 2 ? sqrt(fmax(0, (sl2 - sl * sl /
	    (double)f->used) / (double)(f->used - 2))) : 0;
	f->queue = 0;
	fit_queue(v, n, f);
out:
	free(w);
	return rc;
}

int
qs_fit_load(const char *path, double window, struct qs_sim_params *p,
    double **trace, size_t *n, struct qs_fit *f, struct qs_err *err)
{
	struct obs *v = NULL;
	double *d, *tr, step;
	size_t nv = 0, i, len = 0, cap;
	long m, k;

	memset(f, 0, sizeof(*f));
	f->window = window;
	f->ideal = p->ideal;
	if (read_obs(path, window, &v, &nv, err) != 0)
		return -1;
	f->rows = (long)nv;
	d = xcalloc(nv - 1, sizeof(double));
	for (i = 1; i < nv; i++)
		d[i - 1] = v[i].t - v[i - 1].t;
	qsort(d, nv - 1, sizeof(double), cmp_double);
	step = d[(nv - 1) / 2];
	free(d);
	if (fit_curve(path, v, nv, f, err) != 0) {
		free(v);
		return -1;
	}
	f->interval = step;
	/* One row per observation; a missing time holds the one before. */
	cap = nv;
	tr = xcalloc(cap, sizeof(double));
	for (i = 0; i < nv; i++) {
		m = 1;
		if (i > 0 && v[i].t - v[i - 1].t >= GAP * step)
			m = (long)fmin(floor((v[i].t - v[i - 1].t) / step + 0.5),
			    GAP_MAX + 1);
		if (m > GAP_MAX) {
			free(v);
			free(tr);
			return qs_err_set(err, EX_DATAERR, "invalid observations "
			    "%s: rows %zu and %zu are more than %d time steps "
			    "(%g s) apart", path, i, i + 1, GAP_MAX, step);
		}
		for (k = 1; k <= m; k++) {
			if (len == cap) {
				cap *= 2;
				tr = xreallocarray(tr, cap, sizeof(double));
			}
			/* Requests counted over window, as requests per step. */
			tr[len++] = (k < m ? v[i - 1].requests : v[i].requests) *
			    step / window;
			if (k < m)
				f->gaps++;
		}
		f->requests_max = fmax(f->requests_max, v[i].requests);
	}
	free(v);
	p->base = f->base;
	p->capacity = f->capacity;
	p->latency_model = f->queue ? QS_LATENCY_QUEUE : QS_LATENCY_LINEAR;
	p->noise = f->noise;
	p->interval = step;
	p->scale = 1;
	*trace = tr;
	*n = len;
	return 0;
}

int
qs_fit_print(FILE *fp, const struct qs_fit *f)
{
	const double x[] = { f->interval, f->window, f->base, f->capacity,
	    f->ideal, f->noise, f->slope, f->rate_min, f->rate_max,
	    f->requests_max, f->r2 };
	char s[sizeof(x) / sizeof(x[0])][QS_NUM_MAX];
	size_t i;

	for (i = 0; i < sizeof(x) / sizeof(x[0]); i++)
		qs_num_format(s[i], x[i]);
	if (fprintf(fp, "{\"observations\":%ld,\"fitted\":%ld,\"gaps\":%ld,"
	    "\"interval\":%s,\"window\":%s,\"base\":%s,\"capacity\":%s,"
	    "\"ideal\":%s,\"noise\":%s,\"slope\":%s,\"rate_min\":%s,"
	    "\"rate_max\":%s,\"requests_max\":%s,\"r2\":%s,"
	    "\"latency_model\":\"%s\"}\n", f->rows, f->used,
	    f->gaps, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9],
	    s[10], f->queue ? "queue" : "linear") < 0)
		return -1;
	return 0;
}
