/* See LICENSE file for copyright and license details. */
#ifndef QS_FILE_H
#define QS_FILE_H

#include <stdio.h>

#include "qs/err.h"

/*
 * Crash-safe replacement of a file: write to a temporary file made with
 * mkstemp in the target's directory, then qs_atomic_commit flushes,
 * fsyncs, renames it over the target and fsyncs the directory.  A reader
 * sees the old file or the new one; a killed writer leaves at most a
 * stray temporary file (.NAME.XXXXXX), never a damaged target.
 *
 * The writer holds a flock(2) on its temporary file until the rename, so
 * qs_atomic_open can tell stray files from live ones: it removes the
 * target's temporary files that are unlocked, older than QS_STALE_AGE
 * seconds and owned by the caller.
 */
#define QS_STALE_AGE 60

struct qs_atomic {
	char *path;
	char *tmp;
	FILE *fp;
	int synced;
};

int qs_atomic_open(struct qs_atomic *a, const char *path, struct qs_err *err);
/* Flush and fsync the temporary file, without renaming it yet. */
int qs_atomic_sync(struct qs_atomic *a, struct qs_err *err);
int qs_atomic_commit(struct qs_atomic *a, struct qs_err *err);
void qs_atomic_abort(struct qs_atomic *a);

/*
 * The name of the file beside path that suffix marks (path.lock,
 * TABLE.meta, TABLE.model), in a new string.
 */
char *qs_file_beside(const char *path, const char *suffix);

/*
 * Take an exclusive lock on path.lock, waiting up to wait seconds (0: do
 * not wait).  Returns the lock's descriptor, or -1 with err: EX_TEMPFAIL
 * when another process holds it.
 */
int qs_lock(const char *path, double wait, struct qs_err *err);
void qs_unlock(int fd);

/*
 * Refuse path, with status, when it exists and is not a regular file,
 * without opening it (opening a FIFO can block).  Returns 0 when it is a
 * regular file or does not exist yet.
 */
int qs_file_regular(const char *path, int status, struct qs_err *err);

/*
 * Take an exclusive flock(2) on fd, polling for up to wait seconds.
 * Returns 0, or -1 with errno: EWOULDBLOCK when another process holds it.
 */
int qs_flock_wait(int fd, double wait);

/*
 * Read a small state file of lines (qs-scale's recommendations,
 * qs-decide's recent requests): path, refused unless a regular file, each
 * line of at most max bytes given to fn without its newline.  A file that
 * does not exist has no lines.  fn returns NULL to go on, or what is wrong
 * with the line, which ends the read with EX_DATAERR, "invalid WHAT PATH:
 * line N: " and that; a longer line is wrong as shape says.  Returns 0, or -1 with err (EX_NOINPUT when path cannot be
 * opened, EX_IOERR or EX_OSERR when reading fails).
 */
int qs_file_lines(const char *path, size_t max, const char *what,
    const char *shape, const char *(*fn)(char *line, void *arg), void *arg,
    struct qs_err *err);

#endif
