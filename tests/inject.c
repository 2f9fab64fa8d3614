/* See LICENSE file for copyright and license details. */
/*
 * Fault injector for the reliability suite, loaded with LD_PRELOAD:
 * QS_INJECT=fsync makes fsync and fdatasync fail, QS_INJECT=write makes
 * write fail, both with ENOSPC and only on regular files, so that the
 * standard streams still work.  stdio does not call write through the
 * PLT, so fsync is the way to fail a table save.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
injected(const char *what, int fd)
{
	const char *e = getenv("QS_INJECT");
	struct stat st;

	return e != NULL && strcmp(e, what) == 0 && fstat(fd, &st) == 0 &&
	    S_ISREG(st.st_mode);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (injected("fsync", fd)) {
		errno = ENOSPC;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

int
fdatasync(int fd)
{
	return fsync(fd);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);

	if (injected("write", fd)) {
		errno = ENOSPC;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	return real(fd, buf, n);
}
