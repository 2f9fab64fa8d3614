/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs/num.h"

/*
 * Tables hold millions of numbers and strtod is most of the cost of loading
 * one, so the common case (at most 19 significant digits, a small exponent)
 * is computed here: the digits and the power of ten are both exact in a long
 * double, so their product or quotient is correctly rounded to 64 bits, and
 * rounding that to a double is correct unless it lies within an ulp of a
 * halfway point, which we detect and hand to strtod.
 */
static const long double pow10tab[] = {
	1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L,
	1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
	1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L
};

static int
fast_ok(long double v)
{
	long double m;
	int e;
	uint64_t bits, low;

	if (LDBL_MANT_DIG != 64 || v == 0)
		return LDBL_MANT_DIG == 64;
	m = frexpl(v, &e);
	if (e < DBL_MIN_EXP || e > DBL_MAX_EXP)
		return 0;
	bits = (uint64_t)ldexpl(m, 64);
	low = bits & 0x7ff;
	/* The 11 bits a double drops: refuse values near the halfway point. */
	return !(low >= 0x3ff && low <= 0x401);
}

int
qs_num_parse(const char *s, double *out)
{
	const char *p = s;
	uint64_t mant = 0;
	int ndig = 0, exp10 = 0, neg = 0, any = 0, eneg = 0, ev = 0;
	long double v;
	char *end;
	double d;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++, any = 1) {
		if (ndig < 19) {
			if (mant || *p != '0') {
				mant = mant * 10 + (uint64_t)(*p - '0');
				ndig++;
			}
		} else {
			exp10++;
		}
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, any = 1) {
			if (ndig < 19) {
				if (mant || *p != '0')
					ndig++;
				mant = mant * 10 + (uint64_t)(*p - '0');
				exp10--;
			}
		}
	}
	if (!any)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++)
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
		exp10 += eneg ? -ev : ev;
	}
	if (*p != '\0')
		return -1;
	if (ndig < 19 && exp10 >= -27 && exp10 <= 27) {
		v = (long double)mant;
		v = exp10 < 0 ? v / pow10tab[-exp10] : v * pow10tab[exp10];
		if (fast_ok(v)) {
			d = (double)v;
			*out = neg ? -d : d;
			return 0;
		}
	}
	errno = 0;
	d = strtod(s, &end);
	if (*end != '\0' || !isfinite(d) || (errno == ERANGE && fabs(d) > 1))
		return -1;
	*out = d;
	return 0;
}

int
qs_num_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (*s == '\0' || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
qs_num_format(char *buf, double x)
{
	int prec, n = 0;

	if (x == 0)
		return snprintf(buf, QS_NUM_MAX, "0");
	if (x == (double)(long long)x && fabs(x) < 1e15)
		return snprintf(buf, QS_NUM_MAX, "%lld", (long long)x);
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, QS_NUM_MAX, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return n;
}
