/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/history.h"
#include "qs/record.h"
#include "qs/xalloc.h"

const char *const qs_history_cols[] = {
	"epoch", "pod", "latency", "requests", "action", "new_latency",
	"new_requests", "reward", "q_value", "random", "time", "new_time", NULL
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
qs_history_open(struct qs_history *h, const char *path, struct qs_err *err)
{
	struct qs_reader *r;
	struct stat st;
	json_t *rec;
	FILE *fp;
	int rc;

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->path = xstrdup(path);
	h->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (h->fd < 0 && errno != ENOENT) {
		qs_err_sys(err, EX_CANTCREAT, "cannot open %s", path);
		goto fail;
	}
	if (h->fd < 0) {
		/* Create it now, so that a failure shows before anything else. */
		h->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0666);
		if (h->fd < 0) {
			qs_err_sys(err, EX_CANTCREAT, "cannot create %s", path);
			goto fail;
		}
		h->created = 1;
		return 0;
	}
	if (fstat(h->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		qs_err_set(err, EX_CANTCREAT, "cannot open %s: not a regular file", path);
		goto fail;
	}
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
			if (i0 >= 10 && !qs_rec_has(rec, "time"))
				break;
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
	free(h->path);
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}
