/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/xalloc.h"

const char *qs_progname = "qs";

void
qs_setprogname(const char *argv0)
{
	const char *p;
	int fd, nfd;

	/* Every main() calls this first: out of memory in jansson is exit 71. */
	qs_xalloc_json();
	/*
	 * A closed standard descriptor would be reused by the next open: a
	 * table's lock or a history would then receive what is written to
	 * stdout.  Fill the gap with /dev/null opened the wrong way round,
	 * so that using it fails (EBADF) as using a closed one would.
	 */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    (nfd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY)) >= 0 &&
		    nfd != fd)
			close(nfd);
	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	qs_progname = p ? p + 1 : argv0;
}

static void
verr_set(struct qs_err *err, int status, int errnum, const char *fmt, va_list ap)
{
	size_t n;

	if (err == NULL)
		return;
	err->status = status;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (errnum) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	}
}

int
qs_err_set(struct qs_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr_set(err, status, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
qs_err_sys(struct qs_err *err, int status, const char *fmt, ...)
{
	va_list ap;
	int errnum = errno;

	va_start(ap, fmt);
	verr_set(err, status, errnum ? errnum : EIO, fmt, ap);
	va_end(ap);
	return -1;
}

int
qs_err_wrap(struct qs_err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)];
	size_t n;
	va_list ap;

	if (err == NULL)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", old);
	return -1;
}

static void
vwarn(const char *fmt, va_list ap)
{
	int errnum = errno;
	size_t n = strlen(fmt);

	fprintf(stderr, "%s: ", qs_progname);
	vfprintf(stderr, fmt, ap);
	if (n > 0 && fmt[n - 1] == ':')
		fprintf(stderr, " %s", strerror(errnum));
	fputc('\n', stderr);
}

void
qs_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
qs_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(status);
}

void
qs_die_err(const struct qs_err *err)
{
	fprintf(stderr, "%s: %s\n", qs_progname, err->msg);
	exit(err->status ? err->status : EX_SOFTWARE);
}

int
qs_fshut_stdout(void)
{
	int bad;

	bad = fflush(stdout) != 0 || ferror(stdout);
	if (fclose(stdout) != 0)
		bad = 1;
	if (bad) {
		qs_warn("cannot write standard output:");
		return EX_IOERR;
	}
	return 0;
}
