/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/num.h"
#include "qs/recommend.h"
#include "qs/record.h"
#include "qs/xalloc.h"

/* A line is two numbers and a space: anything longer is not one. */
#define LINE_MAX_LEN 64

void
qs_recommend_init(struct qs_recommend *r, long window, long now)
{
	long i;

	r->window = window;
	r->base = now - window;
	r->n = xreallocarray(NULL, (size_t)window + 1, sizeof(long));
	for (i = 0; i <= window; i++)
		r->n[i] = -1;
}

void
qs_recommend_free(struct qs_recommend *r)
{
	free(r->n);
	r->n = NULL;
}

/* Put count at unix second t, clamped to the window's end. */
static void
put(struct qs_recommend *r, long t, long count)
{
	long i;

	if (t > r->base + r->window)
		t = r->base + r->window;
	if (t < r->base)
		return;
	i = t - r->base;
	if (count > r->n[i])
		r->n[i] = count;
}

/* Parse "unix_seconds count" (the newline already cut off). */
static int
parse_line(char *s, long *t, long *count)
{
	char *sp = strchr(s, ' ');

	if (sp == NULL)
		return -1;
	*sp = '\0';
	if (qs_num_parse_long(s, 0, LONG_MAX, t) != 0 ||
	    qs_num_parse_long(sp + 1, 0, QS_RECOMMEND_COUNT_MAX, count) != 0)
		return -1;
	return 0;
}

int
qs_recommend_load(struct qs_recommend *r, const char *path,
    struct qs_err *err)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	long line = 0, t, count;
	FILE *fp;
	int rc = 0;

	/* A FIFO would block the reader: refuse it before opening. */
	if (qs_file_regular(path, EX_NOINPUT, err) != 0)
		return -1;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	}
	while ((n = qs_getline(&buf, &cap, fp, LINE_MAX_LEN)) > 0) {
		line++;
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > LINE_MAX_LEN || parse_line(buf, &t, &count) != 0) {
			rc = qs_err_set(err, EX_DATAERR, "invalid recommendations "
			    "file %s: line %ld: not \"unix_seconds count\"", path,
			    line);
			break;
		}
		put(r, t, count);
	}
	if (rc == 0 && n < 0)
		rc = qs_err_sys(err, ferror(fp) ? EX_IOERR : EX_OSERR,
		    "cannot read %s", path);
	free(buf);
	fclose(fp);
	return rc;
}

void
qs_recommend_move(struct qs_recommend *r, long now)
{
	long *old = r->n, obase = r->base, i;

	if (now - r->window == obase)
		return;
	qs_recommend_init(r, r->window, now);
	for (i = 0; i <= r->window; i++)
		if (old[i] >= 0)
			put(r, obase + i, old[i]);
	free(old);
}

void
qs_recommend_add(struct qs_recommend *r, long count)
{
	put(r, r->base + r->window, count);
}

long
qs_recommend_max(const struct qs_recommend *r)
{
	long i, max = -1;

	for (i = 0; i <= r->window; i++)
		if (r->n[i] > max)
			max = r->n[i];
	return max;
}

int
qs_recommend_save(const struct qs_recommend *r, const char *path,
    struct qs_err *err)
{
	struct qs_atomic a;
	long i;

	if (qs_atomic_open(&a, path, err) != 0)
		return -1;
	for (i = 0; i <= r->window; i++)
		if (r->n[i] >= 0)
			fprintf(a.fp, "%ld %ld\n", r->base + i, r->n[i]);
	return qs_atomic_commit(&a, err);
}
