/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the parser of Prometheus' /api/v1/query answers.
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
	double v;

	qs_prom_parse((const char *)data, size, &v, &err);
	return 0;
}
