/* See LICENSE file for copyright and license details. */
#ifndef QS_POLICY_H
#define QS_POLICY_H

#include <stddef.h>

#include "qs/learn.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"

/*
 * The decision rules of qs-decide, its CPA mode and qs-sim's table
 * policy, kept in one place so that simulation decides as production
 * does.  A state with no learned value holds the current replica count
 * (or takes the HPA formula's answer); exploration stays within k
 * replicas of the current count and never goes down while latency is
 * above the ideal; greedy ties go to the action nearest the current
 * count; an optional floor keeps the answer at or above a margin times
 * the HPA formula's.
 */

/* Why an action was chosen, as the record's "why" field names it. */
enum qs_policy_why {
	QS_POLICY_WHY_GREEDY,
	QS_POLICY_WHY_RANDOM,
	QS_POLICY_WHY_HOLD,
	QS_POLICY_WHY_HPA,
	QS_POLICY_WHY_FLOOR
};

/* What a state with no learned value does. */
enum qs_policy_unlearned {
	QS_POLICY_UNLEARNED_HOLD,
	QS_POLICY_UNLEARNED_HPA
};

#define QS_POLICY_EXPLORE_K 1
#define QS_POLICY_EXPLORE_DECAY 20.0
#define QS_POLICY_WINDOW 30.0

struct qs_policy_opts {
	double epsilon;		/* probability of exploring */
	long explore_k;		/* exploration within +-k of the current count */
	double explore_decay;	/* visits at which epsilon halves; 0: constant */
	enum qs_policy_unlearned unlearned;
	double hpa_target;	/* requests per second per replica; 0: none */
	double window;		/* seconds the requests field counts */
	double floor_margin;	/* 0: no floor; needs hpa_target */
	double ideal;		/* latency objective, ms */
	enum qs_compat compat;	/* QS_COMPAT_NOTEBOOK: qs_learn_decide */
};

/* The defaults: epsilon 0.1, k 1, decay 20, hold, window 30 s, ideal 500. */
void qs_policy_defaults(struct qs_policy_opts *o);

/*
 * The column to take in state s, where obs was observed (s is the state
 * of obs in t); sets *why.  Draws from rng only when o->epsilon > 0;
 * rng may be NULL for a greedy decision (o->epsilon 0).  With
 * QS_COMPAT_NOTEBOOK, qs_learn_decide's choice (qs_table_best's without
 * rng) and nothing else of o.
 */
int qs_policy_decide(const struct qs_table *t, const struct qs_policy_opts *o,
    size_t s, const struct qs_obs *obs, struct qs_rand *rng,
    enum qs_policy_why *why);

/*
 * The HPA formula's replicas for requests in the window,
 * ceil(requests / window / hpa_target), before clamping; 0 when o has no
 * hpa_target.
 */
long qs_policy_hpa(const struct qs_policy_opts *o, double requests);

/* The name of why ("greedy", "random", "hold", "hpa", "floor"). */
const char *qs_policy_why_name(enum qs_policy_why why);

/* Parse "hold" or "hpa"; returns -1 for anything else. */
int qs_policy_unlearned_parse(const char *s, enum qs_policy_unlearned *u);

#endif
