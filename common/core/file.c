/* See LICENSE file for copyright and license details. */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/record.h"
#include "qs/xalloc.h"

static char *
dir_of(const char *path)
{
	char *copy = xstrdup(path), *d;

	d = xstrdup(dirname(copy));
	free(copy);
	return d;
}

/*
 * Whether name is a temporary file qs_atomic_open makes for base:
 * ".base." and the six characters mkstemp chose.
 */
static int
is_tmp_of(const char *name, const char *base)
{
	size_t n = strlen(base), i;

	if (name[0] != '.' || strncmp(name + 1, base, n) != 0 ||
	    name[n + 1] != '.' || strlen(name + n + 2) != 6)
		return 0;
	for (i = n + 2; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]))
			return 0;
	return 1;
}

/*
 * Remove temporary files of path left by writers that were killed.  A live
 * writer holds a lock on its temporary file from mkstemp to rename, so a
 * file that can be locked has no writer; the age test covers the instant
 * between mkstemp and flock.  Only regular files of ours are touched.
 */
static void
clean_stale(const char *dir, const char *base)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dfd, fd;

	if ((d = opendir(dir)) == NULL)
		return;
	dfd = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		if (!is_tmp_of(e->d_name, base))
			continue;
		fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == geteuid() &&
		    st.st_mtime + QS_STALE_AGE < time(NULL) &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(dfd, e->d_name, 0);
		close(fd);
	}
	closedir(d);
}

int
qs_atomic_open(struct qs_atomic *a, const char *path, struct qs_err *err)
{
	struct stat st;
	char *dir, *base, *copy;
	size_t n;
	mode_t mask;
	int fd;

	memset(a, 0, sizeof(*a));
	dir = dir_of(path);
	copy = xstrdup(path);
	base = basename(copy);
	clean_stale(dir, base);
	n = strlen(dir) + strlen(base) + 16;
	a->tmp = xmalloc(n);
	snprintf(a->tmp, n, "%s/.%s.XXXXXX", dir, base);
	free(dir);
	free(copy);
	if ((fd = mkstemp(a->tmp)) < 0) {
		qs_err_sys(err, EX_CANTCREAT, "cannot create a temporary file for %s", path);
		free(a->tmp);
		a->tmp = NULL;
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Held until the rename or the abort: see clean_stale. */
	flock(fd, LOCK_EX | LOCK_NB);
	/* mkstemp makes 0600; keep the old file's mode, or honour the umask. */
	if (stat(path, &st) == 0) {
		fchmod(fd, st.st_mode & 07777);
	} else {
		mask = umask(0);
		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	if ((a->fp = fdopen(fd, "w")) == NULL) {
		qs_err_sys(err, EX_OSERR, "cannot open %s", a->tmp);
		close(fd);
		qs_atomic_abort(a);
		return -1;
	}
	setvbuf(a->fp, NULL, _IOFBF, 1 << 20);
	a->path = xstrdup(path);
	return 0;
}

int
qs_atomic_sync(struct qs_atomic *a, struct qs_err *err)
{
	if (a->fp == NULL || a->synced)
		return 0;
	if (fflush(a->fp) != 0 || ferror(a->fp) || fsync(fileno(a->fp)) != 0) {
		qs_err_sys(err, EX_IOERR, "cannot write %s", a->path);
		qs_atomic_abort(a);
		return -1;
	}
	a->synced = 1;
	return 0;
}

int
qs_atomic_commit(struct qs_atomic *a, struct qs_err *err)
{
	char *dir;
	int dfd;

	if (qs_atomic_sync(a, err) != 0)
		return -1;
	if (rename(a->tmp, a->path) != 0) {
		qs_err_sys(err, EX_CANTCREAT, "cannot replace %s", a->path);
		qs_atomic_abort(a);
		return -1;
	}
	/* Everything was flushed and synced: closing cannot lose data. */
	fclose(a->fp);
	a->fp = NULL;
	dir = dir_of(a->path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	free(a->tmp);
	free(a->path);
	a->tmp = a->path = NULL;
	return 0;
}

void
qs_atomic_abort(struct qs_atomic *a)
{
	int saved = errno;

	/* Unlink first, while the lock still marks the file as ours. */
	if (a->tmp)
		unlink(a->tmp);
	if (a->fp)
		fclose(a->fp);
	free(a->tmp);
	free(a->path);
	a->fp = NULL;
	a->tmp = a->path = NULL;
	a->synced = 0;
	errno = saved;
}

char *
qs_file_beside(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *s = xmalloc(n);

	snprintf(s, n, "%s%s", path, suffix);
	return s;
}

int
qs_lock(const char *path, double wait, struct qs_err *err)
{
	char *lpath = qs_file_beside(path, ".lock");
	int fd;

	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0) {
		qs_err_sys(err, EX_CANTCREAT, "cannot open lock %s", lpath);
		free(lpath);
		return -1;
	}
	if (qs_flock_wait(fd, wait) == 0) {
		free(lpath);
		return fd;
	}
	if (errno != EWOULDBLOCK)
		qs_err_sys(err, EX_IOERR, "cannot lock %s", lpath);
	else
		qs_err_set(err, EX_TEMPFAIL, "%s is locked by another process", path);
	close(fd);
	free(lpath);
	return -1;
}

void
qs_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
qs_file_regular(const char *path, int status, struct qs_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return qs_err_sys(err, status, "cannot open %s", path);
	}
	if (!S_ISREG(st.st_mode))
		return qs_err_set(err, status, "cannot open %s: not a regular file",
		    path);
	return 0;
}

int
qs_flock_wait(int fd, double wait)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	double waited = 0;

	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (waited >= wait) {
			errno = EWOULDBLOCK;
			return -1;
		}
		nanosleep(&ts, NULL);
		waited += 0.05;
	}
}

int
qs_file_lines(const char *path, size_t max, const char *what,
    const char *shape, const char *(*fn)(char *line, void *arg), void *arg,
    struct qs_err *err)
{
	const char *bad;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	long line = 0;
	FILE *fp;
	int rc = 0;

	/* A FIFO would block the reader: refuse it before opening. */
	if (qs_file_regular(path, EX_NOINPUT, err) != 0)
		return -1;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
	}
	while ((n = qs_getline(&buf, &cap, fp, max)) > 0) {
		line++;
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if ((size_t)n > max || (bad = fn(buf, arg)) != NULL) {
			rc = qs_err_set(err, EX_DATAERR, "invalid %s %s: line %ld: "
			    "%s", what, path, line, (size_t)n > max ? shape : bad);
			break;
		}
	}
	if (rc == 0 && n < 0)
		rc = qs_err_sys(err, ferror(fp) ? EX_IOERR : EX_OSERR,
		    "cannot read %s", path);
	free(buf);
	fclose(fp);
	return rc;
}
