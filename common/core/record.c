/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "qs/err.h"
#include "qs/num.h"
#include "qs/record.h"
#include "qs/time.h"
#include "qs/xalloc.h"

#define MAX_LINE (1L << 20)

struct qs_reader {
	FILE *fp;
	const char *name;
	enum qs_format fmt;
	long line;
	char *buf;
	size_t cap;
	int eof;

	/* CSV state. */
	struct csv_parser csv;
	int csv_init;
	char **hdr;
	size_t nhdr;		/* 0 until the header row is complete */
	size_t nhdr_read;	/* names read into hdr so far */
	json_t *row;		/* the record being filled */
	size_t row_bytes;	/* read since the record began */
	size_t field;
	int row_done;
	int bad;		/* a field was wrong: 1 NUL, 2 too many, 3 UTF-8 */
};

struct qs_writer {
	FILE *fp;
	enum qs_format fmt;
	json_t *cols;		/* CSV: the header's keys, as an array */
	int flush;		/* flush after each record (--unbuffered) */
};

static int unbuffered;

int
qs_format_parse(const char *s, enum qs_format *fmt)
{
	if (strcmp(s, "json") == 0)
		*fmt = QS_FMT_JSON;
	else if (strcmp(s, "csv") == 0)
		*fmt = QS_FMT_CSV;
	else if (strcmp(s, "auto") == 0)
		*fmt = QS_FMT_AUTO;
	else
		return -1;
	return 0;
}

struct qs_reader *
qs_reader_new(FILE *fp, const char *name)
{
	struct qs_reader *r = xcalloc(1, sizeof(*r));

	r->fp = fp;
	r->name = name;
	return r;
}

void
qs_reader_free(struct qs_reader *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->csv_init)
		csv_free(&r->csv);
	for (i = 0; i < r->nhdr_read; i++)
		free(r->hdr[i]);
	free(r->hdr);
	json_decref(r->row);
	free(r->buf);
	free(r);
}

enum qs_format
qs_reader_format(const struct qs_reader *r)
{
	return r->fmt;
}

json_t *
qs_reader_columns(const struct qs_reader *r)
{
	json_t *a;
	size_t i;

	if (r->nhdr == 0)
		return NULL;
	a = json_array();
	for (i = 0; i < r->nhdr; i++)
		json_array_append_new(a, json_string(r->hdr[i]));
	return a;
}

long
qs_reader_line(const struct qs_reader *r)
{
	return r->line;
}

json_t *
qs_csv_cell(const char *s, size_t len)
{
	long v;
	double d;

	if (len == 0)
		return json_null();
	if (qs_num_parse_long(s, -LONG_MAX, LONG_MAX, &v) == 0)
		return json_integer(v);
	if (qs_num_parse(s, &d) == 0)
		return json_real(d);
	if (strcmp(s, "True") == 0 || strcmp(s, "true") == 0)
		return json_true();
	if (strcmp(s, "False") == 0 || strcmp(s, "false") == 0)
		return json_false();
	return json_stringn(s, len);
}

static void
field_cb(void *data, size_t len, void *arg)
{
	struct qs_reader *r = arg;
	const char *s = data ? data : "";
	size_t f = r->field++;
	json_t *v;

	if (r->bad)
		return;
	if (strlen(s) != len) {
		r->bad = 1;
		return;
	}
	if (r->nhdr == 0) {
		/* The header row: its names become JSON keys. */
		if ((v = json_stringn(s, len)) == NULL) {
			r->bad = 3;
			return;
		}
		json_decref(v);
		r->hdr = xreallocarray(r->hdr, f + 1, sizeof(char *));
		r->hdr[f] = xstrdup(s);
		r->nhdr_read = f + 1;
		return;
	}
	if (f >= r->nhdr) {
		r->bad = 2;
		return;
	}
	/* JSON strings must be UTF-8: anything else is bad data. */
	if ((v = qs_csv_cell(s, len)) == NULL) {
		r->bad = 3;
		return;
	}
	if (json_object_set_new(r->row, r->hdr[f], v) != 0)
		qs_die(EX_OSERR, "out of memory");
}

static void
row_cb(int c, void *arg)
{
	struct qs_reader *r = arg;

	(void)c;
	r->row_done = 1;
}

static int
bad_line(struct qs_reader *r, struct qs_err *err, const char *why)
{
	return qs_err_set(err, EX_DATAERR, "invalid record in %s: line %ld: %s",
	    r->name, r->line, why);
}

/* Read one line into r->buf; returns its length, 0 at EOF, -1 on error. */
static ssize_t
next_line(struct qs_reader *r, struct qs_err *err)
{
	ssize_t n;

	if (r->eof)
		return 0;
	n = qs_getline(&r->buf, &r->cap, r->fp, MAX_LINE);
	if (n <= 0) {
		r->eof = 1;
		if (n < 0 && ferror(r->fp))
			return qs_err_sys(err, EX_IOERR, "cannot read %s", r->name);
		if (n < 0)
			return qs_err_sys(err, EX_OSERR, "cannot read %s", r->name);
		return 0;
	}
	r->line++;
	if (n > MAX_LINE)
		return bad_line(r, err, "line longer than 1 MiB");
	return n;
}

static int
check_header(struct qs_reader *r, struct qs_err *err)
{
	size_t i, j;
	char why[160];

	r->nhdr = r->field;
	for (i = 0; i < r->nhdr; i++) {
		if (r->hdr[i][0] == '\0')
			return bad_line(r, err, "empty column name in the header");
		for (j = 0; j < i; j++)
			if (strcmp(r->hdr[i], r->hdr[j]) == 0) {
				snprintf(why, sizeof(why),
				    "column %.64s appears twice in the header",
				    r->hdr[i]);
				return bad_line(r, err, why);
			}
	}
	return 0;
}

/* Feed lines to libcsv until one row is complete. */
static int
csv_next(struct qs_reader *r, json_t **rec, struct qs_err *err)
{
	ssize_t n;
	char why[160];

	for (;;) {
		if (r->nhdr > 0 && r->row == NULL)
			r->row = json_object();
		r->row_done = 0;
		n = next_line(r, err);
		if (n < 0)
			return -1;
		/* A stream that starts with a BOM is read as CSV: name it. */
		if (r->line == 1 && n >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
			return bad_line(r, err, "starts with a UTF-8 byte order mark");
		if (n == 0) {
			if (csv_fini(&r->csv, field_cb, row_cb, r) != 0)
				return bad_line(r, err, csv_strerror(csv_error(&r->csv)));
		} else if ((r->row_bytes += (size_t)n) > MAX_LINE) {
			/* A quoted field can span lines: bound the record too. */
			return bad_line(r, err, "record longer than 1 MiB");
		} else if (csv_parse(&r->csv, r->buf, (size_t)n, field_cb, row_cb, r) !=
		    (size_t)n) {
			return bad_line(r, err, csv_strerror(csv_error(&r->csv)));
		}
		if (r->bad == 1)
			return bad_line(r, err, "a field holds a NUL byte");
		if (r->bad == 3)
			return bad_line(r, err, "a field is not valid UTF-8");
		if (r->bad == 2 || (r->row_done && r->nhdr > 0 && r->field != r->nhdr)) {
			snprintf(why, sizeof(why), "expected %zu fields, found %zu",
			    r->nhdr, r->field);
			return bad_line(r, err, why);
		}
		if (r->row_done) {
			r->row_bytes = 0;
			if (r->nhdr == 0) {
				if (check_header(r, err) != 0)
					return -1;
				r->field = 0;
				continue;
			}
			r->field = 0;
			*rec = r->row;
			r->row = NULL;
			return 1;
		}
		if (n == 0)
			return 0;
	}
}

static int
json_next(struct qs_reader *r, json_t **rec, struct qs_err *err)
{
	json_error_t jerr;
	json_t *v;
	ssize_t n;
	size_t i;
	char why[256];

	for (;;) {
		if ((n = next_line(r, err)) <= 0)
			return (int)n;
		for (i = 0; i < (size_t)n && strchr(" \t\r\n", r->buf[i]); i++)
			;
		if (i == (size_t)n)
			continue;
		v = json_loadb(r->buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
		if (v == NULL && json_error_code(&jerr) == json_error_out_of_memory) {
			errno = ENOMEM;
			return qs_err_sys(err, EX_OSERR, "cannot read %s", r->name);
		}
		if (v == NULL) {
			snprintf(why, sizeof(why), "%s", jerr.text);
			return bad_line(r, err, why);
		}
		if (!json_is_object(v)) {
			json_decref(v);
			return bad_line(r, err, "not a JSON object");
		}
		*rec = v;
		return 1;
	}
}

int
qs_reader_next(struct qs_reader *r, json_t **rec, struct qs_err *err)
{
	int c;

	*rec = NULL;
	if (r->fmt == QS_FMT_AUTO) {
		/* Skip blank space to find the first byte that tells. */
		while ((c = getc(r->fp)) == ' ' || c == '\t' || c == '\r' || c == '\n')
			if (c == '\n')
				r->line++;
		if (c == EOF) {
			if (ferror(r->fp))
				return qs_err_sys(err, EX_IOERR, "cannot read %s", r->name);
			return 0;
		}
		ungetc(c, r->fp);
		r->fmt = c == '{' || c == '[' ? QS_FMT_JSON : QS_FMT_CSV;
		if (r->fmt == QS_FMT_CSV) {
			if (csv_init(&r->csv, CSV_STRICT | CSV_STRICT_FINI |
			    CSV_APPEND_NULL) != 0)
				qs_die(EX_OSERR, "out of memory");
			/* libcsv grows a field by this much at a time. */
			csv_set_blk_size(&r->csv, 64 << 10);
			r->csv_init = 1;
		}
	}
	if (r->fmt == QS_FMT_JSON)
		return json_next(r, rec, err);
	return csv_next(r, rec, err);
}

struct qs_writer *
qs_writer_new(FILE *fp, enum qs_format fmt)
{
	struct qs_writer *w = xcalloc(1, sizeof(*w));

	w->fp = fp;
	w->fmt = fmt == QS_FMT_AUTO ? QS_FMT_JSON : fmt;
	w->flush = unbuffered;
	return w;
}

void
qs_writer_free(struct qs_writer *w)
{
	if (w == NULL)
		return;
	json_decref(w->cols);
	free(w);
}

static int
put_quoted(FILE *fp, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ' &&
	    (s[0] == '\0' || s[strlen(s) - 1] != ' '))
		return fputs(s, fp) == EOF ? -1 : 0;
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	return fputc('"', fp) == EOF ? -1 : 0;
}

int
qs_csv_put_value(FILE *fp, json_t *v)
{
	char buf[QS_NUM_MAX];
	char *s;
	int rc;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
		return fprintf(fp, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0 ? -1 : 0;
	case JSON_REAL:
		qs_num_format(buf, json_real_value(v));
		return fputs(buf, fp) == EOF ? -1 : 0;
	case JSON_TRUE:
		return fputs("True", fp) == EOF ? -1 : 0;
	case JSON_FALSE:
		return fputs("False", fp) == EOF ? -1 : 0;
	case JSON_STRING:
		return put_quoted(fp, json_string_value(v));
	case JSON_NULL:
		return 0;
	default:
		if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
			return -1;
		rc = put_quoted(fp, s);
		free(s);
		return rc;
	}
}

int
qs_csv_put_header(FILE *fp, json_t *rec)
{
	const char *key;
	json_t *v;
	int first = 1;

	json_object_foreach(rec, key, v) {
		if (!first)
			fputc(',', fp);
		first = 0;
		put_quoted(fp, key);
	}
	return fputc('\n', fp) == EOF ? -1 : 0;
}

int
qs_writer_put(struct qs_writer *w, json_t *rec, struct qs_err *err)
{
	const char *key;
	json_t *v;
	size_t i;

	if (w->fmt == QS_FMT_JSON) {
		if (qs_json_put(w->fp, rec) != 0 ||
		    fputc('\n', w->fp) == EOF ||
		    (w->flush && fflush(w->fp) != 0))
			return qs_err_sys(err, EX_IOERR, "cannot write standard output");
		return 0;
	}
	if (w->cols == NULL) {
		w->cols = json_array();
		json_object_foreach(rec, key, v)
			json_array_append_new(w->cols, json_string(key));
		qs_csv_put_header(w->fp, rec);
	}
	for (i = 0; i < json_array_size(w->cols); i++) {
		if (i > 0)
			fputc(',', w->fp);
		v = json_object_get(rec, json_string_value(json_array_get(w->cols, i)));
		if (v != NULL)
			qs_csv_put_value(w->fp, v);
	}
	if (fputc('\n', w->fp) == EOF || (w->flush && fflush(w->fp) != 0) ||
	    ferror(w->fp))
		return qs_err_sys(err, EX_IOERR, "cannot write standard output");
	return 0;
}

int
qs_rec_has(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return v != NULL && !json_is_null(v);
}

int
qs_rec_double(json_t *rec, const char *key, double min, double max,
    double *out, struct qs_err *err)
{
	json_t *v = json_object_get(rec, key);
	double d;

	if (v == NULL || json_is_null(v))
		return qs_err_set(err, EX_DATAERR, "field %s is missing", key);
	if (!json_is_number(v))
		return qs_err_set(err, EX_DATAERR, "field %s is not a number", key);
	d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max)
		return qs_err_set(err, EX_DATAERR, "field %s is out of range: %g",
		    key, d);
	*out = d;
	return 0;
}

int
qs_rec_long(json_t *rec, const char *key, long min, long max, long *out,
    struct qs_err *err)
{
	json_t *v = json_object_get(rec, key);
	double d;

	if (v == NULL || json_is_null(v))
		return qs_err_set(err, EX_DATAERR, "field %s is missing", key);
	if (json_is_integer(v)) {
		if (json_integer_value(v) < min || json_integer_value(v) > max)
			return qs_err_set(err, EX_DATAERR,
			    "field %s is out of range: %" JSON_INTEGER_FORMAT,
			    key, json_integer_value(v));
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return qs_err_set(err, EX_DATAERR, "field %s is not an integer", key);
	d = json_real_value(v);
	if (d != floor(d))
		return qs_err_set(err, EX_DATAERR, "field %s is not an integer: %g",
		    key, d);
	if (d < (double)min || d > (double)max)
		return qs_err_set(err, EX_DATAERR, "field %s is out of range: %g",
		    key, d);
	*out = (long)d;
	return 0;
}

int
qs_rec_bool(json_t *rec, const char *key, int *out, struct qs_err *err)
{
	json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v))
		return qs_err_set(err, EX_DATAERR, "field %s is missing", key);
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v) && (json_integer_value(v) == 0 ||
	    json_integer_value(v) == 1)) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	return qs_err_set(err, EX_DATAERR, "field %s is not a boolean", key);
}

int
qs_rec_obs(json_t *rec, const char *prefix, long defpod, struct qs_obs *o,
    struct qs_err *err)
{
	char pod[32], lat[32], req[32];

	snprintf(pod, sizeof(pod), "%spod", prefix);
	snprintf(lat, sizeof(lat), "%slatency", prefix);
	snprintf(req, sizeof(req), "%srequests", prefix);
	o->pod = defpod;
	if ((defpod < 0 || qs_rec_has(rec, pod)) &&
	    qs_rec_long(rec, pod, 0, QS_POD_MAX, &o->pod, err) != 0)
		return -1;
	if (qs_rec_double(rec, lat, 0, QS_LATENCY_MAX, &o->latency, err) != 0 ||
	    qs_rec_double(rec, req, 0, QS_REQUESTS_MAX, &o->requests, err) != 0)
		return -1;
	return 0;
}

void
qs_rec_set(json_t *rec, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(rec, key, v) != 0)
		qs_die(EX_OSERR, "out of memory");
}

int
qs_records_filter(FILE *in, const char *name, FILE *out, enum qs_format fmt,
    int (*fn)(json_t *rec, long line, void *arg, struct qs_err *err),
    void *arg, struct qs_err *err)
{
	struct qs_reader *r = qs_reader_new(in, name);
	struct qs_writer *w = NULL;
	json_t *rec;
	int rc;

	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		if (fn(rec, qs_reader_line(r), arg, err) != 0) {
			if (err->status == EX_DATAERR)
				qs_err_wrap(err, "invalid record in %s: line %ld",
				    name, qs_reader_line(r));
			rc = -1;
		} else {
			if (w == NULL)
				w = qs_writer_new(out, fmt != QS_FMT_AUTO ? fmt :
				    qs_reader_format(r));
			rc = qs_writer_put(w, rec, err);
		}
		json_decref(rec);
		if (rc != 0)
			break;
	}
	qs_reader_free(r);
	qs_writer_free(w);
	return rc < 0 ? -1 : 0;
}

/* An integral figure as an integer, so that records show no ".0". */
static json_t *
figure(double v)
{
	if (v == floor(v) && fabs(v) <= 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

void
qs_rec_obs_set(json_t *rec, const char *prefix, const struct qs_obs *o)
{
	char key[32];

	snprintf(key, sizeof(key), "%spod", prefix);
	qs_rec_set(rec, key, json_integer(o->pod));
	snprintf(key, sizeof(key), "%slatency", prefix);
	qs_rec_set(rec, key, figure(o->latency));
	snprintf(key, sizeof(key), "%srequests", prefix);
	qs_rec_set(rec, key, figure(o->requests));
}

ssize_t
qs_getline(char **buf, size_t *cap, FILE *fp, size_t max)
{
	size_t n = 0, want;
	char *p;
	int c = 0;

	flockfile(fp);
	for (;;) {
		/* Room for one more byte and the NUL, never beyond max + 2. */
		if (n + 2 > *cap) {
			want = *cap < 128 ? 256 : *cap * 2;
			if (want > max + 2)
				want = max + 2;
			if ((p = realloc(*buf, want)) == NULL) {
				funlockfile(fp);
				errno = ENOMEM;
				return -1;
			}
			*buf = p;
			*cap = want;
		}
		if ((c = getc_unlocked(fp)) == EOF)
			break;
		(*buf)[n++] = (char)c;
		if (c == '\n' || n > max)
			break;
	}
	funlockfile(fp);
	(*buf)[n] = '\0';
	if (c == EOF && ferror(fp))
		return -1;
	return (ssize_t)n;
}

int
qs_rec_applied(json_t *rec, long *out, struct qs_err *err)
{
	return qs_rec_long(rec, qs_rec_has(rec, "applied") ? "applied" : "action",
	    0, QS_POD_MAX, out, err);
}

void
qs_records_set_unbuffered(int on)
{
	unbuffered = on != 0;
}

int
qs_records_unbuffered(void)
{
	return unbuffered;
}

int
qs_rec_time(json_t *rec, const char *key, double *out, struct qs_err *err)
{
	json_t *v = json_object_get(rec, key);

	if (v == NULL || json_is_null(v))
		return qs_err_set(err, EX_DATAERR, "field %s is missing", key);
	/* Records hold RFC 3339 times, not the bare seconds a user may type. */
	if (!json_is_string(v) || strchr(json_string_value(v), 'T') == NULL ||
	    qs_time_parse(json_string_value(v), out) != 0)
		return qs_err_set(err, EX_DATAERR, "field %s is not an RFC 3339 "
		    "time such as 2026-12-01T09:00:00Z", key);
	return 0;
}

int
qs_rec_obs_time(json_t *rec, double *t, struct qs_err *err)
{
	json_t *v = json_object_get(rec, "time");

	if (v == NULL || json_is_null(v))
		return qs_err_set(err, EX_DATAERR, "no time");
	if (json_is_number(v) && json_number_value(v) >= 0 &&
	    json_number_value(v) <= QS_TIME_NUM_MAX) {
		*t = json_number_value(v);
		return 0;
	}
	if (json_is_string(v) && qs_time_parse(json_string_value(v), t) == 0)
		return 0;
	return qs_err_set(err, EX_DATAERR, "time is not RFC 3339 or seconds "
	    "since the epoch");
}

void
qs_obs_series_free(struct qs_obs_series *s)
{
	free(s->t);
	free(s->req);
	free(s->lat);
	free(s->pod);
}

int
qs_obs_series_read(FILE *fp, const char *path, struct qs_obs_series *s,
    struct qs_err *err)
{
	struct qs_reader *r;
	struct qs_obs o;
	json_t *rec;
	double t;
	int rc;

	memset(s, 0, sizeof(*s));
	r = qs_reader_new(fp, path);
	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		rc = qs_rec_obs_time(rec, &t, err);
		if (rc == 0)
			rc = qs_rec_obs(rec, "", -1, &o, err);
		json_decref(rec);
		if (rc == 0 && s->n > 0 && !(t > s->t[s->n - 1]))
			rc = qs_err_set(err, EX_DATAERR, "its time is not after "
			    "the previous row's");
		if (rc != 0) {
			qs_err_wrap(err, "invalid observations %s: line %ld", path,
			    qs_reader_line(r));
			rc = -1;
			break;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 1024;
			s->t = xreallocarray(s->t, s->cap, sizeof(double));
			s->req = xreallocarray(s->req, s->cap, sizeof(double));
			s->lat = xreallocarray(s->lat, s->cap, sizeof(double));
			s->pod = xreallocarray(s->pod, s->cap, sizeof(long));
		}
		s->t[s->n] = t;
		s->req[s->n] = o.requests;
		s->lat[s->n] = o.latency;
		s->pod[s->n] = o.pod;
		s->n++;
	}
	qs_reader_free(r);
	if (rc != 0) {
		qs_obs_series_free(s);
		return -1;
	}
	return 0;
}

int
qs_obs_settled(const double *t, const long *pod, size_t i, double window)
{
	size_t j;

	for (j = i; j-- > 0 && t[j] > t[i] - window;)
		if (pod[j] != pod[i])
			return 0;
	return 1;
}

int
qs_json_put(FILE *fp, json_t *v)
{
	char buf[QS_NUM_MAX];
	const char *key;
	json_t *m, *k;
	size_t i;
	int rc;

	/*
	 * jansson writes reals with 17 digits and integral ones with ".0";
	 * records write them as CSV does, so only the containers and reals
	 * are ours, and jansson still encodes every string and key.
	 */
	switch (json_typeof(v)) {
	case JSON_REAL:
		qs_num_format(buf, json_real_value(v));
		return fputs(buf, fp) == EOF ? -1 : 0;
	case JSON_OBJECT:
		fputc('{', fp);
		i = 0;
		json_object_foreach(v, key, m) {
			if (i++ > 0)
				fputc(',', fp);
			if ((k = json_string(key)) == NULL)
				return -1;
			rc = json_dumpf(k, fp, JSON_ENCODE_ANY);
			json_decref(k);
			if (rc != 0 || fputc(':', fp) == EOF || qs_json_put(fp, m) != 0)
				return -1;
		}
		return fputc('}', fp) == EOF ? -1 : 0;
	case JSON_ARRAY:
		fputc('[', fp);
		json_array_foreach(v, i, m) {
			if ((i > 0 && fputc(',', fp) == EOF) || qs_json_put(fp, m) != 0)
				return -1;
		}
		return fputc(']', fp) == EOF ? -1 : 0;
	default:
		return json_dumpf(v, fp, JSON_ENCODE_ANY | JSON_COMPACT) != 0 ? -1 : 0;
	}
}
