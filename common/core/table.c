/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/num.h"
#include "qs/record.h"
#include "qs/table.h"
#include "qs/xalloc.h"

#define NKEYS 5
#define MAX_LINE (16L << 20)
#define MAX_KEY 1000000000L

static const char *keynames[NKEYS] = {
	"pod", "initial_latency", "end_latency", "initial_request", "end_request"
};

struct interval {
	long lo, hi;
	size_t row;
};

/* What the libcsv callbacks build while a table loads. */
struct loader {
	const char *path;
	struct qs_err *err;
	int failed;
	long line;
	size_t field;		/* field number within the current row */
	size_t row;		/* rows seen, the header being row 0 */
	struct qs_table *t;
	size_t cap;
	long *keys;		/* NKEYS per data row */
	long *lines;		/* the line of each data row */
	long hdr_acts;
	off_t size;		/* of the file, to size the arrays once */
	size_t linelen;		/* of the line being parsed */
};

static int
fail(struct loader *ld, const char *fmt, const char *a, const char *b)
{
	char what[256];

	if (ld->failed)
		return -1;
	snprintf(what, sizeof(what), fmt, a, b);
	ld->failed = 1;
	return qs_err_set(ld->err, EX_DATAERR, "invalid table %s: line %ld: %s",
	    ld->path, ld->line, what);
}

static void
grow(struct loader *ld)
{
	struct qs_table *t = ld->t;
	size_t n = ld->cap ? ld->cap * 2 : 64, most;

	/*
	 * Rows tend to be the same length: guess the count from the first,
	 * but never beyond what the file could hold (a row has at least one
	 * byte and a separator per field), so that a short first row cannot
	 * make a huge allocation.
	 */
	if (ld->cap == 0 && ld->linelen > 0 && ld->size > 0) {
		n = (size_t)(ld->size / (off_t)ld->linelen) + 64;
		most = (size_t)ld->size / (2 * (NKEYS + (size_t)t->nact)) + 1;
		if (n > most)
			n = most;
	}

	t->q = xreallocarray(t->q, n, (size_t)t->nact * sizeof(double));
	ld->keys = xreallocarray(ld->keys, n, NKEYS * sizeof(long));
	ld->lines = xreallocarray(ld->lines, n, sizeof(long));
	if (t->has_visits)
		t->visits = xreallocarray(t->visits, n, sizeof(long));
	t->src_row_end = xreallocarray(t->src_row_end, n, sizeof(off_t));
	ld->cap = n;
}

static void
header_field(struct loader *ld, size_t f, const char *s)
{
	struct qs_table *t = ld->t;
	long a;

	if (f < NKEYS) {
		if (strcmp(s, keynames[f]) != 0)
			fail(ld, "column %s should be %s", s, keynames[f]);
		return;
	}
	if (t->has_visits) {
		fail(ld, "column %s follows the visits column%s", s, "");
		return;
	}
	/* The optional last column: how many updates each state has had. */
	if (strcmp(s, "visits") == 0 && t->nact > 0) {
		t->has_visits = 1;
		return;
	}
	if (qs_num_parse_long(s, 0, MAX_KEY, &a) != 0) {
		fail(ld, "action column %s is not a replica count%s", s, "");
		return;
	}
	if (t->nact > 0 && a <= t->act[t->nact - 1]) {
		fail(ld, "action column %s is not above the one before it%s", s, "");
		return;
	}
	t->act = xreallocarray(t->act, (size_t)t->nact + 1, sizeof(long));
	t->act[t->nact++] = a;
}

static void
field_cb(void *data, size_t len, void *arg)
{
	struct loader *ld = arg;
	struct qs_table *t = ld->t;
	const char *s = data ? data : "";
	size_t r, f = ld->field++;
	double v;

	if (ld->failed)
		return;
	/* Values are checked byte by byte below; the rest must hold no NUL. */
	if ((ld->row == 0 || f < NKEYS) && strlen(s) != len) {
		fail(ld, "field %s holds a NUL byte%s", "", "");
		return;
	}
	if (ld->row == 0) {
		header_field(ld, f, s);
		return;
	}
	if (f >= NKEYS + (size_t)t->nact + (size_t)t->has_visits) {
		char n[32];

		snprintf(n, sizeof(n), "%d", NKEYS + t->nact + t->has_visits);
		fail(ld, "more than %s fields%s", n, "");
		return;
	}
	r = ld->row - 1;
	if (r >= ld->cap)
		grow(ld);
	if (f < NKEYS) {
		if (qs_num_parse_long(s, 0, MAX_KEY, &ld->keys[r * NKEYS + f]) != 0)
			fail(ld, "%s \"%.40s\" is not a non-negative integer",
			    keynames[f], s);
		return;
	}
	if (f == NKEYS + (size_t)t->nact) {
		if (strlen(s) != len || qs_num_parse_long(s, 0, LONG_MAX,
		    &t->visits[r]) != 0)
			fail(ld, "visits \"%.40s\" is not a non-negative "
			    "integer%s", s, "");
		return;
	}
	if (qs_num_parsen(s, len, &v) != 0) {
		char a[32];

		snprintf(a, sizeof(a), "%ld", t->act[f - NKEYS]);
		fail(ld, "value \"%.40s\" for action %s is not a finite number",
		    s, a);
		return;
	}
	t->q[r * (size_t)t->nact + (f - NKEYS)] = v;
}

static void
row_cb(int c, void *arg)
{
	struct loader *ld = arg;
	size_t want = NKEYS + (size_t)ld->t->nact + (size_t)ld->t->has_visits;
	char a[32], b[32];

	(void)c;
	if (ld->failed)
		return;
	if (ld->row == 0 && ld->t->nact == 0) {
		fail(ld, "the header names no action columns%s%s", "", "");
		return;
	}
	if (ld->row > 0 && ld->field != want) {
		snprintf(a, sizeof(a), "%zu", want);
		snprintf(b, sizeof(b), "%zu", ld->field);
		fail(ld, "expected %s fields, found %s", a, b);
		return;
	}
	if (ld->row > 0)
		ld->lines[ld->row - 1] = ld->line;
	ld->row++;
	ld->field = 0;
}

static int
cmp_interval(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/*
 * Collect the distinct intervals of key columns k and k+1, check that they
 * tile a range of integers, and store them in *lo, *hi.
 */
static int
buckets(struct loader *ld, int k, const char *what, long **lo, long **hi, int *n)
{
	size_t i, m = 0, nrows = ld->t->nrows;
	struct interval *iv = xcalloc(nrows, sizeof(*iv));
	int rc = 0;

	for (i = 0; i < nrows; i++) {
		iv[i].lo = ld->keys[i * NKEYS + k];
		iv[i].hi = ld->keys[i * NKEYS + k + 1];
		iv[i].row = i;
		if (iv[i].lo > iv[i].hi) {
			ld->line = ld->lines[i];
			rc = fail(ld, "%s interval starts after it ends%s", what, "");
			goto out;
		}
	}
	qsort(iv, nrows, sizeof(*iv), cmp_interval);
	for (i = 0; i < nrows; i++) {
		if (m > 0 && iv[i].lo == iv[m - 1].lo && iv[i].hi == iv[m - 1].hi)
			continue;
		if (m > 0 && iv[i].lo != iv[m - 1].hi + 1) {
			char msg[96];

			ld->line = ld->lines[iv[i].row];
			snprintf(msg, sizeof(msg), "%ld-%ld %s %ld-%ld",
			    iv[i].lo, iv[i].hi,
			    iv[i].lo <= iv[m - 1].hi ? "overlaps" : "leaves a gap after",
			    iv[m - 1].lo, iv[m - 1].hi);
			rc = fail(ld, "%s interval %s", what, msg);
			goto out;
		}
		iv[m++] = iv[i];
	}
	*lo = xcalloc(m, sizeof(long));
	*hi = xcalloc(m, sizeof(long));
	for (i = 0; i < m; i++) {
		(*lo)[i] = iv[i].lo;
		(*hi)[i] = iv[i].hi;
	}
	*n = (int)m;
out:
	free(iv);
	return rc;
}

static size_t
find_bucket(const long *lo, const long *hi, int n, double x, int *clamped, int bit)
{
	int a = 0, b = n - 1, m;

	if (x < (double)lo[0]) {
		*clamped |= bit;
		return 0;
	}
	if (x > (double)hi[n - 1]) {
		*clamped |= bit;
		return (size_t)n - 1;
	}
	/* The first bucket whose end is at or above x. */
	while (a < b) {
		m = a + (b - a) / 2;
		if ((double)hi[m] >= x)
			b = m;
		else
			a = m + 1;
	}
	return (size_t)a;
}

/* A row's place in the grid, for sorting. */
struct cell {
	long pod;
	size_t l, r, row;
};

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	if (x->pod != y->pod)
		return x->pod < y->pod ? -1 : 1;
	if (x->l != y->l)
		return x->l < y->l ? -1 : 1;
	if (x->r != y->r)
		return x->r < y->r ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * Check that the rows form a complete grid and index them by state.  The
 * rows are sorted by cell rather than counted in an array of every state,
 * since a few rows can span a grid of billions of states (replicas 0 and
 * 1000000000): a missing cell must be an error, not a huge allocation.
 */
static int
check_grid(struct loader *ld, struct cell *c)
{
	struct qs_table *t = ld->t;
	size_t i, dup = SIZE_MAX, l = 0, r = 0;
	long pod = t->pod_min;
	char prev[32];

	/* Duplicates are reported at the earliest row that repeats a state. */
	for (i = 1; i < t->nrows; i++)
		if (c[i].pod == c[i - 1].pod && c[i].l == c[i - 1].l &&
		    c[i].r == c[i - 1].r && (i < 2 || c[i - 1].pod != c[i - 2].pod ||
		    c[i - 1].l != c[i - 2].l || c[i - 1].r != c[i - 2].r) &&
		    (dup == SIZE_MAX || c[i].row < c[dup].row))
			dup = i;
	if (dup != SIZE_MAX) {
		ld->line = ld->lines[c[dup].row];
		snprintf(prev, sizeof(prev), "%ld", ld->lines[c[dup - 1].row]);
		return fail(ld, "the same state as line %s%s", prev, "");
	}
	/* Walk the grid in order beside the sorted rows: the first cell
	 * that differs is missing. */
	for (i = 0; i <= t->nrows; i++) {
		if (i == t->nrows && pod > t->pod_max)
			return 0;
		if (i == t->nrows || c[i].pod != pod || c[i].l != l || c[i].r != r) {
			ld->failed = 1;
			return qs_err_set(ld->err, EX_DATAERR,
			    "invalid table %s: no row for pod %ld, latency %ld-%ld, "
			    "requests %ld-%ld", ld->path, pod, t->lat_lo[l],
			    t->lat_hi[l], t->req_lo[r], t->req_hi[r]);
		}
		if (++r == (size_t)t->nreq) {
			r = 0;
			if (++l == (size_t)t->nlat) {
				l = 0;
				pod++;
			}
		}
	}
	return 0;
}

static int
index_rows(struct loader *ld)
{
	struct qs_table *t = ld->t;
	struct cell *c;
	size_t i, s;
	long pmin = LONG_MAX, pmax = -1, *k;
	int clamped = 0, rc;

	if (t->nrows == 0) {
		ld->line = 1;
		return fail(ld, "the table has no rows%s%s", "", "");
	}
	for (i = 0; i < t->nrows; i++) {
		k = &ld->keys[i * NKEYS];
		if (k[0] < pmin)
			pmin = k[0];
		if (k[0] > pmax)
			pmax = k[0];
	}
	t->pod_min = pmin;
	t->pod_max = pmax;
	if (buckets(ld, 1, "latency", &t->lat_lo, &t->lat_hi, &t->nlat) != 0 ||
	    buckets(ld, 3, "request", &t->req_lo, &t->req_hi, &t->nreq) != 0)
		return -1;
	c = xcalloc(t->nrows, sizeof(*c));
	for (i = 0; i < t->nrows; i++) {
		k = &ld->keys[i * NKEYS];
		c[i].pod = k[0];
		c[i].l = find_bucket(t->lat_lo, t->lat_hi, t->nlat, (double)k[1],
		    &clamped, QS_CLAMP_LATENCY);
		c[i].r = find_bucket(t->req_lo, t->req_hi, t->nreq, (double)k[3],
		    &clamped, QS_CLAMP_REQUESTS);
		c[i].row = i;
	}
	qsort(c, t->nrows, sizeof(*c), cmp_cell);
	rc = check_grid(ld, c);
	if (rc == 0) {
		/* A complete grid without duplicates: a state per row. */
		t->row_of_state = xcalloc(t->nrows, sizeof(size_t));
		for (s = 0; s < t->nrows; s++)
			t->row_of_state[s] = c[s].row;
	}
	free(c);
	return rc;
}

/*
 * Refuse what libcsv would read differently from getline.  libcsv ends a
 * row at a lone CR, so a line could hold several rows and the offsets that
 * saving copies by would be wrong: only LF and CRLF end lines.  A byte
 * order mark is named, since it would otherwise show as an invisible part
 * of the first column's name.
 */
static int
check_line(struct loader *ld, const char *line, size_t len)
{
	const char *cr = memchr(line, '\r', len);

	if (ld->line == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		return fail(ld, "the file starts with a UTF-8 byte order mark%s%s",
		    "", "");
	if (cr != NULL && (cr != line + len - 2 || line[len - 1] != '\n'))
		return fail(ld, "a carriage return not followed by a line feed "
		    "(lines end in LF or CRLF)%s%s", "", "");
	return 0;
}

/*
 * Parse a table from fp.  src_fd, when not -1, is the file fp reads, kept
 * so that saving can copy clean rows; the table owns it from here on.
 */
static struct qs_table *
load_stream(FILE *fp, const char *path, off_t size, int src_fd,
    struct qs_err *err)
{
	struct csv_parser p;
	struct loader ld;
	struct qs_table *t;
	char *line = NULL;
	size_t cap = 0, before;
	ssize_t len = 0, rowlen = 0;
	size_t rowstart = 0;
	off_t off = 0;

	t = xcalloc(1, sizeof(*t));
	t->src_fd = src_fd;
	memset(&ld, 0, sizeof(ld));
	ld.size = size;
	ld.path = path;
	ld.err = err;
	ld.t = t;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		qs_die(EX_OSERR, "out of memory");
	/* libcsv grows a field by this much at a time. */
	csv_set_blk_size(&p, 64 << 10);
	while (!ld.failed && (len = qs_getline(&line, &cap, fp, MAX_LINE)) > 0) {
		ld.line++;
		/* A quoted field can span lines: bound the row too. */
		rowlen = ld.row == rowstart ? rowlen + len : len;
		rowstart = ld.row;
		if (len > MAX_LINE || rowlen > MAX_LINE) {
			fail(&ld, "line longer than %s%s", "16 MiB", "");
			break;
		}
		if (check_line(&ld, line, (size_t)len) != 0)
			break;
		before = ld.row;
		ld.linelen = (size_t)len;
		if (csv_parse(&p, line, (size_t)len, field_cb, row_cb, &ld) != (size_t)len &&
		    !ld.failed)
			fail(&ld, "%s%s", csv_strerror(csv_error(&p)), "");
		off += len;
		if (ld.row == 1 && before == 0)
			t->src_hdr_end = off;
		else if (ld.row > before && ld.row > 1)
			t->src_row_end[ld.row - 2] = off;
	}
	if (!ld.failed && ferror(fp))
		qs_err_sys(err, EX_IOERR, "cannot read %s", path), ld.failed = 1;
	if (!ld.failed && len < 0)
		qs_err_sys(err, EX_OSERR, "cannot read %s", path), ld.failed = 1;
	before = ld.row;
	if (!ld.failed && csv_fini(&p, field_cb, row_cb, &ld) != 0 && !ld.failed)
		fail(&ld, "%s%s", csv_strerror(csv_error(&p)), "");
	if (!ld.failed && ld.row > before && ld.row > 1)
		t->src_row_end[ld.row - 2] = off;
	if (!ld.failed && ld.row == 0) {
		ld.line = 1;
		fail(&ld, "the file is empty%s%s", "", "");
	}
	csv_free(&p);
	free(line);
	if (!ld.failed) {
		t->nrows = ld.row - 1;
		if (ld.row == 1)
			t->src_hdr_end = off;
		index_rows(&ld);
	}
	free(ld.keys);
	free(ld.lines);
	if (ld.failed) {
		qs_table_free(t);
		return NULL;
	}
	t->dirty = xcalloc(t->nrows, 1);
	return t;
}

/*
 * Load path; when regular, refuse anything but a regular file.  It is
 * opened without blocking, so that a FIFO nobody writes to cannot hang
 * the caller (possibly while it holds a lock).
 */
static struct qs_table *
load_path(const char *path, int regular, struct qs_err *err)
{
	struct qs_table *t;
	struct stat st;
	FILE *fp;
	int fd, fl;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0) {
		qs_err_sys(err, EX_IOERR, "cannot open %s", path);
		close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		qs_err_set(err, EX_NOINPUT, "cannot open %s: Is a directory", path);
		return NULL;
	}
	if (regular && !S_ISREG(st.st_mode)) {
		close(fd);
		qs_err_set(err, EX_NOINPUT, "cannot open %s: not a regular file", path);
		return NULL;
	}
	/* Reading a pipe waits for its writer, as before. */
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		qs_err_sys(err, EX_IOERR, "cannot open %s", path);
		close(fd);
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		qs_err_sys(err, EX_OSERR, "cannot open %s", path);
		close(fd);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 20);
	/* A pipe (--table <(...)) loads, but cannot be copied from later. */
	if (S_ISREG(st.st_mode))
		t = load_stream(fp, path, st.st_size, dup(fd), err);
	else
		t = load_stream(fp, path, 0, -1, err);
	fclose(fp);
	return t;
}

struct qs_table *
qs_table_load(const char *path, struct qs_err *err)
{
	return load_path(path, 0, err);
}

struct qs_table *
qs_table_loadf(FILE *fp, const char *name, struct qs_err *err)
{
	return load_stream(fp, name, 0, -1, err);
}

struct qs_table *
qs_table_new(long pod_min, long pod_max, long lat_width, long nlat,
    long req_width, long nreq, struct qs_err *err)
{
	struct qs_table *t;
	size_t s, i = 0;
	long p, l, r;

	if (pod_min < 0 || pod_max < pod_min || pod_max - pod_min >= 10000)
		return qs_err_set(err, EX_USAGE, "invalid replica range %ld-%ld",
		    pod_min, pod_max), NULL;
	if (lat_width < 1 || nlat < 1 || nlat > 100000 ||
	    lat_width > MAX_KEY / nlat)
		return qs_err_set(err, EX_USAGE, "invalid latency buckets: %ld of %ld ms",
		    nlat, lat_width), NULL;
	if (req_width < 1 || nreq < 1 || nreq > 100000 ||
	    req_width > MAX_KEY / nreq)
		return qs_err_set(err, EX_USAGE, "invalid request buckets: %ld of %ld",
		    nreq, req_width), NULL;
	if ((double)(pod_max - pod_min + 1) * (double)(pod_max - pod_min + 1) *
	    (double)nlat * (double)nreq > 1e9)
		return qs_err_set(err, EX_USAGE, "a table that size would not fit in memory"), NULL;
	t = xcalloc(1, sizeof(*t));
	t->src_fd = -1;
	t->pod_min = pod_min;
	t->pod_max = pod_max;
	t->nact = (int)(pod_max - pod_min + 1);
	t->act = xcalloc((size_t)t->nact, sizeof(long));
	for (p = pod_min; p <= pod_max; p++)
		t->act[p - pod_min] = p;
	t->nlat = (int)nlat;
	t->nreq = (int)nreq;
	t->lat_lo = xcalloc((size_t)nlat, sizeof(long));
	t->lat_hi = xcalloc((size_t)nlat, sizeof(long));
	t->req_lo = xcalloc((size_t)nreq, sizeof(long));
	t->req_hi = xcalloc((size_t)nreq, sizeof(long));
	/* The notebook's buckets: (0, w), (w + 1, 2w), (2w + 1, 3w), ... */
	for (l = 0; l < nlat; l++) {
		t->lat_lo[l] = l ? l * lat_width + 1 : 0;
		t->lat_hi[l] = (l + 1) * lat_width;
	}
	for (r = 0; r < nreq; r++) {
		t->req_lo[r] = r ? r * req_width + 1 : 0;
		t->req_hi[r] = (r + 1) * req_width;
	}
	t->nrows = (size_t)t->nact * (size_t)nlat * (size_t)nreq;
	t->q = xcalloc(t->nrows * (size_t)t->nact, sizeof(double));
	t->row_of_state = xcalloc(t->nrows, sizeof(size_t));
	t->dirty = xcalloc(t->nrows, 1);
	/* The notebook's row order: requests, then latency, then replicas. */
	for (r = 0; r < nreq; r++)
		for (l = 0; l < nlat; l++)
			for (p = 0; p < t->nact; p++) {
				s = ((size_t)p * (size_t)nlat + (size_t)l) *
				    (size_t)nreq + (size_t)r;
				t->row_of_state[s] = i++;
			}
	return t;
}

void
qs_table_free(struct qs_table *t)
{
	if (t == NULL)
		return;
	if (t->src_fd >= 0)
		close(t->src_fd);
	free(t->act);
	free(t->lat_lo);
	free(t->lat_hi);
	free(t->req_lo);
	free(t->req_hi);
	free(t->q);
	free(t->visits);
	free(t->row_of_state);
	free(t->dirty);
	free(t->src_row_end);
	free(t);
}

static void
state_keys(const struct qs_table *t, size_t s, long *pod, int *l, int *r)
{
	*r = (int)(s % (size_t)t->nreq);
	s /= (size_t)t->nreq;
	*l = (int)(s % (size_t)t->nlat);
	*pod = t->pod_min + (long)(s / (size_t)t->nlat);
}

static int
write_header(const struct qs_table *t, FILE *fp)
{
	int i;

	fputs("pod,initial_latency,end_latency,initial_request,end_request", fp);
	for (i = 0; i < t->nact; i++)
		fprintf(fp, ",%ld", t->act[i]);
	if (t->has_visits)
		fputs(",visits", fp);
	return fputc('\n', fp) == EOF ? -1 : 0;
}

static int
write_row(const struct qs_table *t, size_t row, size_t s, const char *eol,
    FILE *fp)
{
	char buf[QS_NUM_MAX];
	const double *v = &t->q[row * (size_t)t->nact];
	long pod;
	int i, l, r;

	state_keys(t, s, &pod, &l, &r);
	fprintf(fp, "%ld,%ld,%ld,%ld,%ld", pod, t->lat_lo[l], t->lat_hi[l],
	    t->req_lo[r], t->req_hi[r]);
	for (i = 0; i < t->nact; i++) {
		buf[0] = ',';
		qs_num_format(buf + 1, v[i]);
		fputs(buf, fp);
	}
	if (t->has_visits)
		fprintf(fp, ",%ld", t->visits[row]);
	return fputs(eol, fp) == EOF ? -1 : 0;
}

/* The inverse of row_of_state, built when rows are written. */
static size_t *
states_by_row(const struct qs_table *t)
{
	size_t *sr = xcalloc(t->nrows, sizeof(size_t)), s;

	for (s = 0; s < t->nrows; s++)
		sr[t->row_of_state[s]] = s;
	return sr;
}

int
qs_table_write(const struct qs_table *t, FILE *fp)
{
	size_t *sr = states_by_row(t), i;
	int rc = write_header(t, fp);

	for (i = 0; i < t->nrows && rc == 0; i++)
		rc = write_row(t, i, sr[i], "\n", fp);
	free(sr);
	return rc;
}

/* Copy bytes [from, to) of the source file to fp. */
static int
copy_range(int fd, off_t from, off_t to, FILE *fp, char *buf, size_t size)
{
	ssize_t n;
	size_t want;

	while (from < to) {
		want = (size_t)(to - from) < size ? (size_t)(to - from) : size;
		n = pread(fd, buf, want, from);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		if (fwrite(buf, 1, (size_t)n, fp) != (size_t)n)
			return -1;
		from += n;
	}
	return 0;
}

/* The line end of a row in the source file, so that a CRLF file keeps CRLF. */
static const char *
row_eol(const struct qs_table *t, size_t row)
{
	char end[2];

	if (t->src_row_end[row] >= 2 &&
	    pread(t->src_fd, end, 2, t->src_row_end[row] - 2) == 2 &&
	    end[0] == '\r' && end[1] == '\n')
		return "\r\n";
	return "\n";
}

static int
write_from_source(const struct qs_table *t, FILE *fp)
{
	size_t bufsize = 1 << 20, i, *sr = NULL;
	char *buf = xmalloc(bufsize);
	off_t start = 0, end;
	int rc = 0;

	/* Runs of clean rows are copied in one go. */
	for (i = 0; i < t->nrows && rc == 0; i++) {
		if (!t->dirty[i])
			continue;
		end = i ? t->src_row_end[i - 1] : t->src_hdr_end;
		rc = copy_range(t->src_fd, start, end, fp, buf, bufsize);
		if (rc == 0) {
			if (sr == NULL)
				sr = states_by_row(t);
			rc = write_row(t, i, sr[i], row_eol(t, i), fp);
		}
		start = t->src_row_end[i];
	}
	if (rc == 0)
		rc = copy_range(t->src_fd, start, t->nrows ?
		    t->src_row_end[t->nrows - 1] : t->src_hdr_end, fp, buf, bufsize);
	free(sr);
	free(buf);
	return rc;
}

int
qs_table_save_prepare(struct qs_table *t, const char *path, struct qs_atomic *a,
    struct qs_err *err)
{
	int rc;

	if (qs_atomic_open(a, path, err) != 0)
		return -1;
	if (t->src_fd >= 0)
		rc = write_from_source(t, a->fp);
	else
		rc = qs_table_write(t, a->fp);
	if (rc != 0) {
		qs_err_sys(err, EX_IOERR, "cannot write %s", path);
		qs_atomic_abort(a);
		return -1;
	}
	return qs_atomic_sync(a, err);
}

int
qs_table_save(struct qs_table *t, const char *path, struct qs_err *err)
{
	struct qs_atomic a;

	if (qs_table_save_prepare(t, path, &a, err) != 0)
		return -1;
	return qs_atomic_commit(&a, err);
}

size_t
qs_table_state(const struct qs_table *t, long pod, double latency,
    double requests, int *clamped)
{
	size_t p, l, r;

	if (pod < t->pod_min) {
		*clamped |= QS_CLAMP_POD;
		pod = t->pod_min;
	} else if (pod > t->pod_max) {
		*clamped |= QS_CLAMP_POD;
		pod = t->pod_max;
	}
	p = (size_t)(pod - t->pod_min);
	l = find_bucket(t->lat_lo, t->lat_hi, t->nlat, latency, clamped,
	    QS_CLAMP_LATENCY);
	r = find_bucket(t->req_lo, t->req_hi, t->nreq, requests, clamped,
	    QS_CLAMP_REQUESTS);
	return (p * (size_t)t->nlat + l) * (size_t)t->nreq + r;
}

void
qs_table_state_name(const struct qs_table *t, size_t s, char *buf, size_t size)
{
	long pod;
	int l, r;

	state_keys(t, s, &pod, &l, &r);
	snprintf(buf, size, "pod %ld, latency %ld-%ld, requests %ld-%ld", pod,
	    t->lat_lo[l], t->lat_hi[l], t->req_lo[r], t->req_hi[r]);
}

int
qs_table_action(const struct qs_table *t, long action)
{
	int a = 0, b = t->nact - 1, m;

	while (a <= b) {
		m = a + (b - a) / 2;
		if (t->act[m] == action)
			return m;
		if (t->act[m] < action)
			a = m + 1;
		else
			b = m - 1;
	}
	return -1;
}

double *
qs_table_values(const struct qs_table *t, size_t s)
{
	return &t->q[t->row_of_state[s] * (size_t)t->nact];
}

int
qs_table_best(const struct qs_table *t, size_t s)
{
	const double *v = qs_table_values(t, s);
	int i, best = 0;

	for (i = 1; i < t->nact; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

void
qs_table_set(struct qs_table *t, size_t s, int col, double v)
{
	size_t row = t->row_of_state[s];

	t->q[row * (size_t)t->nact + (size_t)col] = v;
	t->dirty[row] = 1;
}

struct qs_table *
qs_table_load_regular(const char *path, struct qs_err *err)
{
	return load_path(path, 1, err);
}

int
qs_table_is_current(const struct qs_table *t, const char *path)
{
	struct stat a, b;

	/* The open file keeps its inode from being reused: equal means same. */
	return t->src_fd >= 0 && fstat(t->src_fd, &a) == 0 &&
	    stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void
qs_table_add_visits(struct qs_table *t)
{
	if (t->has_visits)
		return;
	t->visits = xcalloc(t->nrows ? t->nrows : 1, sizeof(long));
	t->has_visits = 1;
}

long
qs_table_visits(const struct qs_table *t, size_t s)
{
	return t->has_visits ? t->visits[t->row_of_state[s]] : -1;
}

void
qs_table_visit(struct qs_table *t, size_t s)
{
	size_t row = t->row_of_state[s];

	if (!t->has_visits)
		return;
	if (t->visits[row] < LONG_MAX)
		t->visits[row]++;
	t->dirty[row] = 1;
}
