/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>

#include "qs/err.h"
#include "qs/num.h"
#include "qs/opt.h"

#ifndef QS_VERSION
#define QS_VERSION "unknown"
#endif

long
qs_opt_long(const char *name, const char *arg, long min, long max)
{
	long v;

	if (qs_num_parse_long(arg, min, max, &v) != 0)
		qs_die(EX_USAGE, "invalid %s: %s (an integer from %ld to %ld)",
		    name, arg, min, max);
	return v;
}

double
qs_opt_double(const char *name, const char *arg, double min, double max)
{
	double v;

	if (qs_num_parse(arg, &v) != 0 || v < min || v > max)
		qs_die(EX_USAGE, "invalid %s: %s (a number from %g to %g)", name,
		    arg, min, max);
	return v;
}

const char *
qs_env(const char *var, const char *def)
{
	const char *v = getenv(var);

	return v != NULL && *v != '\0' ? v : def;
}

void
qs_print_version(void)
{
	printf("%s (qscale) %s\n", qs_progname, QS_VERSION);
}

long
qs_env_long(const char *var, long def, long min, long max, const char **src)
{
	const char *v = qs_env(var, NULL);

	if (v == NULL)
		return def;
	*src = var;
	return qs_opt_long(var, v, min, max);
}

double
qs_env_double(const char *var, double def, double min, double max,
    const char **src)
{
	const char *v = qs_env(var, NULL);

	if (v == NULL)
		return def;
	*src = var;
	return qs_opt_double(var, v, min, max);
}
