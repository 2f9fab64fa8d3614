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

/*
 * Make a message one line: control characters (a newline in a value, the
 * CR of a CRLF in a URL) are written as \n, \r, \t or \xHH, so that a
 * message can neither span lines nor hide text.  Backslashes stay as they
 * are, so that escaping twice changes nothing.  The result is cut to fit.
 */
static void
escape_ctl(char *msg, size_t size)
{
	char copy[1024], *out = msg;
	const unsigned char *p;
	size_t left = size, n;
	char esc[5];

	for (p = (const unsigned char *)msg; *p && *p >= 0x20 && *p != 0x7f; p++)
		;
	if (*p == '\0')
		return;
	snprintf(copy, sizeof(copy), "%s", msg);
	for (p = (const unsigned char *)copy; *p; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			esc[0] = (char)*p;
			esc[1] = '\0';
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			snprintf(esc, sizeof(esc), "\\%c",
			    *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		}
		if ((n = strlen(esc)) >= left)
			break;
		memcpy(out, esc, n);
		out += n;
		left -= n;
	}
	*out = '\0';
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
	escape_ctl(err->msg, sizeof(err->msg));
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
	escape_ctl(err->msg, sizeof(err->msg));
	return -1;
}

static void
vwarn(const char *fmt, va_list ap)
{
	int errnum = errno;
	size_t n = strlen(fmt);
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	escape_ctl(msg, sizeof(msg));
	fprintf(stderr, "%s: %s", qs_progname, msg);
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
	char msg[sizeof(err->msg)];

	/* A message filled by hand, not by qs_err_set, is made one line too. */
	snprintf(msg, sizeof(msg), "%s", err->msg);
	escape_ctl(msg, sizeof(msg));
	fprintf(stderr, "%s: %s\n", qs_progname, msg);
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
