/* See LICENSE file for copyright and license details. */
#ifndef QS_LEVEL_H
#define QS_LEVEL_H

#include <jansson.h>

#include "qs/err.h"

/*
 * The load level: the highest requests of the observations in (t - W, t],
 * the one at t included, W the level window in seconds.  One definition
 * for the planner's fit, qs-decide and qs-sim eval.  Times are kept to
 * the millisecond.  Only the points that can still be the highest are
 * kept (a later, higher one hides an earlier one), at most
 * QS_LEVEL_POINTS_MAX; beyond that the two oldest are merged into one at
 * the later time, so that the level errs high, never low.
 */
#define QS_LEVEL_WINDOW_MAX 86400.0
#define QS_LEVEL_POINTS_MAX 4096

struct qs_level {
	long long window;	/* milliseconds; 0: the level is the requests */
	size_t n, cap;
	long long *t;		/* milliseconds since the epoch, ascending */
	double *r;		/* requests, descending */
};

/* An empty level window of window seconds (0 .. QS_LEVEL_WINDOW_MAX). */
void qs_level_init(struct qs_level *l, double window);
void qs_level_free(struct qs_level *l);

/*
 * Add requests seen at time t (seconds since the epoch) and return the
 * level at t.  A time before the last one added counts as the last one
 * (a clock set back), unless it is more than the window before it: the
 * window then starts anew at t.  With window 0 the level is requests.
 */
double qs_level_add(struct qs_level *l, double t, double requests);

/*
 * The time of record rec (borrowed): its "time" field (RFC 3339 or
 * seconds), else now from the clock.  Returns 0, or -1 with err
 * (EX_DATAERR) when the field is there and is not a time.
 */
int qs_level_time(json_t *rec, double *t, struct qs_err *err);

/*
 * Read path ("unix_milliseconds requests" lines, ascending) into l: a
 * file that does not exist leaves l empty.  Returns 0, or -1 with err:
 * EX_NOINPUT when it cannot be read, EX_DATAERR naming the line when it
 * is malformed.
 */
int qs_level_load(struct qs_level *l, const char *path, struct qs_err *err);

/*
 * Replace path with l's points, crash-safely (qs_atomic_*): what a run
 * needs to go on from, trimmed to the window.  Returns 0, or -1 with err.
 */
int qs_level_save(const struct qs_level *l, const char *path,
    struct qs_err *err);

/*
 * The level window table was planned for: TABLE.meta's level_window, else
 * TABLE.model's level_window row, else 0.  When value is not NULL, option
 * or variable name gave it: it is the window, and one the table's files
 * say otherwise is a contradiction.  Returns 0 with *window, or -1 with
 * err: EX_CONFIG for a contradiction, EX_USAGE for a value that is not a
 * number of seconds, EX_DATAERR for a file's value that is not, or what
 * loading the files fails with.
 */
int qs_level_setting(const char *table, const char *name, const char *value,
    double *window, struct qs_err *err);

#endif
