/* See LICENSE file for copyright and license details. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "qs/learn.h"
#include "qs/policy.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"

static const char *why_names[] = {
	[QS_POLICY_WHY_GREEDY] = "greedy",
	[QS_POLICY_WHY_RANDOM] = "random",
	[QS_POLICY_WHY_HOLD] = "hold",
	[QS_POLICY_WHY_HPA] = "hpa",
	[QS_POLICY_WHY_FLOOR] = "floor"
};

void
qs_policy_defaults(struct qs_policy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->epsilon = QS_EPSILON;
	o->explore_k = QS_POLICY_EXPLORE_K;
	o->explore_decay = QS_POLICY_EXPLORE_DECAY;
	o->unlearned = QS_POLICY_UNLEARNED_HOLD;
	o->window = QS_POLICY_WINDOW;
	o->ideal = QS_IDEAL_LATENCY;
	o->compat = QS_COMPAT_NONE;
}

const char *
qs_policy_why_name(enum qs_policy_why why)
{
	return why_names[why];
}

int
qs_policy_unlearned_parse(const char *s, enum qs_policy_unlearned *u)
{
	if (strcmp(s, "hold") == 0)
		*u = QS_POLICY_UNLEARNED_HOLD;
	else if (strcmp(s, "hpa") == 0)
		*u = QS_POLICY_UNLEARNED_HPA;
	else
		return -1;
	return 0;
}

long
qs_policy_hpa(const struct qs_policy_opts *o, double requests)
{
	double r;

	if (o->hpa_target <= 0 || o->window <= 0 || !(requests > 0))
		return 0;
	r = ceil(requests / o->window / o->hpa_target);
	/* Far beyond any table: the clamp to the actions does the rest. */
	return r < 1e15 ? (long)r : (long)1e15;
}

/* The column nearest to replicas x; ties to the higher count. */
static int
nearest(const struct qs_table *t, long x)
{
	int i, best = 0;
	long d, bd = LONG_MAX;

	for (i = 0; i < t->nact; i++) {
		d = t->act[i] > x ? t->act[i] - x : x - t->act[i];
		if (d <= bd) {
			bd = d;
			best = i;
		}
	}
	return best;
}

/* The lowest column at or above x, or the highest: x clamped to the actions. */
static int
at_least(const struct qs_table *t, long x)
{
	int i;

	for (i = 0; i < t->nact; i++)
		if (t->act[i] >= x)
			return i;
	return t->nact - 1;
}

/*
 * Whether state s has a learned value: visits above 0 when the table has
 * the column, and some value not 0.
 */
static int
learned(const struct qs_table *t, size_t s)
{
	const double *v = qs_table_values(t, s);
	int i;

	if (qs_table_visits(t, s) == 0)
		return 0;
	for (i = 0; i < t->nact; i++)
		if (v[i] != 0)
			return 1;
	return 0;
}

/* The best column; ties to the one nearest column cur, then the higher. */
static int
greedy(const struct qs_table *t, size_t s, int cur)
{
	const double *v = qs_table_values(t, s);
	long c = t->act[cur], d, bd;
	int i, best = 0;

	for (i = 1; i < t->nact; i++) {
		if (v[i] < v[best])
			continue;
		d = t->act[i] > c ? t->act[i] - c : c - t->act[i];
		bd = t->act[best] > c ? t->act[best] - c : c - t->act[best];
		if (v[i] > v[best] || d <= bd)
			best = i;
	}
	return best;
}

/*
 * A uniformly random column among those within k replicas of column cur,
 * none below it when latency is above the ideal.
 */
static int
explore(const struct qs_table *t, const struct qs_policy_opts *o, int cur,
    double latency, struct qs_rand *rng)
{
	long c = t->act[cur], lo, hi;
	int a, b;

	lo = latency > o->ideal ? c : (c > LONG_MIN + o->explore_k ?
	    c - o->explore_k : LONG_MIN);
	hi = c < LONG_MAX - o->explore_k ? c + o->explore_k : LONG_MAX;
	for (a = cur; a > 0 && t->act[a - 1] >= lo; a--)
		;
	for (b = cur; b < t->nact - 1 && t->act[b + 1] <= hi; b++)
		;
	return a + (int)qs_rand_below(rng, (uint64_t)(b - a + 1));
}

int
qs_policy_decide(const struct qs_table *t, const struct qs_policy_opts *o,
    size_t s, const struct qs_obs *obs, struct qs_rand *rng,
    enum qs_policy_why *why)
{
	double eps = o->epsilon, f;
	long visits = qs_table_visits(t, s);
	int col, cur, random;

	if (o->compat == QS_COMPAT_NOTEBOOK && rng == NULL) {
		*why = QS_POLICY_WHY_GREEDY;
		return qs_table_best(t, s);
	}
	if (o->compat == QS_COMPAT_NOTEBOOK) {
		col = qs_learn_decide(t, s, o->epsilon, rng, &random);
		*why = random ? QS_POLICY_WHY_RANDOM : QS_POLICY_WHY_GREEDY;
		return col;
	}
	cur = nearest(t, obs->pod);
	/* Decayed with the state's visits: epsilon d / (d + visits). */
	if (eps > 0 && o->explore_decay > 0 && visits > 0)
		eps *= o->explore_decay / (o->explore_decay + (double)visits);
	if (eps > 0 && qs_rand_uniform(rng) < eps) {
		col = explore(t, o, cur, obs->latency, rng);
		*why = QS_POLICY_WHY_RANDOM;
	} else if (!learned(t, s)) {
		if (o->unlearned == QS_POLICY_UNLEARNED_HPA && o->hpa_target > 0) {
			col = at_least(t, qs_policy_hpa(o, obs->requests));
			*why = QS_POLICY_WHY_HPA;
		} else {
			col = cur;
			*why = QS_POLICY_WHY_HOLD;
		}
	} else {
		col = greedy(t, s, cur);
		*why = QS_POLICY_WHY_GREEDY;
	}
	if (o->floor_margin > 0 && o->hpa_target > 0) {
		f = ceil(o->floor_margin * (double)qs_policy_hpa(o, obs->requests));
		if (f > 1e15)
			f = 1e15;
		if ((double)t->act[col] < f) {
			cur = at_least(t, (long)f);
			if (t->act[cur] > t->act[col]) {
				col = cur;
				*why = QS_POLICY_WHY_FLOOR;
			}
		}
	}
	return col;
}
