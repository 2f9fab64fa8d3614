/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>
#include <jansson.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/history.h"
#include "qs/record.h"
#include "qs/xalloc.h"

const char *const qs_history_cols[] = {
	"epoch", "pod", "latency", "requests", "action", "new_latency",
	"new_requests", "reward", "q_value", "random", "time", "new_time",
	"applied", "new_pod", "level", "recommended", NULL
};

/*
 * The offset just after the last newline before end, or 0 when there is
 * none; -1 when reading fails.  It reads backwards a block at a time, since
 * a torn tail can be long and the table is locked meanwhile.
 */
static off_t
last_line_end(int fd, off_t end)
{
	char buf[64 << 10];
	size_t want, i;
	ssize_t n;

	while (end > 0) {
		want = end < (off_t)sizeof(buf) ? (size_t)end : sizeof(buf);
		n = pread(fd, buf, want, end - (off_t)want);
		if (n != (ssize_t)want) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		for (i = want; i > 0; i--)
			if (buf[i - 1] == '\n')
				return end - (off_t)want + (off_t)i;
		end -= (off_t)want;
	}
	return 0;
}

/*
 * Lock the history itself for the whole update, so that writers sharing
 * it append and roll back one at a time.  Returns 0 with st describing
 * the locked file, 1 when the path no longer names it (another writer
 * removed the file it had created: open it again), or -1 with err.
 */
static int
lock_file(struct qs_history *h, double wait, struct stat *st, struct qs_err *err)
{
	struct stat pst;

	if (qs_flock_wait(h->fd, wait) != 0) {
		if (errno == EWOULDBLOCK)
			return qs_err_set(err, EX_TEMPFAIL,
			    "%s is locked by another process", h->path);
		return qs_err_sys(err, EX_IOERR, "cannot lock %s", h->path);
	}
	if (fstat(h->fd, st) != 0)
		return qs_err_sys(err, EX_IOERR, "cannot open %s", h->path);
	if (lstat(h->path, &pst) != 0 || pst.st_dev != st->st_dev ||
	    pst.st_ino != st->st_ino || st->st_nlink == 0)
		return 1;
	return 0;
}

/*
 * A row torn by a crash in the middle of an append has no newline; it is
 * dropped so that the history stays a valid CSV file.
 */
static int
drop_torn_tail(struct qs_history *h, struct qs_err *err)
{
	char c;
	off_t end;

	if (h->size0 == 0 || pread(h->fd, &c, 1, h->size0 - 1) != 1 || c == '\n')
		return 0;
	if ((end = last_line_end(h->fd, h->size0 - 1)) < 0)
		return qs_err_sys(err, EX_IOERR, "cannot read %s", h->path);
	qs_warn("%s: dropping an incomplete last line left by an interrupted write",
	    h->path);
	if (ftruncate(h->fd, end) != 0)
		return qs_err_sys(err, EX_IOERR, "cannot repair %s", h->path);
	h->size0 = end;
	return 0;
}

/*
 * A header qscale does not know (another spelling, another separator) would
 * get rows of empty fields that cannot rebuild the table: the notebook's
 * ten columns must all be there.  Other columns are kept, filled from the
 * records' fields of the same name, as records pass unknown fields on.
 */
static int
check_header(struct qs_history *h, struct qs_err *err)
{
	size_t i;
	int k;

	for (k = 0; k < 10; k++) {
		for (i = 0; i < json_array_size(h->cols); i++)
			if (strcmp(json_string_value(json_array_get(h->cols, i)),
			    qs_history_cols[k]) == 0)
				break;
		if (i == json_array_size(h->cols))
			return qs_err_set(err, EX_DATAERR, "invalid history %s: line 1: "
			    "unrecognised header: no column %s", h->path,
			    qs_history_cols[k]);
	}
	return 0;
}

int
qs_history_open(struct qs_history *h, const char *path, double wait,
    struct qs_err *err)
{
	struct qs_reader *r;
	struct stat st;
	json_t *rec;
	FILE *fp;
	int rc;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->path = xstrdup(path);
again:
	h->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0 && errno != ENOENT) {
		qs_err_sys(err, EX_CANTCREAT, "cannot open %s", path);
		goto fail;
	}
	if (h->fd < 0) {
		/* Create it now, so that a failure shows before anything else. */
		h->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0666);
		if (h->fd < 0 && errno == EEXIST)
			goto again;
		if (h->fd < 0) {
			qs_err_sys(err, EX_CANTCREAT, "cannot create %s", path);
			goto fail;
		}
		h->created = 1;
	}
	if (fstat(h->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		qs_err_set(err, EX_CANTCREAT, "cannot open %s: not a regular file", path);
		goto fail;
	}
	switch (lock_file(h, wait, &st, err)) {
	case 1:
		close(h->fd);
		h->created = 0;
		goto again;
	case -1:
		goto fail;
	}
	if (h->created && st.st_size == 0)
		return 0;
	/* Another writer made it between our creating and locking it. */
	h->created = 0;
	h->size0 = st.st_size;
	if (drop_torn_tail(h, err) != 0)
		goto fail;
	if (h->size0 == 0)
		return 0;
	if ((fp = fdopen(dup(h->fd), "r")) == NULL) {
		qs_err_sys(err, EX_OSERR, "cannot read %s", path);
		goto fail;
	}
	r = qs_reader_new(fp, path);
	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		h->rows++;
		json_decref(rec);
	}
	if (rc == 0 && qs_reader_format(r) != QS_FMT_CSV)
		rc = qs_err_set(err, EX_DATAERR, "invalid history %s: not CSV", path);
	if (rc == 0)
		h->cols = qs_reader_columns(r);
	if (rc == 0)
		rc = check_header(h, err);
	qs_reader_free(r);
	fclose(fp);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	qs_history_close(h);
	return -1;
}

int
qs_history_append(struct qs_history *h, json_t *recs, struct qs_err *err)
{
	char *buf = NULL;
	size_t len = 0, i, c, off;
	ssize_t n;
	FILE *mem;
	json_t *rec, *v;
	int i0;

	if (json_array_size(recs) == 0)
		return 0;
	if (h->cols == NULL) {
		h->cols = json_array();
		rec = json_array_get(recs, 0);
		for (i0 = 0; qs_history_cols[i0] != NULL; i0++) {
			/*
			 * Only what the records say: a notebook replay and
			 * qs-sim train (no time, nothing clamped) keep the
			 * notebook's columns.
			 */
			if ((i0 == 10 || i0 == 11) && !qs_rec_has(rec, "time"))
				continue;
			if (i0 >= 12 && i0 < 14 && !qs_rec_has(rec, "time") &&
			    !qs_rec_has(rec, "applied"))
				continue;
			/* The model learner's ratio base, to learn it again. */
			if (i0 == 14 && !qs_rec_has(rec, "level"))
				continue;
			/* A shadow run's count, to compare with the real one. */
			if (i0 == 15 && !qs_rec_has(rec, "recommended"))
				continue;
			json_array_append_new(h->cols, json_string(qs_history_cols[i0]));
		}
	}
	if ((mem = open_memstream(&buf, &len)) == NULL)
		qs_die(EX_OSERR, "out of memory:");
	if (h->size0 == 0 && h->rows == 0) {
		for (c = 0; c < json_array_size(h->cols); c++) {
			if (c > 0)
				fputc(',', mem);
			fputs(json_string_value(json_array_get(h->cols, c)), mem);
		}
		fputc('\n', mem);
	}
	json_array_foreach(recs, i, rec) {
		for (c = 0; c < json_array_size(h->cols); c++) {
			if (c > 0)
				fputc(',', mem);
			v = json_object_get(rec,
			    json_string_value(json_array_get(h->cols, c)));
			if (v != NULL)
				qs_csv_put_value(mem, v);
		}
		fputc('\n', mem);
	}
	if (fclose(mem) != 0)
		qs_die(EX_OSERR, "out of memory:");
	/* One write keeps rows whole; a short one is finished or undone. */
	for (off = 0; off < len; off += (size_t)n) {
		n = write(h->fd, buf + off, len - off);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			break;
	}
	free(buf);
	if (off < len || fsync(h->fd) != 0) {
		if (off == len)
			errno = errno ? errno : EIO;
		qs_err_sys(err, EX_IOERR, "cannot write %s", h->path);
		qs_history_rollback(h);
		return -1;
	}
	h->rows += (long)json_array_size(recs);
	return 0;
}

void
qs_history_rollback(struct qs_history *h)
{
	int saved = errno;

	if (h->fd < 0)
		return;
	if (h->created) {
		unlink(h->path);
		close(h->fd);
		h->fd = -1;
		h->created = 0;
	} else if (ftruncate(h->fd, h->size0) == 0) {
		fsync(h->fd);
	}
	errno = saved;
}

void
qs_history_close(struct qs_history *h)
{
	if (h->fd >= 0)
		close(h->fd);
	json_decref(h->cols);
	json_decref(h->seen);
	free(h->path);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

/*
 * A transition's identity: when it began, its state then, its action;
 * then what qs_history_seen also reports of a row: the count applied and
 * the Q-value learned.
 */
static const char *const ident_cols[] = {
	"time", "pod", "latency", "requests", "action", "applied", "q_value",
	NULL
};
#define NIDENT 5
#define NROW 7

/*
 * Writers sharing a history append in the order they finish, not in the
 * order of time: so many older rows in a row end the search, not one.
 */
#define OLDER_RUN 64

/* The tail is read backwards in blocks growing up to this size. */
#define TAIL_BLOCK (1 << 20)

/* A history row's identity fields, as libcsv gives them. */
struct row {
	size_t col[NROW];	/* the fields' columns in the history, or -1 */
	json_t *cell[NROW];	/* new references */
	size_t field;
	int bad;
	struct qs_history_match *m;	/* NULL, or what the caller asks */
};

static void
row_field(void *data, size_t len, void *arg)
{
	struct row *rw = arg;
	size_t f = rw->field++, k;

	for (k = 0; k < NROW; k++)
		if (rw->col[k] == f && rw->cell[k] == NULL &&
		    (rw->cell[k] = qs_csv_cell(data ? data : "", len)) == NULL)
			rw->bad = 1;
}

/*
 * The identity written as the history would write its fields, joined by
 * commas, so that 120 and 120.0 are the same; v are borrowed, NULL for
 * missing.  Returns a string to free, or NULL when memory ran out.
 */
static char *
ident_key(json_t *const v[NIDENT])
{
	char *s = NULL;
	size_t len = 0, k;
	FILE *fp;

	if ((fp = open_memstream(&s, &len)) == NULL)
		return NULL;
	for (k = 0; k < NIDENT; k++) {
		if (k > 0)
			fputc(',', fp);
		if (v[k] != NULL)
			qs_csv_put_value(fp, v[k]);
	}
	if (ferror(fp)) {
		fclose(fp);
		free(s);
		return NULL;
	}
	if (fclose(fp) != 0)
		return NULL;
	return s;
}

/* Whether time a is before time b: RFC 3339 strings or numbers. */
static int
older(json_t *a, json_t *b)
{
	if (json_is_string(a) && json_is_string(b))
		return strcmp(json_string_value(a), json_string_value(b)) < 0;
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) < json_number_value(b);
	return 0;
}

/*
 * Parse one line of the history; 1 when it is the transition key, 2 when
 * it is older than time, 0 otherwise (also for a line that is not a row).
 */
static int
match_line(const char *line, size_t len, struct row *rw, size_t ncols,
    const char *key, json_t *time)
{
	struct csv_parser p;
	char *k;
	size_t i;
	int rc = 0;

	for (i = 0; i < NROW; i++)
		rw->cell[i] = NULL;
	rw->field = 0;
	rw->bad = 0;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return -1;
	if (csv_parse(&p, line, len, row_field, NULL, rw) != len ||
	    csv_fini(&p, row_field, NULL, rw) != 0)
		rw->bad = 1;
	csv_free(&p);
	if (!rw->bad && rw->field == ncols) {
		if ((k = ident_key(rw->cell)) == NULL)
			rc = -1;
		else if (strcmp(k, key) == 0)
			rc = 1;
		else if (older(rw->cell[0], time))
			rc = 2;
		free(k);
		if (rw->m != NULL && rc == 1 && json_is_number(rw->cell[6])) {
			rw->m->q = json_number_value(rw->cell[6]);
			rw->m->have_q = 1;
		} else if (rw->m != NULL && rc != 1 && rw->m->same_cell != NULL &&
		    rw->m->same_cell(rw->cell[1], rw->cell[2], rw->cell[3],
		    rw->cell[5] != NULL && !json_is_null(rw->cell[5]) ?
		    rw->cell[5] : rw->cell[4], rw->m->arg))
			rw->m->later = 1;
	}
	for (i = 0; i < NROW; i++)
		json_decref(rw->cell[i]);
	return rc;
}

/* Search the rows the history had when opened, from its end backwards. */
static int
tail_has(struct qs_history *h, const char *key, json_t *time, struct row *rw,
    struct qs_err *err)
{
	off_t pos = h->size0;	/* buf holds the file from pos, end bytes */
	size_t end = 0, cap = 0, bs = 4096, stop, b, n;
	char *buf = NULL, *p;
	int run = 0, rc = 0, m;

	while (rc == 0) {
		stop = end;
		if (stop > 0 && buf[stop - 1] == '\n')
			stop--;
		for (b = stop; b > 0 && buf[b - 1] != '\n'; b--)
			;
		if (b > 0 || (pos == 0 && end > 0)) {
			/* A whole line; the one at offset 0 is the header. */
			if (b == 0)
				break;
			m = stop > b ? match_line(buf + b, stop - b, rw,
			    json_array_size(h->cols), key, time) : 0;
			if (m < 0) {
				errno = ENOMEM;
				rc = qs_err_sys(err, EX_OSERR, "cannot read %s", h->path);
			} else if (m == 1) {
				rc = 1;
			} else if (m == 2 && ++run >= OLDER_RUN) {
				break;
			} else if (m != 2) {
				run = 0;
			}
			end = b;
			continue;
		}
		if (pos == 0 || end > 2 * (size_t)TAIL_BLOCK)
			break;	/* the file's start, or a line no reader takes */
		n = (off_t)bs < pos ? bs : (size_t)pos;
		if (end + n > cap) {
			if ((p = realloc(buf, end + n)) == NULL) {
				errno = ENOMEM;
				rc = qs_err_sys(err, EX_OSERR, "cannot read %s", h->path);
				break;
			}
			buf = p;
			cap = end + n;
		}
		memmove(buf + n, buf, end);
		if (pread(h->fd, buf, n, pos - (off_t)n) != (ssize_t)n) {
			rc = qs_err_sys(err, EX_IOERR, "cannot read %s", h->path);
			break;
		}
		pos -= (off_t)n;
		end += n;
		if (bs < TAIL_BLOCK)
			bs *= 2;
	}
	free(buf);
	return rc;
}

int
qs_history_seen(struct qs_history *h, json_t *rec,
    struct qs_history_match *m, struct qs_err *err)
{
	json_t *v[NIDENT];
	struct row rw;
	const char *name;
	char *key;
	size_t k, c;
	int rc = 0, have;

	for (k = 0; k < NIDENT; k++)
		v[k] = json_object_get(rec, ident_cols[k]);
	if (m != NULL)
		m->have_q = m->later = 0;
	rw.m = m;
	if (!qs_rec_has(rec, "time"))
		return 0;
	if ((key = ident_key(v)) == NULL) {
		errno = ENOMEM;
		return qs_err_sys(err, EX_OSERR, "cannot read %s", h->path);
	}
	if (h->seen == NULL)
		h->seen = json_object();
	if (json_object_get(h->seen, key) != NULL) {
		free(key);
		return 1;
	}
	/* A history without these columns cannot tell; so it is not there. */
	have = h->cols != NULL;
	for (k = 0; have && k < NIDENT; k++) {
		rw.col[k] = (size_t)-1;
		for (c = 0; c < json_array_size(h->cols); c++) {
			name = json_string_value(json_array_get(h->cols, c));
			if (name != NULL && strcmp(name, ident_cols[k]) == 0)
				rw.col[k] = c;
		}
		have = rw.col[k] != (size_t)-1;
	}
	for (k = NIDENT; have && k < NROW; k++) {
		rw.col[k] = (size_t)-1;
		for (c = 0; c < json_array_size(h->cols); c++) {
			name = json_string_value(json_array_get(h->cols, c));
			if (name != NULL && strcmp(name, ident_cols[k]) == 0)
				rw.col[k] = c;
		}
	}
	if (have)
		rc = tail_has(h, key, v[0], &rw, err);
	if (rc == 0 && json_object_set_new(h->seen, key, json_true()) != 0) {
		errno = ENOMEM;
		rc = qs_err_sys(err, EX_OSERR, "cannot read %s", h->path);
	}
	free(key);
	return rc;
}

json_t *
qs_history_rows(struct qs_history *h, long from, struct qs_err *err)
{
	struct qs_reader *r;
	json_t *rows, *rec;
	FILE *fp;
	long i = 0;
	int rc;

	rows = json_array();
	if (h->size0 == 0 || from >= h->rows)
		return rows;
	if ((fp = fdopen(dup(h->fd), "r")) == NULL || fseek(fp, 0,
	    SEEK_SET) != 0) {
		if (fp != NULL)
			fclose(fp);
		json_decref(rows);
		qs_err_sys(err, EX_OSERR, "cannot read %s", h->path);
		return NULL;
	}
	r = qs_reader_new(fp, h->path);
	while ((rc = qs_reader_next(r, &rec, err)) == 1) {
		/* Only the rows the file had when opened: not this run's. */
		if (i >= h->rows) {
			json_decref(rec);
			break;
		}
		if (i++ < from) {
			json_decref(rec);
			continue;
		}
		if (json_array_append_new(rows, rec) != 0)
			qs_die(EX_OSERR, "out of memory");
	}
	qs_reader_free(r);
	fclose(fp);
	if (rc < 0) {
		json_decref(rows);
		return NULL;
	}
	return rows;
}
