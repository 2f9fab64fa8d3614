/* See LICENSE file for copyright and license details. */
#ifndef QS_HISTORY_H
#define QS_HISTORY_H

#include <sys/types.h>

#include <jansson.h>

#include "qs/err.h"

/*
 * The history file: the notebook's columns, one row per transition,
 * appended to in one write and fsynced, and rolled back by truncation when
 * the caller's later step fails.
 */
struct qs_history {
	char *path;
	int fd;
	int created;		/* the file did not exist before */
	off_t size0;		/* its size when opened */
	json_t *cols;		/* the header's names: an array of strings */
	long rows;		/* data rows already in the file */
	json_t *seen;		/* qs_history_seen's identities: an object */
};

/*
 * The notebook's ten history columns, then time and new_time, then
 * applied and new_pod, then level, then recommended.
 */
extern const char *const qs_history_cols[];

/*
 * Open path for appending: read its header and count its rows.  A file
 * that does not exist yet is created empty at once, so that a failure to
 * create it shows before any other work; qs_history_rollback removes it.
 * The file is locked (flock) until qs_history_close, waiting up to wait
 * seconds for another writer.  Returns 0 or -1 with err (EX_TEMPFAIL when
 * the wait ran out).
 */
int qs_history_open(struct qs_history *h, const char *path, double wait,
    struct qs_err *err);

/*
 * Append recs (an array of records, borrowed) as rows in the file's
 * columns, in one write, then fsync.  A new file gets the notebook's
 * header, plus time and new_time when the first record has time, plus
 * applied and new_pod when it has time or applied, plus level when it
 * has a level (qs-decide's on a planned table), plus recommended when it
 * has one (qs-scale --shadow's).
 */
int qs_history_append(struct qs_history *h, json_t *recs, struct qs_err *err);

/* Undo qs_history_append: truncate to the old size, or remove a new file. */
void qs_history_rollback(struct qs_history *h);

void qs_history_close(struct qs_history *h);

/*
 * What qs_history_seen reports of a transition it finds in the file: the
 * q_value of its row (have_q), and whether a later row updated the same
 * table cell, as same_cell (when not NULL) says of a row's pod, latency,
 * requests and applied count (its action without one; borrowed, any may
 * be NULL).
 */
struct qs_history_match {
	int (*same_cell)(json_t *pod, json_t *latency, json_t *requests,
	    json_t *applied, void *arg);
	void *arg;
	int have_q;
	double q;
	int later;
};

/*
 * Whether the transition rec (borrowed) is already in the history, or
 * was given to this function before since qs_history_open: a row with its
 * time, pod, latency, requests and action.  Only the tail is read,
 * backwards, to 64 rows in a row older than rec.  A record without time,
 * or a history without those columns, is never found.  When m is not
 * NULL it is filled in as above.  Returns 1, 0, or -1 with err.
 */
int qs_history_seen(struct qs_history *h, json_t *rec,
    struct qs_history_match *m, struct qs_err *err);

/*
 * The rows of the file from the from-th (0 the first) to the last it had
 * when opened, as records: a new array.  Returns NULL with err
 * (EX_DATAERR naming the line) when one cannot be read.
 */
json_t *qs_history_rows(struct qs_history *h, long from, struct qs_err *err);

#endif
