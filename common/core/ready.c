/* See LICENSE file for copyright and license details. */
#include <jansson.h>

#include "qs/err.h"
#include "qs/ready.h"
#include "qs/record.h"

int
qs_ready_dropped(long new_pod, long expected)
{
	return new_pod != expected;
}

int
qs_ready_check(json_t *rec, struct qs_ready *r, struct qs_err *err)
{
	r->key = qs_rec_has(rec, "expected_pod") ? "expected_pod" :
	    qs_rec_has(rec, "applied") ? "applied" : "action";
	r->new_pod = r->expected = 0;
	if (!qs_rec_has(rec, "new_pod"))
		return 0;
	if (qs_rec_long(rec, "new_pod", 0, QS_POD_MAX, &r->new_pod, err) != 0 ||
	    qs_rec_long(rec, r->key, 0, QS_POD_MAX, &r->expected, err) != 0)
		return -1;
	return qs_ready_dropped(r->new_pod, r->expected);
}
