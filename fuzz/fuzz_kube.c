/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the Kubernetes answers qscale reads: Deployment
 * objects, and Status objects in error answers.
 */
#include <stddef.h>
#include <stdint.h>

#include "qs/err.h"
#include "qs/kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qs_err err = { 0 };
	struct qs_kube_scale sc;

	qs_kube_parse_deployment((const char *)data, size, &sc, &err);
	qs_kube_http_error(size > 0 ? 400 + data[0] % 200 : 500,
	    (const char *)data, size, &err);
	return 0;
}
