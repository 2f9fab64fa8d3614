/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/level.h"
#include "qs/meta.h"
#include "qs/num.h"
#include "qs/plan.h"
#include "qs/record.h"
#include "qs/time.h"
#include "qs/xalloc.h"

/* A line is two numbers and a space: anything longer is not one. */
#define LINE_MAX_LEN 80

void
qs_level_init(struct qs_level *l, double window)
{
	memset(l, 0, sizeof(*l));
	l->window = (long long)llround(fmin(fmax(window, 0),
	    QS_LEVEL_WINDOW_MAX) * 1000);
}

void
qs_level_free(struct qs_level *l)
{
	free(l->t);
	free(l->r);
	l->t = NULL;
	l->r = NULL;
	l->n = l->cap = 0;
}

/* Put requests r at ms; the points stay ascending in time, descending in r. */
static void
put(struct qs_level *l, long long ms, double r)
{
	size_t k;

	/*
	 * A clock set back a little counts as the last time; one set back by
	 * more than the window (an episode a harness starts again from 0)
	 * has every point after it: held, they made the level the highest
	 * requests since, until time caught up.  The window starts anew.
	 */
	if (l->n > 0 && ms < l->t[l->n - 1] - l->window)
		l->n = 0;
	if (l->n > 0 && ms < l->t[l->n - 1])
		ms = l->t[l->n - 1];
	/* Out of the window of ms: never the highest again. */
	for (k = 0; k < l->n && l->t[k] <= ms - l->window; k++)
		;
	if (k > 0) {
		memmove(l->t, l->t + k, (l->n - k) * sizeof(l->t[0]));
		memmove(l->r, l->r + k, (l->n - k) * sizeof(l->r[0]));
		l->n -= k;
	}
	/* Hidden by r from now on, or the same millisecond. */
	while (l->n > 0 && (l->r[l->n - 1] <= r || l->t[l->n - 1] == ms)) {
		if (l->r[l->n - 1] > r)
			r = l->r[l->n - 1];
		l->n--;
	}
	if (l->n == QS_LEVEL_POINTS_MAX) {
		l->r[1] = fmax(l->r[0], l->r[1]);
		memmove(l->t, l->t + 1, (l->n - 1) * sizeof(l->t[0]));
		memmove(l->r, l->r + 1, (l->n - 1) * sizeof(l->r[0]));
		l->n--;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->t = xreallocarray(l->t, l->cap, sizeof(l->t[0]));
		l->r = xreallocarray(l->r, l->cap, sizeof(l->r[0]));
	}
	l->t[l->n] = ms;
	l->r[l->n] = r;
	l->n++;
}

double
qs_level_add(struct qs_level *l, double t, double requests)
{
	if (l->window <= 0 || !(requests >= 0) || !isfinite(t))
		return requests;
	/*
	 * Beyond the records' limit (a clock a period after a late --recent
	 * file's last time) its milliseconds did not fit: llround's LLONG_MIN
	 * started the window anew and was saved, as a file the next run refused.
	 */
	put(l, llround(fmin(fmax(t, 0), QS_TIME_NUM_MAX) * 1000), requests);
	return l->r[0];
}

int
qs_level_time(json_t *rec, double *t, struct qs_err *err)
{
	json_t *v = json_object_get(rec, "time");
	struct timeval tv;

	if (v == NULL || json_is_null(v)) {
		gettimeofday(&tv, NULL);
		*t = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
		return 0;
	}
	/* A time given is read as every record's is. */
	return qs_rec_obs_time(rec, t, err);
}

/* Parse "unix_milliseconds requests" (the newline already cut off). */
static int
parse_line(char *s, long long *ms, double *r)
{
	char *sp = strchr(s, ' ');
	long v;

	if (sp == NULL)
		return -1;
	*sp = '\0';
	if (qs_num_parse_long(s, 0, (long)(QS_TIME_NUM_MAX * 1000), &v) != 0 ||
	    qs_num_parse(sp + 1, r) != 0 || !(*r >= 0) || !isfinite(*r))
		return -1;
	*ms = v;
	return 0;
}

#define SHAPE "not \"unix_milliseconds requests\""

/* One line of the file into the window (qs_file_lines), in time order. */
struct load {
	struct qs_level *l;
	long long last;
};

static const char *
load_line(char *s, void *arg)
{
	struct load *ld = arg;
	long long ms;
	double r;

	if (parse_line(s, &ms, &r) != 0)
		return SHAPE;
	if (ms < ld->last)
		return "its time is before the previous line's";
	ld->last = ms;
	if (ld->l->window > 0)
		put(ld->l, ms, r);
	return NULL;
}

int
qs_level_load(struct qs_level *l, const char *path, struct qs_err *err)
{
	struct load ld = { l, -1 };

	if (qs_file_lines(path, LINE_MAX_LEN, "recent file", SHAPE, load_line,
	    &ld, err) != 0) {
		l->n = 0;
		return -1;
	}
	return 0;
}

int
qs_level_save(const struct qs_level *l, const char *path, struct qs_err *err)
{
	struct qs_atomic a;
	char b[QS_NUM_MAX];
	size_t i;

	if (qs_atomic_open(&a, path, err) != 0)
		return -1;
	for (i = 0; i < l->n; i++) {
		qs_num_format(b, l->r[i]);
		fprintf(a.fp, "%lld %s\n", l->t[i], b);
	}
	return qs_atomic_commit(&a, err);
}

/* The table's own level window, *have 0 when its files say nothing. */
static int
table_window(const char *table, double *w, const char **from, int *have,
    struct qs_err *err)
{
	static char where[16];
	struct qs_meta m;
	struct qs_plan pl;
	struct stat st;
	const char *v;
	char *path;
	int rc = 0;

	*have = 0;
	if (qs_meta_load(&m, table, err) != 0)
		return -1;
	if ((v = qs_meta_get(&m, "level_window")) != NULL) {
		if (qs_num_parse(v, w) != 0 || !(*w >= 0 &&
		    *w <= QS_LEVEL_WINDOW_MAX)) {
			path = qs_meta_path(table);
			rc = qs_err_set(err, EX_DATAERR, "invalid %s: level_window "
			    "is %s, not a number of seconds", path, v);
			free(path);
		}
		*have = 1;
		snprintf(where, sizeof(where), "%s", ".meta");
		*from = where;
		qs_meta_free(&m);
		return rc;
	}
	qs_meta_free(&m);
	path = qs_plan_path(table);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((rc = qs_plan_load(&pl, path, err)) == 0) {
			*w = pl.level_window;
			*have = 1;
			snprintf(where, sizeof(where), "%s", ".model");
			*from = where;
		}
	}
	free(path);
	return rc;
}

int
qs_level_setting(const char *table, const char *name, const char *value,
    double *window, struct qs_err *err)
{
	double w = 0, g;
	const char *from = "";
	int have;

	if (value != NULL && (qs_num_parse(value, &g) != 0 || !(g >= 0 &&
	    g <= QS_LEVEL_WINDOW_MAX)))
		return qs_err_set(err, EX_USAGE, "invalid %s: %s (seconds, 0 to "
		    "%.0f)", name, value, QS_LEVEL_WINDOW_MAX);
	if (table_window(table, &w, &from, &have, err) != 0)
		return -1;
	if (value != NULL && have && w != g) {
		char b[QS_NUM_MAX];

		qs_num_format(b, w);
		return qs_err_set(err, EX_CONFIG, "%s%s: level_window is %s, but "
		    "%s is %s", table, from, b, name, value);
	}
	*window = value != NULL ? g : have ? w : 0;
	return 0;
}
