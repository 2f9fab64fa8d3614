/* See LICENSE file for copyright and license details. */
/*
 * libFuzzer harness for the table's save path: load the input from a file
 * (so that clean rows are copied byte for byte), change a few cells chosen
 * by a hash of the input, save, reload, and check that every cell reads
 * back and that the header and the unchanged rows kept their bytes.  Any
 * difference aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096], path[4200];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_save: %s\n", what);
		abort();
	}
}

static uint64_t
next(uint64_t *x)
{
	/* splitmix64: any spread will do. */
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static char *
slurp(size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	check(fp != NULL, "cannot reopen the saved table");
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	check(buf != NULL && fread(buf, 1, (size_t)n, fp) == (size_t)n,
	    "cannot read the saved table");
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* Whether row i (or the header, i == -1) has the same bytes in both files. */
static int
same_bytes(const struct qs_table *a, const uint8_t *abuf,
    const struct qs_table *b, const char *bbuf, long i)
{
	off_t a0 = i < 0 ? 0 : i == 0 ? a->src_hdr_end : a->src_row_end[i - 1];
	off_t a1 = i < 0 ? a->src_hdr_end : a->src_row_end[i];
	off_t b0 = i < 0 ? 0 : i == 0 ? b->src_hdr_end : b->src_row_end[i - 1];
	off_t b1 = i < 0 ? b->src_hdr_end : b->src_row_end[i];

	return a1 - a0 == b1 - b0 &&
	    memcmp(abuf + a0, bbuf + b0, (size_t)(a1 - a0)) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double special[] = { 0.0, -0.0, 1e300, -1e-300, 4.9e-324,
	    1.7976931348623157e308, 0.1, -2.5 };
	struct qs_err err = { 0 };
	struct qs_table *t, *t2;
	uint64_t x = 1469598103934665603u;
	size_t i, n, s, len;
	char *saved;
	double v;
	FILE *fp;
	int col;

	if (path[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/fuzz_save.XXXXXX", tmp ? tmp : "/tmp");
		check(mkdtemp(dir) != NULL, "cannot make a directory");
		snprintf(path, sizeof(path), "%s/t.csv", dir);
		atexit(cleanup);
	}
	if ((fp = fopen(path, "wb")) == NULL)
		return 0;
	check(fwrite(data, 1, size, fp) == size && fclose(fp) == 0,
	    "cannot write the input");
	if ((t = qs_table_load(path, &err)) == NULL)
		return 0;
	for (i = 0; i < size; i++)
		x = (x ^ data[i]) * 1099511628211u;
	n = 1 + next(&x) % 4;
	for (i = 0; i < n; i++) {
		s = next(&x) % t->nrows;
		col = (int)(next(&x) % (uint64_t)t->nact);
		if (next(&x) % 2)
			v = special[next(&x) % (sizeof(special) / sizeof(special[0]))];
		else
			v = (double)(int64_t)(next(&x) % 2000001) / 1000.0 - 1000.0;
		qs_table_set(t, s, col, v);
	}
	check(qs_table_save(t, path, &err) == 0, err.msg);
	t2 = qs_table_load(path, &err);
	check(t2 != NULL, err.msg);
	check(t2->nrows == t->nrows && t2->nact == t->nact &&
	    memcmp(t2->act, t->act, (size_t)t->nact * sizeof(long)) == 0 &&
	    memcmp(t2->row_of_state, t->row_of_state,
	    t->nrows * sizeof(size_t)) == 0, "the saved table has another shape");
	for (i = 0; i < t->nrows * (size_t)t->nact; i++)
		check(t2->q[i] == t->q[i], "a value did not read back");
	saved = slurp(&len);
	check(same_bytes(t, data, t2, saved, -1), "the header changed");
	for (i = 0; i < t->nrows; i++)
		if (!t->dirty[i])
			check(same_bytes(t, data, t2, saved, (long)i),
			    "an unchanged row changed");
	free(saved);
	qs_table_free(t2);
	qs_table_free(t);
	return 0;
}
