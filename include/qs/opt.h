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

/*
 * A setting that an option or an environment variable may give: the
 * value of var when set and not empty, parsed as qs_opt_long or
 * qs_opt_double would under var's name, with *src set to var; else def,
 * *src left as it is (the option's name).  Messages about the setting
 * then name *src, where the user gave the value, not an option never
 * typed.
 */
long qs_env_long(const char *var, long def, long min, long max,
    const char **src);
double qs_env_double(const char *var, double def, double min, double max,
    const char **src);

/* Print the version line for --version. */
void qs_print_version(void);

#endif
