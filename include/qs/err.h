/* See LICENSE file for copyright and license details. */
#ifndef QS_ERR_H
#define QS_ERR_H

#include <stdarg.h>
#include <sysexits.h>

/*
 * Library functions report failure through a struct qs_err: an exit status
 * from sysexits(3) and a message without the program name.  Only main()
 * prints it and exits.
 */
struct qs_err {
	int status;
	char msg[512];
};

extern const char *qs_progname;

/*
 * Set the name messages start with, from argv[0].  Also, since every main()
 * calls it first: reopen a closed stdin, stdout or stderr on /dev/null the
 * wrong way round, so that later files cannot take its number and reading
 * or writing it fails with EBADF.
 */
void qs_setprogname(const char *argv0);

/* Fill err and return -1, so that callers can write return qs_err_set(...). */
int qs_err_set(struct qs_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As qs_err_set, appending ": strerror(errno)". */
int qs_err_sys(struct qs_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context: "ctx: old message". */
int qs_err_wrap(struct qs_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Print "prog: message" on stderr.  A format ending in ':' gets
 * " strerror(errno)" appended, as in sbase.  qs_die exits with status.
 */
void qs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void qs_die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
_Noreturn void qs_die_err(const struct qs_err *err);

/* Flush and check stdout; returns 0 or EX_IOERR after printing why. */
int qs_fshut_stdout(void);

#endif
