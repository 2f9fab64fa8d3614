/* See LICENSE file for copyright and license details. */
#ifndef QS_CPA_H
#define QS_CPA_H

#include <stdio.h>

#include <jansson.h>

#include "qs/err.h"

/*
 * The Custom Pod Autoscaler's evaluate contract.  CPA runs its evaluate
 * command with a JSON object on standard input,
 *
 *	{"metrics":[{"resource":"web","value":"..."}, ...],
 *	 "resource":{...}, "runType":"scaler"}
 *
 * and reads {"targetReplicas":N} from its standard output.  With
 * qs-observe as CPA's metric command, each value is one qscale record
 * written as a JSON string.
 */

/*
 * Read the evaluate input from fp (name is used in messages) and parse
 * the record in each metric's value.  Returns a new reference to an array
 * of the records, in the order of the metrics, which the caller must
 * json_decref; or NULL with err: EX_DATAERR when the input is not JSON,
 * has no metrics, or a value is not a string holding one JSON object,
 * EX_IOERR when reading fails.
 */
json_t *qs_cpa_read(FILE *fp, const char *name, struct qs_err *err);

/*
 * As qs_cpa_read, for an input already parsed: in is borrowed, the result
 * a new reference.
 */
json_t *qs_cpa_records(json_t *in, const char *name, struct qs_err *err);

/* Write {"targetReplicas":N} and a newline; returns 0, or -1 with errno. */
int qs_cpa_write(FILE *fp, long replicas);

#endif
