/* See LICENSE file for copyright and license details. */
#include <math.h>
#include <stddef.h>

#include "qs/err.h"
#include "qs/learn.h"
#include "qs/rand.h"
#include "qs/table.h"

int
qs_learn_decide(const struct qs_table *t, size_t s, double epsilon,
    struct qs_rand *rng, int *random)
{
	/* As the notebook: explore unless a uniform draw exceeds epsilon. */
	if (qs_rand_uniform(rng) > epsilon) {
		*random = 0;
		return qs_table_best(t, s);
	}
	*random = 1;
	return (int)qs_rand_below(rng, (uint64_t)t->nact);
}

static double
max_value(const struct qs_table *t, size_t s)
{
	return qs_table_values(t, s)[qs_table_best(t, s)];
}

double
qs_learn_update(struct qs_table *t, size_t s, int col, double r, size_t s2,
    double alpha, double gamma, enum qs_compat compat)
{
	double old, next, v;

	if (compat == QS_COMPAT_NOTEBOOK) {
		/* Python's int() truncates toward zero. */
		old = trunc(max_value(t, s));
		next = trunc(max_value(t, s2));
	} else {
		old = qs_table_values(t, s)[col];
		next = max_value(t, s2);
	}
	v = (1 - alpha) * old + alpha * (r + gamma * next);
	qs_table_set(t, s, col, v);
	return v;
}

void
qs_learn_defaults(struct qs_learn_params *lp)
{
	lp->alpha = QS_ALPHA;
	lp->gamma = QS_GAMMA;
	lp->compat = QS_COMPAT_NONE;
}

int
qs_learn_transition(struct qs_table *t, const struct qs_transition *tr,
    const struct qs_learn_params *lp, struct qs_learn_result *res,
    struct qs_err *err)
{
	if ((res->col = qs_table_action(t, tr->action)) < 0)
		return qs_err_set(err, EX_DATAERR,
		    "action %ld is not an action column of the table", tr->action);
	res->clamped = 0;
	res->s = qs_table_state(t, tr->before.pod, tr->before.latency,
	    tr->before.requests, &res->clamped);
	res->s2 = qs_table_state(t, tr->after.pod, tr->after.latency,
	    tr->after.requests, &res->clamped);
	res->q = qs_learn_update(t, res->s, res->col, tr->reward, res->s2,
	    lp->alpha, lp->gamma, lp->compat);
	qs_table_visit(t, res->s);
	return 0;
}
