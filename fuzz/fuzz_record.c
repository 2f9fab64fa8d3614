/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the record reader (JSON Lines and CSV): read every
 * record, take the fields the tools use, and write it back out.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	struct qs_err err = { 0 };
	struct qs_reader *r;
	struct qs_writer *w = NULL;
	json_t *rec, *cols;
	FILE *fp;
	long l;
	double d;
	int b;

	if (null == NULL && (null = fopen("/dev/null", "w")) == NULL)
		return 0;
	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	r = qs_reader_new(fp, "fuzz");
	while (qs_reader_next(r, &rec, &err) == 1) {
		if (w == NULL)
			w = qs_writer_new(null, qs_reader_format(r));
		qs_rec_long(rec, "pod", 0, 1000000000L, &l, &err);
		qs_rec_double(rec, "latency", 0, 1e12, &d, &err);
		qs_rec_bool(rec, "random", &b, &err);
		qs_writer_put(w, rec, &err);
		json_decref(rec);
	}
	cols = qs_reader_columns(r);
	json_decref(cols);
	qs_writer_free(w);
	qs_reader_free(r);
	fclose(fp);
	return 0;
}
