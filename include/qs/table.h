/* See LICENSE file for copyright and license details. */
#ifndef QS_TABLE_H
#define QS_TABLE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "qs/err.h"

/*
 * A Q-table: one row per state (a replica count, a latency bucket and a
 * request bucket), one column per action (the replica count it sets).
 * Rows keep the order they had in the file they came from; states are
 * indexed as ((pod - pod_min) * nlat + lat) * nreq + req.
 */
struct qs_table {
	int nact;
	long *act;		/* action columns, strictly ascending */
	long pod_min, pod_max;	/* replica counts of the rows, contiguous */
	int nlat, nreq;
	long *lat_lo, *lat_hi;	/* contiguous inclusive buckets, ascending */
	long *req_lo, *req_hi;
	size_t nrows;
	double *q;		/* nrows * nact values, in file row order */
	int has_visits;		/* whether the last column is "visits" */
	long *visits;		/* updates per row, when has_visits */
	size_t *row_of_state;
	unsigned char *dirty;	/* rows changed since loading */

	/* Where the table was loaded from, so that saving copies clean rows. */
	int src_fd;
	off_t src_hdr_end;
	off_t *src_row_end;
};

/* Flags qs_table_state sets when an observation is outside the table. */
enum {
	QS_CLAMP_POD = 1,
	QS_CLAMP_LATENCY = 2,
	QS_CLAMP_REQUESTS = 4
};

/*
 * A fresh table of zeros in the notebook's layout: replicas pod_min..pod_max
 * as rows and actions, nlat latency buckets of lat_width ms and nreq
 * request buckets of req_width requests.  Returns NULL and fills err when
 * the ranges make no table.
 */
struct qs_table *qs_table_new(long pod_min, long pod_max, long lat_width,
    long nlat, long req_width, long nreq, struct qs_err *err);

/*
 * Load and validate a table from path; NULL and err on failure (EX_NOINPUT
 * when it cannot be opened, EX_DATAERR naming the line when it is invalid).
 */
struct qs_table *qs_table_load(const char *path, struct qs_err *err);

/*
 * As qs_table_load, from a stream (name is used in messages).  Saving such
 * a table writes every row anew.
 */
struct qs_table *qs_table_loadf(FILE *fp, const char *name, struct qs_err *err);

void qs_table_free(struct qs_table *t);

/* Write the whole table as CSV to fp; returns 0, or -1 with errno set. */
int qs_table_write(const struct qs_table *t, FILE *fp);

/*
 * Replace path with the table, crash-safely: a temporary file in the same
 * directory, fsync, rename.  Rows not changed since loading are copied
 * byte for byte from the file the table was loaded from.
 */
int qs_table_save(struct qs_table *t, const char *path, struct qs_err *err);

/*
 * The first half of qs_table_save: the table written and synced to a
 * temporary file that qs_atomic_commit then renames over path, so that a
 * caller can do other work between the two and abandon the save with
 * qs_atomic_abort.
 */
struct qs_atomic;
int qs_table_save_prepare(struct qs_table *t, const char *path,
    struct qs_atomic *a, struct qs_err *err);

/*
 * The state an observation falls into.  Values outside the table go to
 * the edge bucket and set QS_CLAMP_* bits in *clamped.
 */
size_t qs_table_state(const struct qs_table *t, long pod, double latency,
    double requests, int *clamped);

/* Describe a state as "pod 2, latency 501-1000, requests 0-18". */
void qs_table_state_name(const struct qs_table *t, size_t state, char *buf,
    size_t size);

/* The column of an action, or -1 when the table has no such action. */
int qs_table_action(const struct qs_table *t, long action);

/* The values of a state, nact of them. */
double *qs_table_values(const struct qs_table *t, size_t state);

/* The column with the highest value; ties go to the lowest replica count. */
int qs_table_best(const struct qs_table *t, size_t state);

/* Set Q(state, column) and remember that its row changed. */
void qs_table_set(struct qs_table *t, size_t state, int col, double v);

/*
 * As qs_table_load, for a table that is to be replaced: anything but a
 * regular file (a FIFO, a device) is refused with EX_NOINPUT, unread.
 */
struct qs_table *qs_table_load_regular(const char *path, struct qs_err *err);

/*
 * Whether path still names the file t was loaded from, i.e. nobody has
 * renamed a new table over it since: a table loaded before taking its lock
 * is reloaded when this says no.
 */
int qs_table_is_current(const struct qs_table *t, const char *path);

/*
 * The optional visits column: the number of updates each state has had.
 * qs_table_add_visits gives a new table (from qs_table_new, not one
 * loaded from a file, whose clean rows saving copies) the column, zeros;
 * qs_table_visits is a state's count, or -1 when the table has no such
 * column; qs_table_visit counts one more update of a state, when it has.
 */
void qs_table_add_visits(struct qs_table *t);
long qs_table_visits(const struct qs_table *t, size_t s);
void qs_table_visit(struct qs_table *t, size_t s);

#endif
