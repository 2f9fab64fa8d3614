/* See LICENSE file for copyright and license details. */
#ifndef QS_RECORD_H
#define QS_RECORD_H

#include <sys/types.h>

#include <stdio.h>

#include <jansson.h>

#include "qs/err.h"

/*
 * Records are JSON objects, one per line, or rows of a CSV file with a
 * header; the reader tells them apart by the first byte.  CSV cells become
 * JSON integers, reals, booleans (True/False/true/false), null (empty) or
 * strings, so that tools see the same record whichever way it came.
 */
enum qs_format {
	QS_FMT_AUTO,
	QS_FMT_JSON,
	QS_FMT_CSV
};

struct qs_reader;
struct qs_writer;

/* Parse "json", "csv" or "auto"; returns -1 for anything else. */
int qs_format_parse(const char *s, enum qs_format *fmt);

/* Read records from fp; name is used in messages ("<stdin>"). */
struct qs_reader *qs_reader_new(FILE *fp, const char *name);
void qs_reader_free(struct qs_reader *r);

/*
 * Read the next record.  Returns 1 and stores a new reference in *rec
 * (the caller must json_decref it), 0 at the end of the input, or -1 with
 * err (EX_DATAERR naming the line, EX_IOERR).
 */
int qs_reader_next(struct qs_reader *r, json_t **rec, struct qs_err *err);

/* The format of the input, once the first byte was read. */
enum qs_format qs_reader_format(const struct qs_reader *r);

/* A CSV input's header as an array of strings (new reference), or NULL. */
json_t *qs_reader_columns(const struct qs_reader *r);

/* The line the last record ended on. */
long qs_reader_line(const struct qs_reader *r);

/*
 * Write records to fp in fmt.  A CSV writer takes its header from the first
 * record and writes later records in those columns.
 */
struct qs_writer *qs_writer_new(FILE *fp, enum qs_format fmt);
void qs_writer_free(struct qs_writer *w);

/* Write rec (borrowed).  Returns 0, or -1 with err on a write error. */
int qs_writer_put(struct qs_writer *w, json_t *rec, struct qs_err *err);

/* Write one CSV cell for v (borrowed) to fp, quoted when needed. */
int qs_csv_put_value(FILE *fp, json_t *v);

/* Write a CSV header row of the keys of rec (borrowed). */
int qs_csv_put_header(FILE *fp, json_t *rec);

/*
 * Field accessors for a record (borrowed).  Each returns 0, or -1 with
 * err (EX_DATAERR) when the field is missing or of the wrong type or range.
 * An integer field accepts a JSON integer or an integral real.
 */
int qs_rec_long(json_t *rec, const char *key, long min, long max, long *out,
    struct qs_err *err);
int qs_rec_double(json_t *rec, const char *key, double min, double max,
    double *out, struct qs_err *err);
int qs_rec_bool(json_t *rec, const char *key, int *out, struct qs_err *err);

/* The ranges of the observed fields: beyond them a record is malformed. */
#define QS_POD_MAX 1000000000L
/*
 * The most seconds a record's numeric time can be: in milliseconds, less
 * a level window, it still fits a long long (1e300 overflowed).
 */
#define QS_TIME_NUM_MAX 9e15
#define QS_LATENCY_MAX 1e12
#define QS_REQUESTS_MAX 1e15

/* An observed state: replicas, latency in ms, requests in the window. */
struct qs_obs {
	long pod;
	double latency, requests;
};

/*
 * Read prefix + "pod", "latency" and "requests" of rec (borrowed), as
 * qs-observe writes them ("" for the state before, "new_" for the one
 * after).  When defpod >= 0 the pod field may be missing and defaults to
 * it.  Returns 0, or -1 with err (EX_DATAERR).
 */
int qs_rec_obs(json_t *rec, const char *prefix, long defpod, struct qs_obs *o,
    struct qs_err *err);

/* Whether rec (borrowed) has key with a non-null value. */
int qs_rec_has(json_t *rec, const char *key);

/* Set a field; v is stolen (json_object_set_new semantics). */
void qs_rec_set(json_t *rec, const char *key, json_t *v);

/*
 * The loop of a filter: read records from in, call fn on each to add its
 * fields (rec is borrowed; line is the record's line), and write each to
 * out as soon as fn returns, in fmt (QS_FMT_AUTO: the input's format).
 * A failure of fn with EX_DATAERR is reported against the record's line,
 * "invalid record in NAME: line N: ...".  Returns 0, or -1 with err.
 */
int qs_records_filter(FILE *in, const char *name, FILE *out,
    enum qs_format fmt, int (*fn)(json_t *rec, long line, void *arg,
    struct qs_err *err), void *arg, struct qs_err *err);

/*
 * Convert one CSV cell to a JSON value; returns a new reference, or NULL
 * when the cell is a string that is not valid UTF-8.
 */
json_t *qs_csv_cell(const char *s, size_t len);

/*
 * The writing counterpart of qs_rec_obs: set prefix + "pod", "latency"
 * and "requests" of rec (borrowed) from o, in that order, as qs-observe
 * writes them; integral figures become JSON integers.
 */
void qs_rec_obs_set(json_t *rec, const char *prefix, const struct qs_obs *o);

/*
 * getline(3) that reads at most max + 1 bytes: returns the line's length
 * with its newline (max + 1 for a line longer than max, which the caller
 * refuses), 0 at the end of the input, or -1 on a read error (ferror(fp))
 * or when memory runs out (errno ENOMEM), never mistaken for the end.
 * *buf and *cap are as getline's.
 */
ssize_t qs_getline(char **buf, size_t *cap, FILE *fp, size_t max);

/*
 * The replica count a transition's record (borrowed) applied: its
 * applied field (qs-scale's, after the guards) when it has one, else
 * its action, as in records and histories from before qs-scale wrote
 * it.  Returns 0, or -1 with err (EX_DATAERR).
 */
int qs_rec_applied(json_t *rec, long *out, struct qs_err *err);

/*
 * Whether every writer flushes its stream after each record it writes,
 * as the tools' --unbuffered asks, so that a tool answers each record at
 * once when it runs as a co-process.  Off by default: output then goes
 * out in blocks, which is faster for long inputs.  It is the process's
 * setting, taken by each writer when it is made.
 */
void qs_records_set_unbuffered(int on);
int qs_records_unbuffered(void);

/*
 * The time field key of rec (borrowed) in seconds since the epoch.
 * Returns 0, or -1 with err (EX_DATAERR) when it is missing or malformed.
 */
int qs_rec_time(json_t *rec, const char *key, double *out, struct qs_err *err);

/*
 * The time of an observation record rec (borrowed), for fitting: RFC 3339
 * or seconds since the epoch, as qs-observe --range and qs-sim eval
 * --record write it.  Returns 0, or -1 with err (EX_DATAERR).
 */
int qs_rec_obs_time(json_t *rec, double *t, struct qs_err *err);

/*
 * An observation series, for fitting: the records of a file in time
 * order, as qs-observe --range and qs-sim eval --record write them.
 */
struct qs_obs_series {
	double *t, *req, *lat;	/* time (s), requests, latency (ms) */
	long *pod;		/* ready replicas */
	size_t n, cap;
};

/*
 * Read every record of fp (named path in messages) into a new series s,
 * each with time, pod, latency and requests, times rising.  Returns 0,
 * or -1 with err (EX_DATAERR naming the line) and s empty.
 */
int qs_obs_series_read(FILE *fp, const char *path, struct qs_obs_series *s,
    struct qs_err *err);
void qs_obs_series_free(struct qs_obs_series *s);

/*
 * Whether observation i of a series (times t, ascending, and ready
 * replicas pod) is settled: no other replica count was observed in the
 * window before it.  A mean latency over the window that began under
 * other replicas belongs to neither count, so a fit leaves it out.
 */
int qs_obs_settled(const double *t, const long *pod, size_t i,
    double window);

/*
 * Write v (borrowed) to fp as compact JSON, its reals as CSV writes them:
 * the shortest decimal that reads back to the same double, and an
 * integral one as an integer.  Returns 0, or -1 on a write error.
 */
int qs_json_put(FILE *fp, json_t *v);

#endif
