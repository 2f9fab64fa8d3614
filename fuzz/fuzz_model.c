/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the planner's model file (TABLE.model): load the
 * input and, when it loads, write it back out and, for a small replica
 * range, plan a table from it.  qs_plan_load reads a path, so the input
 * goes through one file in $TMPDIR.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/plan.h"
#include "qs/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	static char path[4096];
	struct qs_err err = { 0 };
	struct qs_plan pl;
	struct qs_table *t;
	const char *dir;
	FILE *fp;
	int fd;

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		return 0;
	if (path[0] == '\0') {
		dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
		snprintf(path, sizeof(path), "%s/fuzz_model.XXXXXX", dir);
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
	}
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
		abort();
	if (qs_plan_load(&pl, path, &err) != 0)
		return 0;
	qs_plan_write(&pl, null);
	/* A model may ask for any range: plan only what stays small. */
	if (pl.max_replicas - pl.min_replicas < 16 &&
	    (t = qs_plan_table(&pl, &err)) != NULL)
		qs_table_free(t);
	return 0;
}
