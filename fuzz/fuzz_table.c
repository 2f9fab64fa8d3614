/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the Q-table loader: parse the input as a table
 * and, when it loads, look states up and write it back out.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "qs/err.h"
#include "qs/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct qs_err err = { 0 };
	struct qs_table *t;
	FILE *fp;
	size_t s;
	char name[128];

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		return 0;
	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	t = qs_table_loadf(fp, "fuzz", &err);
	fclose(fp);
	if (t == NULL)
		return 0;
	for (s = 0; s < t->nrows; s++) {
		qs_table_best(t, s);
		qs_table_state_name(t, s, name, sizeof(name));
	}
	s = qs_table_state(t, -1, 1e300, -1e300, &(int){ 0 });
	qs_table_set(t, s, t->nact - 1, 0.1);
	qs_table_write(t, null);
	qs_table_free(t);
	return 0;
}
