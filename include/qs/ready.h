/* See LICENSE file for copyright and license details. */
#ifndef QS_READY_H
#define QS_READY_H

#include <jansson.h>

#include "qs/err.h"

/*
 * The not-ready rule, one for qs-update and qs-sim train: a transition
 * whose ready replicas after it (new_pod) are not the count the
 * deployment should have by then is foreign (another hand scaled) or not
 * ready (its pods were still starting), so what followed is not the
 * action's effect, and it is not learned.
 */
int qs_ready_dropped(long new_pod, long expected);

/* What qs_ready_check found, for its message. */
struct qs_ready {
	long new_pod, expected;
	const char *key;	/* the field expected came from */
};

/*
 * The rule on a record rec (borrowed): when it has new_pod, compare it
 * with the transition's own count, applied (what qs-scale set), else
 * action, as qs-sim train compares each transition with its own action
 * however many are in flight.  A record's expected_pod, the count its
 * writer says the deployment should have by then, is taken instead of
 * both: qs-run no longer writes it (it wrote the newest decision's count,
 * which drops what follows a scale-up), but a pipeline may.  Returns 1
 * when rec is dropped, 0 when not (or it has no new_pod), with r filled
 * in; -1 with err (EX_DATAERR) when a field is malformed.
 */
int qs_ready_check(json_t *rec, struct qs_ready *r, struct qs_err *err);

#endif
