/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the parsers of Prometheus' /api/v1/query and
 * /api/v1/query_range answers.
 */
#include <stddef.h>
#include <stdint.h>

#include "qs/err.h"
#include "qs/prom.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qs_err err = { 0 };
	struct qs_prom_range r;
	double v;

	qs_prom_parse((const char *)data, size, &v, &err);
	if (qs_prom_parse_range((const char *)data, size, &r, &err) == 0)
		qs_prom_range_free(&r);
	return 0;
}
