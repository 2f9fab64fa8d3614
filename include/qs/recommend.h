/* See LICENSE file for copyright and license details. */
#ifndef QS_RECOMMEND_H
#define QS_RECOMMEND_H

#include "qs/err.h"

/*
 * The recent recommendations of a scale-down stabilization window: the
 * highest replica count recommended in each second of the last window
 * seconds.  One slot per second keeps it bounded whatever the input, and
 * the file (one line "unix_seconds count" per second that has one, in time
 * order) is trimmed to the window whenever it is written.
 */
#define QS_RECOMMEND_WINDOW_MAX 3600L
#define QS_RECOMMEND_COUNT_MAX 100000L

struct qs_recommend {
	long window;		/* seconds, 1 .. QS_RECOMMEND_WINDOW_MAX */
	long base;		/* the unix second of slot 0: now - window */
	long *n;		/* window + 1 slots, -1 when empty */
};

/* Start an empty window of window seconds ending at now. */
void qs_recommend_init(struct qs_recommend *r, long window, long now);
void qs_recommend_free(struct qs_recommend *r);

/*
 * Read path into r: a file that does not exist is an empty one.  Lines
 * older than the window are dropped; a time after now counts as now (the
 * clock was set back).  Returns 0, or -1 with err: EX_NOINPUT when it
 * cannot be read, EX_DATAERR naming the line when it is malformed.
 */
int qs_recommend_load(struct qs_recommend *r, const char *path,
    struct qs_err *err);

/* Move the window's end to now, dropping what falls out of it. */
void qs_recommend_move(struct qs_recommend *r, long now);

/* Record count as recommended at the window's end. */
void qs_recommend_add(struct qs_recommend *r, long count);

/* The highest count in the window, or -1 when it is empty. */
long qs_recommend_max(const struct qs_recommend *r);

/*
 * Replace path with r's lines, crash-safely (qs_atomic_*).  Returns 0, or
 * -1 with err (EX_CANTCREAT, EX_IOERR).
 */
int qs_recommend_save(const struct qs_recommend *r, const char *path,
    struct qs_err *err);

#endif
