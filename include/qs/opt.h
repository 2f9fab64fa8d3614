/* See LICENSE file for copyright and license details. */
#ifndef QS_OPT_H
#define QS_OPT_H

/*
 * Option and environment values for main().  Like the allocation
 * wrappers, these print "prog: invalid --name: value" and exit with
 * EX_USAGE when the value is malformed or out of range.
 */
long qs_opt_long(const char *name, const char *arg, long min, long max);
double qs_opt_double(const char *name, const char *arg, double min, double max);

/* The value of environment variable var, or def when unset or empty. */
const char *qs_env(const char *var, const char *def);

/* Print the version line for --version. */
void qs_print_version(void);

#endif
