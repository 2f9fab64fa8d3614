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

#define SHAPE "not \"unix_seconds count\""

/* One line of the file into r (qs_file_lines). */
static const char *
load_line(char *s, void *arg)
{
	long t, count;

	if (parse_line(s, &t, &count) != 0)
		return SHAPE;
	put(arg, t, count);
	return NULL;
}

int
qs_recommend_load(struct qs_recommend *r, const char *path,
    struct qs_err *err)
{
	return qs_file_lines(path, LINE_MAX_LEN, "recommendations file", SHAPE,
	    load_line, r, err);
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
