/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/level.h"
#include "qs/num.h"
#include "qs/plan.h"
#include "qs/record.h"
#include "qs/table.h"
#include "qs/time.h"
#include "qs/xalloc.h"

/* Bins with fewer samples are not trusted on their own. */
#define MIN_BIN QS_PLAN_MIN_BIN
/* The spread of a bin is shrunk toward the pooled one with this weight. */
#define SHRINK 20.0
/* A level with fewer ratio samples borrows every level's. */
#define MIN_LEVEL 30
/* The median rate per replica observed spans this many latency bins. */
#define FIT_BINS 25
/* Request buckets per replica's load at the ideal. */
#define REQ_PER_REPLICA 4
/* Request buckets of a planned table, at most about. */
#define MAX_REQ_BUCKETS 300
/* A state below this share of the horizon's most requests has fallen. */
#define DIP 0.9
/* Planned values are rounded to this: the table stays readable. */
#define Q_ROUND 1e6

static const char *const columns[] = {
	"kind", "lo", "hi", "bin_lo", "bin_hi", "count", "mean", "sd"
};
#define NCOL (sizeof(columns) / sizeof(columns[0]))

void
qs_plan_defaults(struct qs_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
	pl->ideal = 500;
	pl->window = 30;
	pl->horizon = 60;
	pl->w_slo = 0.9;
	pl->w_res = 0.09;
	/*
	 * Not the cost reward's 0.01: with discount 0 a change's cost, paid
	 * once, is weighed against one period's replicas; spread over the
	 * four 15-s periods of a 60-s horizon it no longer pins the count
	 * (measured: +20 % replica-minutes on NASA at 0.01, +2 % at this).
	 */
	pl->w_adp = 0.0025;
	pl->min_replicas = 1;
	pl->max_replicas = 10;
	pl->learned = -1;
}

char *
qs_plan_path(const char *table)
{
	return qs_file_beside(table, ".model");
}

/* The centre of ratio bin k, as a ratio: computed once, used per decision. */
static double
ratio_of(int k)
{
	static double r[QS_PLAN_RATIO_N];
	static int made;
	int i;

	if (!made) {
		for (i = 0; i < QS_PLAN_RATIO_N; i++)
			r[i] = exp(((double)i - QS_PLAN_RATIO_N / 2 + 0.5) *
			    QS_PLAN_RATIO_W);
		made = 1;
	}
	return r[k];
}

static double
ratio_lo(int k)
{
	return exp(((double)k - QS_PLAN_RATIO_N / 2) * QS_PLAN_RATIO_W);
}

/* The bin of a ratio; ratios beyond the ends count in the end bins. */
static int
ratio_bin(double x)
{
	double b;

	if (!(x > 0))
		return 0;
	b = floor(log(x) / QS_PLAN_RATIO_W) + QS_PLAN_RATIO_N / 2;
	if (b < 0)
		return 0;
	if (b >= QS_PLAN_RATIO_N)
		return QS_PLAN_RATIO_N - 1;
	return (int)b;
}

static int
level_of(const struct qs_plan *pl, double requests)
{
	int i;

	for (i = 0; i < pl->nlevel - 1; i++)
		if (requests <= pl->level_hi[i])
			return i;
	return pl->nlevel > 0 ? pl->nlevel - 1 : 0;
}

void
qs_plan_add_latency(struct qs_plan *pl, long pod, double requests,
    double latency)
{
	struct qs_plan_lat *b;
	double r, lm, d, m2;
	long k;

	if (pod <= 0 || !(requests > 0) || !(latency > 0) ||
	    !(pl->lat_width > 0) || !(pl->window > 0))
		return;
	r = requests / pl->window / (double)pod;
	k = (long)floor(r / pl->lat_width);
	/* Far beyond the bins: overload, which the fit extrapolates. */
	if (k >= QS_PLAN_LAT_BINS)
		return;
	while (pl->nlat <= k)
		memset(&pl->lat[pl->nlat++], 0, sizeof(pl->lat[0]));
	b = &pl->lat[k];
	/* Welford's update in log latency, kept as a geometric mean. */
	lm = b->n > 0 ? log(b->mean) : 0;
	m2 = b->sd * b->sd * (double)b->n;
	b->n++;
	d = log(latency) - lm;
	lm += d / (double)b->n;
	m2 += d * (log(latency) - lm);
	b->mean = exp(lm);
	b->sd = sqrt(fmax(0, m2 / (double)b->n));
}

/* Count a ratio sample weight times in the histogram h of requests' level. */
static void
add_ratio(struct qs_plan *pl, long h[][QS_PLAN_RATIO_N], double requests,
    double after, long weight)
{
	int l, j = h == pl->at ? 0 : 1;

	if (!(requests > 0) || pl->nlevel < 1 || !(after >= 0))
		return;
	l = level_of(pl, requests);
	h[l][ratio_bin(after / requests)] += weight;
	pl->ratio_sw[j][l] += (double)weight;
	pl->ratio_sw2[j][l] += (double)weight * (double)weight;
}

void
qs_plan_add_ratio(struct qs_plan *pl, double requests, double after)
{
	add_ratio(pl, pl->at, requests, after, 1);
}

void
qs_plan_observe(struct qs_plan *pl, const struct qs_obs *before,
    const struct qs_obs *after)
{
	qs_plan_add_latency(pl, before->pod, before->requests, before->latency);
	qs_plan_add_latency(pl, after->pod, after->requests, after->latency);
	qs_plan_add_ratio(pl, before->requests, after->requests);
}

long
qs_plan_count(const struct qs_plan *pl)
{
	long n = 0;
	int i;

	for (i = 0; i < pl->nlat; i++)
		n += pl->lat[i].n;
	return n;
}

/*
 * Weighted least squares of y on x; returns -1 when x does not vary.
 */
static int
wls(const double *x, const double *y, const double *w, int n, double *a,
    double *b)
{
	double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, d;
	int i;

	for (i = 0; i < n; i++) {
		sw += w[i];
		sx += w[i] * x[i];
		sy += w[i] * y[i];
		sxx += w[i] * x[i] * x[i];
		sxy += w[i] * x[i] * y[i];
	}
	d = sw * sxx - sx * sx;
	if (!(sw > 0) || !(d > 1e-12 * sw * sxx))
		return -1;
	*b = (sw * sxy - sx * sy) / d;
	*a = (sy - *b * sx) / sw;
	return 0;
}

/* The fitted curve's latency at r; INFINITY beyond a queue's capacity. */
static double
fit_latency(int kind, double base, double param, double r)
{
	if (kind == QS_PLAN_FIT_LINEAR)
		return base + param * r;
	if (kind == QS_PLAN_FIT_QUEUE)
		return r < param ? base / (1 - r / param) : INFINITY;
	return NAN;
}

/* The weighted spread of log latency about a curve. */
static double
fit_spread(int kind, double base, double param, const double *x,
    const double *y, const double *w, int n)
{
	double sw = 0, se = 0, f, e;
	int i;

	for (i = 0; i < n; i++) {
		f = fit_latency(kind, base, param, x[i]);
		if (!(f > 0) || !isfinite(f))
			return INFINITY;
		e = log(y[i] / f);
		sw += w[i];
		se += w[i] * e * e;
	}
	return sw > 0 ? sqrt(se / sw) : INFINITY;
}

void
qs_plan_refit(struct qs_plan *pl)
{
	double x[QS_PLAN_LAT_BINS], y[QS_PLAN_LAT_BINS], w[QS_PLAN_LAT_BINS];
	double iy[QS_PLAN_LAT_BINS], wq[QS_PLAN_LAT_BINS];
	double a, b, sl = INFINITY, sq = INFINITY, lb = 0, lp = 0, qb = 0, qp = 0;
	int i, n = 0, k;

	pl->fit_kind = QS_PLAN_FIT_NONE;
	pl->fit_base = pl->fit_param = pl->fit_sd = 0;
	pl->fit_lo = pl->fit_hi = 0;
	pl->fit_n = 0;
	for (i = 0; i < pl->nlat; i++) {
		/*
		 * Overload, twice the ideal and more (a backlog, a start-up),
		 * says nothing of the curve near the ideal, and weighted by
		 * its latency would outweigh the rest.
		 */
		if (pl->lat[i].n < MIN_BIN || pl->lat[i].mean > 2 * pl->ideal)
			continue;
		x[n] = ((double)i + 0.5) * pl->lat_width;
		y[n] = pl->lat[i].mean;
		w[n] = (double)pl->lat[i].n;
		if (n == 0)
			pl->fit_lo = (double)i * pl->lat_width;
		pl->fit_hi = ((double)i + 1) * pl->lat_width;
		pl->fit_n += pl->lat[i].n;
		n++;
	}
	if (n < 2)
		return;
	/* Linear: latency = base + slope r, weighted for relative noise. */
	for (i = 0; i < n; i++)
		wq[i] = w[i];
	if (wls(x, y, wq, n, &a, &b) == 0 && b > 0) {
		for (k = 0; k < 3; k++) {
			for (i = 0; i < n; i++)
				wq[i] = w[i] / fmax(1e-9, (a + b * x[i]) *
				    (a + b * x[i]));
			if (wls(x, y, wq, n, &a, &b) != 0)
				break;
		}
		if (b > 0 && a > 0) {
			lb = a;
			lp = b;
			sl = fit_spread(QS_PLAN_FIT_LINEAR, a, b, x, y, w, n);
		}
	}
	/* Queue: 1 / latency = (1 - r / mu) / base is linear in r. */
	for (i = 0; i < n; i++) {
		iy[i] = 1 / y[i];
		wq[i] = w[i] * y[i] * y[i];
	}
	if (wls(x, iy, wq, n, &a, &b) == 0 && b < 0 && a > 0) {
		qb = 1 / a;
		qp = a / -b;
		sq = fit_spread(QS_PLAN_FIT_QUEUE, qb, qp, x, y, w, n);
	}
	if (isfinite(sq) && !(sl < sq)) {
		pl->fit_kind = QS_PLAN_FIT_QUEUE;
		pl->fit_base = qb;
		pl->fit_param = qp;
		pl->fit_sd = sq;
	} else if (isfinite(sl)) {
		pl->fit_kind = QS_PLAN_FIT_LINEAR;
		pl->fit_base = lb;
		pl->fit_param = lp;
		pl->fit_sd = sl;
	}
}

/*
 * The latency model prepared for planning: the bins with enough samples,
 * their log means pooled so that they never fall as the rate rises, and
 * their spreads shrunk toward the pooled spread.
 */
struct curve {
	int n;
	double x[QS_PLAN_LAT_BINS], m[QS_PLAN_LAT_BINS], sd[QS_PLAN_LAT_BINS];
	double w[QS_PLAN_LAT_BINS];
	const struct qs_plan *pl;
	double lideal;
};

static void
curve_prepare(struct curve *c, const struct qs_plan *pl)
{
	double var = 0, nn = 0, v, bm[QS_PLAN_LAT_BINS], bw[QS_PLAN_LAT_BINS];
	int i, j, k, nb = 0, len[QS_PLAN_LAT_BINS];
	long min = 1;

	memset(c, 0, sizeof(*c));
	c->pl = pl;
	c->lideal = log(pl->ideal);
	/* Thin bins only when there is nothing else: a curve is needed. */
	for (i = 0; i < pl->nlat; i++)
		if (pl->lat[i].n >= MIN_BIN)
			min = MIN_BIN;
	for (i = 0; i < pl->nlat; i++) {
		if (pl->lat[i].n < min)
			continue;
		var += pl->lat[i].sd * pl->lat[i].sd * (double)pl->lat[i].n;
		nn += (double)pl->lat[i].n;
	}
	var = nn > 0 ? var / nn : 0;
	for (i = 0; i < pl->nlat; i++) {
		if (pl->lat[i].n < min)
			continue;
		k = c->n++;
		c->x[k] = ((double)i + 0.5) * pl->lat_width;
		c->w[k] = (double)pl->lat[i].n;
		v = pl->lat[i].sd * pl->lat[i].sd;
		c->sd[k] = sqrt((c->w[k] * v + SHRINK * var) / (c->w[k] + SHRINK));
		/* Pool adjacent violators: merge blocks while the mean falls. */
		bm[nb] = log(pl->lat[i].mean);
		bw[nb] = c->w[k];
		len[nb++] = 1;
		while (nb > 1 && bm[nb - 2] > bm[nb - 1]) {
			bm[nb - 2] = (bm[nb - 2] * bw[nb - 2] + bm[nb - 1] *
			    bw[nb - 1]) / (bw[nb - 2] + bw[nb - 1]);
			bw[nb - 2] += bw[nb - 1];
			len[nb - 2] += len[nb - 1];
			nb--;
		}
	}
	for (k = 0, i = 0; k < nb; k++)
		for (j = 0; j < len[k]; j++)
			c->m[i++] = bm[k];
}

/* Log latency's mean and spread at rate r per replica. */
static void
curve_at(const struct curve *c, double r, double *m, double *sd)
{
	const struct qs_plan *pl = c->pl;
	double f0, f1, u;
	int a = 0, b, mid;

	if (r <= c->x[0]) {
		/* Below the bins: the fit's shape down from the first bin. */
		*sd = c->sd[0];
		f0 = fit_latency(pl->fit_kind, pl->fit_base, pl->fit_param,
		    c->x[0]);
		f1 = fit_latency(pl->fit_kind, pl->fit_base, pl->fit_param, r);
		*m = c->m[0];
		if (pl->fit_kind != QS_PLAN_FIT_NONE && f0 > 0 && f1 > 0 &&
		    isfinite(f0))
			*m += fmin(0, log(f1 / f0));
		return;
	}
	if (r >= c->x[c->n - 1]) {
		*sd = c->sd[c->n - 1];
		f0 = fit_latency(pl->fit_kind, pl->fit_base, pl->fit_param,
		    c->x[c->n - 1]);
		f1 = fit_latency(pl->fit_kind, pl->fit_base, pl->fit_param, r);
		/* Beyond the bins: the fit's shape from the last bin on. */
		if (pl->fit_kind == QS_PLAN_FIT_NONE || !(f0 > 0))
			*m = c->m[c->n - 1] + log(r / c->x[c->n - 1]);
		else if (!isfinite(f1))
			*m = INFINITY;
		else
			*m = c->m[c->n - 1] + fmax(0, log(f1 / f0));
		return;
	}
	b = c->n - 1;
	while (b - a > 1) {
		mid = (a + b) / 2;
		if (c->x[mid] <= r)
			a = mid;
		else
			b = mid;
	}
	u = (r - c->x[a]) / (c->x[b] - c->x[a]);
	*m = c->m[a] + u * (c->m[b] - c->m[a]);
	*sd = c->sd[a] + u * (c->sd[b] - c->sd[a]);
}

/* P(latency > ideal) at rate r per replica. */
static double
curve_exceed(const struct curve *c, double r)
{
	double m, sd;

	if (!(r > 0))
		return 0;
	if (!isfinite(r))
		return 1;
	curve_at(c, r, &m, &sd);
	if (!isfinite(m))
		return 1;
	if (!(sd > 1e-9))
		return m > c->lideal ? 1 : 0;
	return 0.5 * erfc((c->lideal - m) / (sd * M_SQRT2));
}

double
qs_plan_rate_at_ideal(const struct qs_plan *pl)
{
	struct curve c;
	double lo = 0, hi, m, sd;
	int i;

	if (qs_plan_count(pl) == 0)
		return 0;
	curve_prepare(&c, pl);
	if (c.n == 0)
		return 0;
	hi = c.x[c.n - 1];
	for (i = 0; i < 60; i++) {
		curve_at(&c, hi, &m, &sd);
		if (m > c.lideal)
			break;
		hi *= 2;
	}
	for (i = 0; i < 60; i++) {
		curve_at(&c, (lo + hi) / 2, &m, &sd);
		if (m > c.lideal)
			hi = (lo + hi) / 2;
		else
			lo = (lo + hi) / 2;
	}
	return lo;
}

/* A level's histogram h as weights w summing to 1, pooled when thin. */
static void
hist_weights(const struct qs_plan *pl, long h[][QS_PLAN_RATIO_N], int level,
    double *w)
{
	double tot = 0, sw, sw2, n;
	int k, l, j = (const void *)h == (const void *)pl->at ? 0 : 1;

	for (k = 0; k < QS_PLAN_RATIO_N; k++)
		tot += (double)h[level][k];
	/*
	 * The level's effective sample count, not its weighted one: online
	 * samples weigh more and more (forgetting), and a single one would
	 * make a thin or long-unvisited level look trusted, its ratios that
	 * one sample's.  Samples of weight 1, a fitted or loaded model's,
	 * count as themselves: offline, the rule is the count's.
	 */
	sw = pl->ratio_sw[j][level];
	sw2 = pl->ratio_sw2[j][level];
	n = sw2 > 0 ? sw * sw / sw2 : 0;
	if (tot > 0 && n >= MIN_LEVEL) {
		for (k = 0; k < QS_PLAN_RATIO_N; k++)
			w[k] = (double)h[level][k] / tot;
		return;
	}
	tot = 0;
	for (k = 0; k < QS_PLAN_RATIO_N; k++) {
		w[k] = 0;
		for (l = 0; l < pl->nlevel; l++)
			w[k] += (double)h[l][k];
		tot += w[k];
	}
	for (k = 0; k < QS_PLAN_RATIO_N; k++)
		w[k] = tot > 0 ? w[k] / tot : (k == QS_PLAN_RATIO_N / 2);
}

/* P(violation) with n replicas for requests now, under ratio weights w. */
static double
pviol(const struct curve *c, const double *w, double requests, long n,
    double window)
{
	double p = 0;
	int k;

	if (!(requests > 0))
		return 0;
	if (n <= 0)
		return 1;
	for (k = 0; k < QS_PLAN_RATIO_N; k++)
		if (w[k] > 0)
			p += w[k] * curve_exceed(c, requests * ratio_of(k) /
			    window / (double)n);
	return p;
}

/*
 * P(violation) for each action of t at request bucket b: pat holding or
 * scaling up (the requests at the horizon's end), ppk scaling down (the
 * most within it), each the mean over the bucket's start, middle and end.
 */
static void
bucket_pviol(struct qs_plan *pl, const struct curve *c,
    const struct qs_table *t, int b, double *pat, double *ppk)
{
	double pts[3], wa[QS_PLAN_RATIO_N], wp[QS_PLAN_RATIO_N];
	int a, k, lv;

	for (a = 0; a < t->nact; a++)
		pat[a] = ppk[a] = 0;
	if (c->n == 0)
		return;
	pts[0] = (double)t->req_lo[b];
	pts[2] = b == t->nreq - 1 && t->nreq > 1 ? pts[0] +
	    (double)(t->req_hi[b - 1] - t->req_lo[b - 1]) :
	    (double)t->req_hi[b];
	pts[1] = (pts[0] + pts[2]) / 2;
	for (k = 0; k < 3; k++) {
		lv = level_of(pl, pts[k]);
		hist_weights(pl, pl->at, lv, wa);
		hist_weights(pl, pl->peak, lv, wp);
		for (a = 0; a < t->nact; a++) {
			pat[a] += pviol(c, wa, pts[k], t->act[a], pl->window) / 3;
			ppk[a] += pviol(c, wp, pts[k], t->act[a], pl->window) / 3;
		}
	}
}

/* Plan state s of t from its bucket's pat and ppk (bucket_pviol). */
static void
fill_row(const struct qs_plan *pl, const struct curve *c, struct qs_table *t,
    size_t s, const double *pat, const double *ppk, long count)
{
	double v, p, q, maxr = (double)t->act[t->nact - 1];
	long pod, n;
	int a;

	pod = t->pod_min + (long)(s / (size_t)t->nreq / (size_t)t->nlat);
	for (a = 0; a < t->nact; a++) {
		n = t->act[a];
		/*
		 * The most requests within the horizon are at least those at
		 * its end: the histograms, kept apart (dips only in peak), must
		 * not say otherwise, or a count would go down and up by turns.
		 */
		p = n >= pod ? pat[a] : fmax(ppk[a], pat[a]);
		if (c->n == 0)
			p = 0;
		v = pl->w_slo * p + pl->w_res * (double)n / fmax(1, maxr) +
		    (n != pod ? pl->w_adp : 0);
		q = -round(v * Q_ROUND) / Q_ROUND;
		qs_table_set(t, s, a, q == 0 ? 0 : q);
	}
	if (t->has_visits)
		t->visits[t->row_of_state[s]] = count;
}

void
qs_plan_fill(struct qs_plan *pl, struct qs_table *t)
{
	struct curve c;
	double *pat, *ppk;
	long count = qs_plan_count(pl);
	size_t s, na = (size_t)t->nact;
	int b;

	qs_plan_refit(pl);
	curve_prepare(&c, pl);
	pat = xcalloc((size_t)t->nreq * na, sizeof(double));
	ppk = xcalloc((size_t)t->nreq * na, sizeof(double));
	for (b = 0; b < t->nreq; b++)
		bucket_pviol(pl, &c, t, b, pat + (size_t)b * na,
		    ppk + (size_t)b * na);
	for (s = 0; s < t->nrows; s++) {
		b = (int)(s % (size_t)t->nreq);
		fill_row(pl, &c, t, s, pat + (size_t)b * na,
		    ppk + (size_t)b * na, count);
	}
	free(pat);
	free(ppk);
}

/* Plan state s of t with the curve c prepared from pl. */
static void
fill_state(struct qs_plan *pl, const struct curve *c, struct qs_table *t,
    size_t s)
{
	double *pat, *ppk;
	int b = (int)(s % (size_t)t->nreq);

	pat = xcalloc((size_t)t->nact, sizeof(double));
	ppk = xcalloc((size_t)t->nact, sizeof(double));
	bucket_pviol(pl, c, t, b, pat, ppk);
	fill_row(pl, c, t, s, pat, ppk, qs_plan_count(pl));
	free(pat);
	free(ppk);
}

struct qs_table *
qs_plan_table(struct qs_plan *pl, struct qs_err *err)
{
	struct qs_table *t;
	double rmax, cap;
	long w, nreq, lat;

	if (qs_plan_count(pl) == 0)
		return qs_err_set(err, EX_DATAERR, "the model has no latency "
		    "samples"), NULL;
	qs_plan_refit(pl);
	rmax = qs_plan_rate_at_ideal(pl);
	cap = ceil(rmax * pl->window * (double)pl->max_replicas);
	if (!(cap >= 1))
		cap = 1;
	if (cap > 1e8)
		cap = 1e8;
	/*
	 * A bucket a quarter of what one replica serves at the ideal: finer
	 * would not change a decision by a replica, only the table's size.
	 */
	w = (long)fmax(floor(rmax * pl->window / REQ_PER_REPLICA),
	    ceil(cap / MAX_REQ_BUCKETS));
	if (w < 1)
		w = 1;
	nreq = (long)ceil(cap / (double)w) + 1;
	lat = (long)floor(pl->ideal);
	if (lat < 1)
		lat = 1;
	if ((t = qs_table_new(pl->min_replicas, pl->max_replicas, lat, 2, w,
	    nreq, err)) == NULL)
		return NULL;
	/* The edge buckets are open: nothing observed is outside them. */
	t->lat_hi[1] = 1000000000L;
	t->req_hi[nreq - 1] = 1000000000L;
	qs_table_add_visits(t);
	qs_plan_fill(pl, t);
	return t;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
qs_plan_fit_file(struct qs_plan *pl, const char *path, struct qs_err *err)
{
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "r")) == NULL)
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	rc = qs_plan_fit_fp(pl, fp, path, err);
	fclose(fp);
	return rc;
}

static double series_step(const double *t, size_t n, double *d);

int
qs_plan_fit_fp(struct qs_plan *pl, FILE *fp, const char *path,
    struct qs_err *err)
{
	struct qs_obs_series s;
	struct qs_plan_feed f;
	struct qs_level lw;
	double *v, *lv, *d, rmax = 0, step, pk;
	size_t i, nv = 0;
	long used = 0;
	int l;

	if (qs_obs_series_read(fp, path, &s, err) != 0)
		return -1;
	pl->nlat = 0;
	pl->nlevel = 0;
	memset(pl->at, 0, sizeof(pl->at));
	memset(pl->peak, 0, sizeof(pl->peak));
	memset(pl->ratio_sw, 0, sizeof(pl->ratio_sw));
	memset(pl->ratio_sw2, 0, sizeof(pl->ratio_sw2));
	v = xcalloc(s.n + 1, sizeof(double));
	/* The level of every observation: the planner's state is on it. */
	lv = xcalloc(s.n + 1, sizeof(double));
	qs_level_init(&lw, pl->level_window);
	for (i = 0; i < s.n; i++)
		lv[i] = qs_level_add(&lw, s.t[i], s.req[i]);
	qs_level_free(&lw);
	for (i = 0; i < s.n; i++) {
		if (s.pod[i] > 0 && s.req[i] > 0 && s.lat[i] > 0) {
			rmax = fmax(rmax, s.req[i] / pl->window /
			    (double)s.pod[i]);
			used++;
		}
		if (lv[i] > 0)
			v[nv++] = lv[i];
	}
	if (used < 2 || !(rmax > 0)) {
		free(v);
		free(lv);
		qs_obs_series_free(&s);
		return qs_err_set(err, EX_DATAERR, "cannot fit %s: fewer than "
		    "two rows have requests, replicas and latency", path);
	}
	/*
	 * Bins fine enough for the bulk of the rates: the median's a
	 * FIT_BINS-th part of them, whatever a start-up's overload reached.
	 */
	{
		double *x = xcalloc((size_t)used, sizeof(double));
		size_t m = 0;

		for (i = 0; i < s.n; i++)
			if (s.pod[i] > 0 && s.req[i] > 0 && s.lat[i] > 0)
				x[m++] = s.req[i] / pl->window / (double)s.pod[i];
		qsort(x, m, sizeof(double), cmp_double);
		pl->lat_width = x[m / 2] / FIT_BINS;
		free(x);
	}
	/*
	 * Request levels spaced evenly in log requests from the 5th
	 * percentile to the largest: relative changes shrink as load rises,
	 * and quantiles would spend every level on the common low loads.
	 */
	qsort(v, nv, sizeof(double), cmp_double);
	for (l = 0; l < QS_PLAN_LEVELS - 1; l++) {
		pk = floor(v[nv / 20] * pow(v[nv - 1] / v[nv / 20], (double)l /
		    (QS_PLAN_LEVELS - 1)));
		if (pl->nlevel > 0 && !(pk > pl->level_hi[pl->nlevel - 1]))
			continue;
		pl->level_hi[pl->nlevel++] = pk;
	}
	/* The last level is unbounded; its edge is the largest request. */
	pl->level_hi[pl->nlevel++] = v[nv - 1];
	free(v);
	/*
	 * The latency of every settled observation and the ratios over the
	 * horizon, where the series has the time ahead: a feed, as a
	 * long-lived qs-decide learns them.
	 */
	d = s.n > 1 ? xreallocarray(NULL, s.n - 1, sizeof(*d)) : NULL;
	step = series_step(s.t, s.n, d);
	free(d);
	qs_plan_feed_init(&f, step, 1);
	for (i = 0; i < s.n; i++)
		qs_plan_feed_add(&f, pl, s.t[i], s.pod[i], s.lat[i], s.req[i],
		    lv[i]);
	qs_plan_feed_flush(&f, pl);
	qs_plan_feed_free(&f);
	free(lv);
	qs_obs_series_free(&s);
	qs_plan_refit(pl);
	return 0;
}

static void
put_num(FILE *fp, double x)
{
	char b[QS_NUM_MAX];

	qs_num_format(b, x);
	fputs(b, fp);
}

/* One row; NAN cells are written empty. */
static void
put_row(FILE *fp, const char *kind, double lo, double hi, double blo,
    double bhi, double count, double mean, double sd)
{
	const double x[] = { lo, hi, blo, bhi, count, mean, sd };
	size_t i;

	fputs(kind, fp);
	for (i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
		fputc(',', fp);
		if (!isnan(x[i]))
			put_num(fp, x[i]);
	}
	fputc('\n', fp);
}

static const char *const fit_names[] = { "none", "linear", "queue" };

int
qs_plan_write(const struct qs_plan *pl, FILE *fp)
{
	double lo;
	int i, k, l;

	for (i = 0; i < (int)NCOL; i++)
		fprintf(fp, "%s%s", i ? "," : "", columns[i]);
	fputc('\n', fp);
	put_row(fp, "ideal", NAN, NAN, NAN, NAN, NAN, pl->ideal, NAN);
	put_row(fp, "window", NAN, NAN, NAN, NAN, NAN, pl->window, NAN);
	put_row(fp, "horizon", NAN, NAN, NAN, NAN, NAN, pl->horizon, NAN);
	put_row(fp, "w_slo", NAN, NAN, NAN, NAN, NAN, pl->w_slo, NAN);
	put_row(fp, "w_res", NAN, NAN, NAN, NAN, NAN, pl->w_res, NAN);
	put_row(fp, "w_adp", NAN, NAN, NAN, NAN, NAN, pl->w_adp, NAN);
	put_row(fp, "replicas", (double)pl->min_replicas,
	    (double)pl->max_replicas, NAN, NAN, NAN, NAN, NAN);
	/* Without the row the window is 0: models from before it load alike. */
	if (pl->level_window > 0)
		put_row(fp, "level_window", NAN, NAN, NAN, NAN, NAN,
		    pl->level_window, NAN);
	if (pl->learned >= 0)
		put_row(fp, "learned", NAN, NAN, NAN, NAN, (double)pl->learned,
		    NAN, NAN);
	if (pl->fit_kind != QS_PLAN_FIT_NONE)
		put_row(fp, fit_names[pl->fit_kind], pl->fit_lo, pl->fit_hi,
		    pl->fit_base, pl->fit_param, (double)pl->fit_n, NAN,
		    pl->fit_sd);
	for (i = 0; i < pl->nlat; i++)
		put_row(fp, "latency", (double)i * pl->lat_width,
		    (double)(i + 1) * pl->lat_width, NAN, NAN,
		    (double)pl->lat[i].n, pl->lat[i].n > 0 ? pl->lat[i].mean : NAN,
		    pl->lat[i].n > 0 ? pl->lat[i].sd : NAN);
	for (l = 0; l < pl->nlevel; l++) {
		lo = l ? pl->level_hi[l - 1] : 0;
		put_row(fp, "level", lo, l < pl->nlevel - 1 ? pl->level_hi[l] :
		    NAN, NAN, NAN, NAN, pl->level_hi[l], NAN);
		for (k = 0; k < QS_PLAN_RATIO_N; k++)
			if (pl->at[l][k] > 0)
				put_row(fp, "at", lo, l < pl->nlevel - 1 ?
				    pl->level_hi[l] : NAN, ratio_lo(k),
				    ratio_lo(k + 1), (double)pl->at[l][k], NAN, NAN);
		for (k = 0; k < QS_PLAN_RATIO_N; k++)
			if (pl->peak[l][k] > 0)
				put_row(fp, "peak", lo, l < pl->nlevel - 1 ?
				    pl->level_hi[l] : NAN, ratio_lo(k),
				    ratio_lo(k + 1), (double)pl->peak[l][k], NAN,
				    NAN);
	}
	return ferror(fp) ? -1 : 0;
}

/* A cell of rec (borrowed): a number, or NAN when empty. */
static int
cell(json_t *rec, const char *key, double *out, struct qs_err *err)
{
	json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v)) {
		*out = NAN;
		return 0;
	}
	if (!json_is_number(v))
		return qs_err_set(err, EX_DATAERR, "%s is not a number", key);
	*out = json_number_value(v);
	return 0;
}

/* A required, finite cell within [min, max]. */
static int
need(const double *x, int i, double min, double max, struct qs_err *err)
{
	if (isnan(x[i]))
		return qs_err_set(err, EX_DATAERR, "%s is missing", columns[i + 1]);
	if (!(x[i] >= min && x[i] <= max))
		return qs_err_set(err, EX_DATAERR, "%s is out of range",
		    columns[i + 1]);
	return 0;
}

/* Whether two edges are the same, to the printing's precision. */
static int
same(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b)));
}

static int
load_row(struct qs_plan *pl, const char *kind, const double *x,
    unsigned *seen, struct qs_err *err)
{
	static const char *const params[] = { "ideal", "window", "horizon",
	    "w_slo", "w_res", "w_adp" };
	double *dst[] = { &pl->ideal, &pl->window, &pl->horizon, &pl->w_slo,
	    &pl->w_res, &pl->w_adp };
	size_t i;
	int k, l, bin;
	long (*h)[QS_PLAN_RATIO_N];

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(kind, params[i]) == 0) {
			if (need(x, 5, i < 3 ? 1e-9 : 0, i == 0 ? 1e7 : i < 3 ?
			    1e7 : 1e6, err) != 0)
				return -1;
			*dst[i] = x[5];
			*seen |= 1u << i;
			return 0;
		}
	if (strcmp(kind, "level_window") == 0) {
		if (need(x, 5, 0, QS_LEVEL_WINDOW_MAX, err) != 0)
			return -1;
		pl->level_window = x[5];
		return 0;
	}
	if (strcmp(kind, "learned") == 0) {
		if (need(x, 4, 0, 1e15, err) != 0)
			return -1;
		if (x[4] != floor(x[4]))
			return qs_err_set(err, EX_DATAERR, "%s", "count is not an "
			    "integer");
		pl->learned = (long)x[4];
		return 0;
	}
	if (strcmp(kind, "replicas") == 0) {
		if (need(x, 0, 0, 100000, err) || need(x, 1, 1, 100000, err))
			return -1;
		if (x[0] != floor(x[0]) || x[1] != floor(x[1]) || x[1] < x[0])
			return qs_err_set(err, EX_DATAERR, "%s", "the replica range "
			    "is not lo <= hi, integers");
		pl->min_replicas = (long)x[0];
		pl->max_replicas = (long)x[1];
		*seen |= 1u << 6;
		return 0;
	}
	if (strcmp(kind, "linear") == 0 || strcmp(kind, "queue") == 0 ||
	    strcmp(kind, "none") == 0)
		return 0;	/* the fit is made again from the bins */
	if (strcmp(kind, "latency") == 0) {
		if (need(x, 0, 0, 1e12, err) || need(x, 1, 0, 1e12, err) ||
		    need(x, 4, 0, 1e15, err))
			return -1;
		if (pl->nlat == 0) {
			if (x[0] != 0 || !(x[1] > 0))
				return qs_err_set(err, EX_DATAERR, "%s", "the first "
				    "latency bin does not start at 0");
			pl->lat_width = x[1];
		}
		if (pl->nlat >= QS_PLAN_LAT_BINS)
			return qs_err_set(err, EX_DATAERR, "more than %d latency "
			    "bins", QS_PLAN_LAT_BINS);
		if (!same(x[0], pl->lat_width * pl->nlat) ||
		    !same(x[1], pl->lat_width * (pl->nlat + 1)))
			return qs_err_set(err, EX_DATAERR, "%s", "latency bins are "
			    "not contiguous and of one width");
		if (x[4] != floor(x[4]))
			return qs_err_set(err, EX_DATAERR, "%s", "count is not an "
			    "integer");
		pl->lat[pl->nlat].n = (long)x[4];
		if (x[4] > 0 && (need(x, 5, 1e-12, QS_LATENCY_MAX, err) ||
		    need(x, 6, 0, 100, err)))
			return -1;
		pl->lat[pl->nlat].mean = x[4] > 0 ? x[5] : 0;
		pl->lat[pl->nlat].sd = x[4] > 0 ? x[6] : 0;
		pl->nlat++;
		return 0;
	}
	if (strcmp(kind, "level") == 0) {
		if (need(x, 0, 0, 1e15, err) || need(x, 5, 0, 1e15, err))
			return -1;
		if (pl->nlevel >= QS_PLAN_LEVELS)
			return qs_err_set(err, EX_DATAERR, "more than %d levels",
			    QS_PLAN_LEVELS);
		if (!same(x[0], pl->nlevel ? pl->level_hi[pl->nlevel - 1] : 0) ||
		    (pl->nlevel > 0 && isnan(pl->level_hi[pl->nlevel - 1])) ||
		    (!isnan(x[1]) && !same(x[1], x[5])) ||
		    (pl->nlevel > 0 && !(x[5] > pl->level_hi[pl->nlevel - 1])))
			return qs_err_set(err, EX_DATAERR, "%s", "levels are not "
			    "contiguous and ascending");
		pl->level_hi[pl->nlevel++] = x[5];
		/* Only the last level may be open. */
		if (isnan(x[1]))
			*seen |= 1u << 8;
		else if (*seen & (1u << 8))
			return qs_err_set(err, EX_DATAERR, "%s", "a level follows "
			    "the open one");
		return 0;
	}
	if (strcmp(kind, "at") == 0 || strcmp(kind, "peak") == 0) {
		h = kind[0] == 'a' ? pl->at : pl->peak;
		l = pl->nlevel - 1;
		if (l < 0 || !same(x[0], l ? pl->level_hi[l - 1] : 0))
			return qs_err_set(err, EX_DATAERR, "%s row is not in the "
			    "level before it", kind);
		if (need(x, 2, 1e-300, 1e300, err) || need(x, 4, 1, 1e15, err))
			return -1;
		bin = (int)floor(log(x[2]) / QS_PLAN_RATIO_W + 0.5) +
		    QS_PLAN_RATIO_N / 2;
		if (bin < 0 || bin >= QS_PLAN_RATIO_N || !same(x[2], ratio_lo(bin)))
			return qs_err_set(err, EX_DATAERR, "%s", "bin_lo is not a "
			    "ratio bin's edge");
		if (x[4] != floor(x[4]))
			return qs_err_set(err, EX_DATAERR, "%s", "count is not an "
			    "integer");
		k = bin;
		if (h[l][k] != 0)
			return qs_err_set(err, EX_DATAERR, "%s", "a ratio bin given "
			    "twice");
		h[l][k] = (long)x[4];
		pl->ratio_sw[kind[0] == 'a' ? 0 : 1][l] += x[4];
		pl->ratio_sw2[kind[0] == 'a' ? 0 : 1][l] += x[4];
		return 0;
	}
	return qs_err_set(err, EX_DATAERR, "unknown kind \"%.40s\"", kind);
}

int
qs_plan_load(struct qs_plan *pl, const char *path, struct qs_err *err)
{
	struct qs_reader *r;
	json_t *rec, *cols, *k;
	FILE *fp;
	double x[NCOL - 1];
	unsigned seen = 0;
	size_t i;
	int rc;

	qs_plan_defaults(pl);
	if ((fp = fopen(path, "r")) == NULL)
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	r = qs_reader_new(fp, path);
	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		if (qs_reader_format(r) != QS_FMT_CSV)
			rc = qs_err_set(err, EX_DATAERR, "%s", "not CSV");
		cols = qs_reader_columns(r);
		if (rc == 1 && json_array_size(cols) != NCOL)
			rc = qs_err_set(err, EX_DATAERR, "the header is not %s",
			    "kind,lo,hi,bin_lo,bin_hi,count,mean,sd");
		for (i = 0; rc == 1 && i < NCOL; i++)
			if (!json_is_string(json_array_get(cols, i)) ||
			    strcmp(json_string_value(json_array_get(cols, i)),
			    columns[i]) != 0)
				rc = qs_err_set(err, EX_DATAERR, "the header is "
				    "not %s", "kind,lo,hi,bin_lo,bin_hi,count,mean,sd");
		json_decref(cols);
		k = json_object_get(rec, "kind");
		if (rc == 1 && !json_is_string(k))
			rc = qs_err_set(err, EX_DATAERR, "%s", "kind is not a name");
		for (i = 1; rc == 1 && i < NCOL; i++)
			if (cell(rec, columns[i], &x[i - 1], err) != 0)
				rc = -1;
		if (rc == 1 && load_row(pl, json_string_value(k), x, &seen,
		    err) != 0)
			rc = -1;
		json_decref(rec);
		if (rc != 1)
			break;
	}
	if (rc == 0 && (seen & 0x7f) != 0x7f)
		rc = qs_err_set(err, EX_DATAERR, "%s", "a parameter (ideal, "
		    "window, horizon, w_slo, w_res, w_adp, replicas) is missing");
	if (rc == 0 && qs_plan_count(pl) == 0)
		rc = qs_err_set(err, EX_DATAERR, "%s", "no latency samples");
	if (rc != 0) {
		if (err->status == EX_DATAERR)
			qs_err_wrap(err, "invalid model %s: line %ld", path,
			    qs_reader_line(r));
		qs_reader_free(r);
		fclose(fp);
		return -1;
	}
	qs_reader_free(r);
	fclose(fp);
	qs_plan_refit(pl);
	return 0;
}

int
qs_plan_save_prepare(const struct qs_plan *pl, const char *path,
    struct qs_atomic *a, struct qs_err *err)
{
	if (qs_atomic_open(a, path, err) != 0)
		return -1;
	if (qs_plan_write(pl, a->fp) != 0) {
		qs_err_sys(err, EX_IOERR, "cannot write %s", path);
		qs_atomic_abort(a);
		return -1;
	}
	if (qs_atomic_sync(a, err) != 0) {
		qs_atomic_abort(a);
		return -1;
	}
	return 0;
}

int
qs_plan_save(const struct qs_plan *pl, const char *path, struct qs_err *err)
{
	struct qs_atomic a;

	if (qs_plan_save_prepare(pl, path, &a, err) != 0)
		return -1;
	return qs_atomic_commit(&a, err);
}

int
qs_plan_print(FILE *fp, const struct qs_plan *pl)
{
	char b[6][QS_NUM_MAX];

	qs_num_format(b[0], pl->fit_base);
	qs_num_format(b[1], pl->fit_param);
	qs_num_format(b[2], pl->fit_sd);
	qs_num_format(b[3], pl->fit_lo);
	qs_num_format(b[4], pl->fit_hi);
	qs_num_format(b[5], qs_plan_rate_at_ideal(pl));
	if (fprintf(fp, "{\"learner\":\"model\",\"observations\":%ld,"
	    "\"fit\":\"%s\",\"base\":%s,\"%s\":%s,\"noise\":%s,"
	    "\"rate_min\":%s,\"rate_max\":%s,\"rate_at_ideal\":%s,"
	    "\"min_replicas\":%ld,\"max_replicas\":%ld}\n", qs_plan_count(pl),
	    fit_names[pl->fit_kind], b[0], pl->fit_kind == QS_PLAN_FIT_QUEUE ?
	    "service_rate" : "slope", b[1], b[2], b[3], b[4], b[5],
	    pl->min_replicas, pl->max_replicas) < 0)
		return -1;
	return 0;
}

void
qs_plan_observe_level(struct qs_plan *pl, const struct qs_obs *before,
    const struct qs_obs *after, double level)
{
	qs_plan_add_latency(pl, before->pod, before->requests, before->latency);
	qs_plan_add_latency(pl, after->pod, after->requests, after->latency);
	qs_plan_add_ratio(pl, level > 0 ? level : before->requests,
	    after->requests);
}

/*
 * The feed: observations in time order, kept while a pending ratio or
 * the window of a later observation's settling may need them.
 */
void
qs_plan_feed_init(struct qs_plan_feed *f, double step, long weight)
{
	memset(f, 0, sizeof(*f));
	f->step = step;
	f->weight = weight > 0 ? weight : 1;
	f->latency = 1;
}

void
qs_plan_feed_free(struct qs_plan_feed *f)
{
	free(f->t);
	free(f->req);
	free(f->lv);
	free(f->pod);
	free(f->at);
	memset(f, 0, sizeof(*f));
}

/* Whether requests at i fell below DIP times the most of the horizon before. */
static int
feed_fell(const struct qs_plan_feed *f, size_t i, double horizon)
{
	double m = 0;
	size_t k;

	for (k = i; k > 0 && f->t[k - 1] >= f->t[i] - horizon; k--)
		m = fmax(m, f->req[k - 1]);
	return f->req[i] < DIP * m;
}

/* The most requests after i up to and including k. */
static double
feed_peak(const struct qs_plan_feed *f, size_t i, size_t k)
{
	double pk = 0;

	while (++i <= k)
		pk = fmax(pk, f->req[i]);
	return pk;
}

static double feed_step(const struct qs_plan_feed *f);

/* Pending ratio states: the "at" sample's index, or one of these. */
enum { FEED_WAIT = -1, FEED_DONE = -2 };

/* Drop what no pending sample and no later settling needs any more. */
static void
feed_compact(struct qs_plan_feed *f, const struct qs_plan *pl)
{
	double keep;
	size_t k = 0, i;

	keep = fmin(f->first < f->n ? f->t[f->first] : INFINITY,
	    f->t[f->n - 1]) - fmax(pl->horizon, pl->window) - 1;
	while (k < f->first && f->t[k] < keep)
		k++;
	if (k < 64 || k < f->n / 2)
		return;
	memmove(f->t, f->t + k, (f->n - k) * sizeof(*f->t));
	memmove(f->req, f->req + k, (f->n - k) * sizeof(*f->req));
	memmove(f->lv, f->lv + k, (f->n - k) * sizeof(*f->lv));
	memmove(f->pod, f->pod + k, (f->n - k) * sizeof(*f->pod));
	memmove(f->at, f->at + k, (f->n - k) * sizeof(*f->at));
	for (i = 0; i < f->n - k; i++)
		if (f->at[i] >= 0)
			f->at[i] -= (long)k;
	f->n -= k;
	f->first -= k;
}

long
qs_plan_feed_add(struct qs_plan_feed *f, struct qs_plan *pl, double t,
    long pod, double latency, double requests, double level)
{
	double step, h = pl->horizon;
	size_t i, m;
	long added = 0;

	/* A repeat: the stream's times must rise. */
	if (!isfinite(t) || (f->n > 0 && t == f->t[f->n - 1]))
		return 0;
	/*
	 * Time going back (a record without time, read as now, among older
	 * ones; a clock set back) ends the stream before it and starts one:
	 * ignored instead, every later record would be, until time caught up.
	 */
	if (f->n > 0 && t < f->t[f->n - 1]) {
		added = qs_plan_feed_flush(f, pl);
		f->n = f->first = 0;
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->t = xreallocarray(f->t, f->cap, sizeof(*f->t));
		f->req = xreallocarray(f->req, f->cap, sizeof(*f->req));
		f->lv = xreallocarray(f->lv, f->cap, sizeof(*f->lv));
		f->pod = xreallocarray(f->pod, f->cap, sizeof(*f->pod));
		f->at = xreallocarray(f->at, f->cap, sizeof(*f->at));
	}
	m = f->n++;
	f->t[m] = t;
	f->req[m] = requests;
	f->lv[m] = level;
	f->pod[m] = pod;
	f->at[m] = level > 0 ? FEED_WAIT : FEED_DONE;
	if (f->latency && qs_obs_settled(f->t, f->pod, m, pl->window))
		qs_plan_add_latency(pl, pod, requests, latency);
	step = f->step > 0 ? f->step : feed_step(f);
	for (i = f->first; i < m; i++) {
		if (f->at[i] == FEED_WAIT && t >= f->t[i] + h - step / 2) {
			if (t > f->t[i] + h + step / 2) {
				f->at[i] = FEED_DONE;
				continue;
			}
			f->at[i] = (long)m;
			/*
			 * A fall is mostly a dip that comes back: the peak
			 * histogram, which a scale-down faces, keeps it; holding
			 * or scaling up with the replicas from before the dip
			 * need not fear it.  With a level window the level
			 * remembers the peak before a dip: the dip is in the
			 * ratio, and no sample is left out.
			 */
			if (pl->level_window > 0 || !feed_fell(f, i, h))
				add_ratio(pl, pl->at, f->lv[i], requests,
				    f->weight);
			added++;
		} else if (f->at[i] >= 0 && (size_t)f->at[i] + 1 == m) {
			/*
			 * A scale-down's capacity is missing until a replica
			 * started at the next decision is ready: one step more.
			 */
			add_ratio(pl, pl->peak, f->lv[i], feed_peak(f, i, m),
			    f->weight);
			f->at[i] = FEED_DONE;
			added++;
		}
	}
	while (f->first < m && f->at[f->first] == FEED_DONE)
		f->first++;
	feed_compact(f, pl);
	return added;
}

long
qs_plan_feed_flush(struct qs_plan_feed *f, struct qs_plan *pl)
{
	long added = 0;
	size_t i;

	for (i = f->first; i < f->n; i++)
		if (f->at[i] >= 0) {
			add_ratio(pl, pl->peak, f->lv[i], feed_peak(f, i,
			    f->n - 1), f->weight);
			f->at[i] = FEED_DONE;
			added++;
		}
	f->first = f->n;
	return added;
}

long
qs_plan_online_weight(const struct qs_plan *pl)
{
	double tot = 0;
	int l, k;

	for (l = 0; l < pl->nlevel; l++)
		for (k = 0; k < QS_PLAN_RATIO_N; k++)
			tot += (double)pl->at[l][k];
	return (long)fmax(1, round(tot / QS_PLAN_PRIOR));
}

/*
 * The latency curve, prepared once: only the load is learned online, so
 * the curve stays as the model had it, and preparing it for every
 * decision was most of a decision's time.
 */
static void
online_curve(struct qs_plan_online *o)
{
	qs_plan_refit(&o->pl);
	if (o->curve == NULL)
		o->curve = xcalloc(1, sizeof(struct curve));
	curve_prepare(o->curve, &o->pl);
}

void
qs_plan_online_init(struct qs_plan_online *o, const struct qs_plan *pl,
    const struct qs_table *t)
{
	memset(o, 0, sizeof(*o));
	o->pl = *pl;
	qs_plan_feed_init(&o->feed, 0, qs_plan_online_weight(pl));
	o->wf = (double)o->feed.weight;
	o->memory = QS_PLAN_MEMORY;
	/*
	 * The load only: the latency a decider sees is of the counts it
	 * chose, and learned at the model's weight it hurt (measured).
	 */
	o->feed.latency = 0;
	o->nstates = t->nrows;
	o->stamp = xcalloc(o->nstates, sizeof(*o->stamp));
	online_curve(o);
}

void
qs_plan_online_reset(struct qs_plan_online *o, const struct qs_plan *pl,
    const struct qs_table *t)
{
	o->pl = *pl;
	o->feed.weight = qs_plan_online_weight(pl);
	o->wf = (double)o->feed.weight;
	o->added = 0;
	o->nstates = t->nrows;
	o->stamp = xreallocarray(o->stamp, o->nstates, sizeof(*o->stamp));
	memset(o->stamp, 0, o->nstates * sizeof(*o->stamp));
	online_curve(o);
}

void
qs_plan_online_free(struct qs_plan_online *o)
{
	qs_plan_feed_free(&o->feed);
	free(o->stamp);
	free(o->curve);
	o->stamp = NULL;
	o->curve = NULL;
}

/* The significant bits a level's ratio counts keep when scaled down. */
#define SCALE_KEEP 10

/*
 * Halve the ratio counts h of one level k times, rounding, or fewer times
 * so that the largest keeps SCALE_KEEP bits.  A level's ratios are weighed
 * against each other only (hist_weights): scaled as the newest, a level
 * not seen for a week or two rounded to nothing and fell back to all
 * levels' ratios, though nothing had been learned of it since.  A sample
 * it learns anew, at the current weight, still outweighs it by far: its
 * effective count (hist_weights) sees that it is one sample.  Returns the
 * halvings made.
 */
static int
row_scale(long *h, int k)
{
	long max = 0;
	int b, bits = 0;

	for (b = 0; b < QS_PLAN_RATIO_N; b++)
		max = h[b] > max ? h[b] : max;
	while (bits < 62 && (max >> bits) > 0)
		bits++;
	if (k > bits - SCALE_KEEP)
		k = bits - SCALE_KEEP;
	if (k <= 0)
		return 0;
	for (b = 0; b < QS_PLAN_RATIO_N; b++)
		h[b] = (h[b] + (1L << (k - 1))) >> k;
	return k;
}

/*
 * Halve the ratio counts k times (row_scale): old samples fade out.  A
 * level's weight sums are scaled by the halvings its own counts took,
 * which leaves its effective sample count as it was.
 */
static void
hist_scale(struct qs_plan *pl, int k)
{
	int l, ka, kp;

	for (l = 0; l < QS_PLAN_LEVELS; l++) {
		ka = row_scale(pl->at[l], k);
		kp = row_scale(pl->peak[l], k);
		pl->ratio_sw[0][l] = ldexp(pl->ratio_sw[0][l], -ka);
		pl->ratio_sw2[0][l] = ldexp(pl->ratio_sw2[0][l], -2 * ka);
		pl->ratio_sw[1][l] = ldexp(pl->ratio_sw[1][l], -kp);
		pl->ratio_sw2[1][l] = ldexp(pl->ratio_sw2[1][l], -2 * kp);
	}
}

void
qs_plan_online_step(struct qs_plan_online *o, struct qs_table *t, size_t s,
    double secs, const struct qs_obs *obs, double level)
{
	long n;

	n = qs_plan_feed_add(&o->feed, &o->pl, secs, obs->pod, obs->latency,
	    obs->requests, level);
	o->added += n;
	/*
	 * Forgetting: an observation's two samples weigh e^(1/QS_PLAN_MEMORY)
	 * times the last's, so that what was learned QS_PLAN_MEMORY
	 * observations ago, the model's own samples as well, counts e times
	 * less: a trace's load changes its character.  The counts stay
	 * integers, scaled down together when the weight grows large.
	 */
	if (n > 0) {
		o->wf *= exp((double)n / (2.0 * o->memory));
		if (o->wf > 1e12) {
			hist_scale(&o->pl, 20);
			o->wf /= (double)(1L << 20);
		}
		o->feed.weight = (long)fmax(1, round(o->wf));
	}
	if (s < o->nstates && o->stamp[s] != o->added) {
		fill_state(&o->pl, o->curve, t, s);
		o->stamp[s] = o->added;
	}
}

/*
 * The median of the n - 1 intervals of times t (the lower one of an even
 * count), 0 for fewer than two, sorted in d (room for n - 1): the time
 * step, as the simulator's fit takes it.  The mean of a series with a gap
 * was the gap's share, and a horizon's ratio was matched that much too
 * early or late.
 */
static double
series_step(const double *t, size_t n, double *d)
{
	size_t i;

	if (n < 2)
		return 0;
	for (i = 1; i < n; i++)
		d[i - 1] = t[i] - t[i - 1];
	qsort(d, n - 1, sizeof(*d), cmp_double);
	return d[(n - 2) / 2];
}

/* The intervals feed_step looks at: a few horizons' worth at 15 s. */
#define FEED_STEPS 32

/*
 * The time step of the feed's stream: the median of its last FEED_STEPS
 * intervals.  It was the mean since the stream began, so that one gap (a
 * harness's first record at 0, then times from 1e9) widened the match of
 * a horizon to many steps, and ratios over one step were learned as a
 * horizon's for the rest of a long run.
 */
static double
feed_step(const struct qs_plan_feed *f)
{
	double d[FEED_STEPS];
	size_t k = f->n < FEED_STEPS + 1 ? f->n : FEED_STEPS + 1;

	/* Once per record: the intervals are sorted on the stack. */
	return series_step(f->t + (f->n - k), k, d);
}
