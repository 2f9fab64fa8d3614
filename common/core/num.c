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

/* Reciprocals, each correctly rounded: a product with one is within two ulps. */
static const long double negpow10tab[] = {
	1e-0L, 1e-1L, 1e-2L, 1e-3L, 1e-4L, 1e-5L, 1e-6L, 1e-7L, 1e-8L, 1e-9L,
	1e-10L, 1e-11L, 1e-12L, 1e-13L, 1e-14L, 1e-15L, 1e-16L, 1e-17L, 1e-18L,
	1e-19L, 1e-20L, 1e-21L, 1e-22L, 1e-23L, 1e-24L, 1e-25L, 1e-26L, 1e-27L
};

/*
 * Whether v, a 64-bit-mantissa approximation within two ulps of the exact
 * value, rounds to the same double as the exact value would: true unless
 * the 11 bits a double drops lie near the halfway point.
 */
static int
fast_ok(long double v)
{
	uint64_t mant, low;

	if (LDBL_MANT_DIG != 64)
		return 0;
	if (v == 0)
		return 1;
	if (v < (long double)DBL_MIN || v > (long double)DBL_MAX)
		return 0;
	/* x87 extended precision: the explicit 64-bit mantissa comes first. */
	memcpy(&mant, &v, sizeof(mant));
	low = mant & 0x7ff;
	return low < 0x3fc || low > 0x404;
}

/* Eight ASCII digits at once (little-endian), as in fast_float. */
static int
eight_digits(const char *p, uint64_t *out)
{
	uint64_t v;

	memcpy(&v, p, 8);
	if (((v & 0xf0f0f0f0f0f0f0f0ULL) |
	    (((v + 0x0606060606060606ULL) & 0xf0f0f0f0f0f0f0f0ULL) >> 4)) !=
	    0x3333333333333333ULL)
		return 0;
	v -= 0x3030303030303030ULL;
	v = v * 10 + (v >> 8);
	v = (((v & 0x000000ff000000ffULL) * 0x000f424000000064ULL) +
	    (((v >> 16) & 0x000000ff000000ffULL) * 0x0000271000000001ULL)) >> 32;
	*out = v;
	return 1;
}

int
qs_num_parsen(const char *s, size_t len, double *out)
{
	const char *p = s, *end = s + len;
	uint64_t mant = 0, chunk;
	int ndig = 0, exp10 = 0, neg = 0, any = 0, eneg = 0, ev = 0, lost = 0;
	long double v;
	char buf[64], *e;
	double d;

	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (; p < end && *p == '0'; p++)
		any = 1;
	for (; p < end && *p >= '0' && *p <= '9'; p++, any = 1) {
		if (ndig < 19) {
			mant = mant * 10 + (uint64_t)(*p - '0');
			ndig++;
		} else {
			exp10++;
			lost = 1;
		}
	}
	if (p < end && *p == '.') {
		p++;
		if (mant == 0)
			for (; p < end && *p == '0'; p++, exp10--)
				any = 1;
		while (ndig + 8 <= 19 && end - p >= 8 && eight_digits(p, &chunk)) {
			mant = mant * 100000000ULL + chunk;
			ndig += 8;
			exp10 -= 8;
			p += 8;
			any = 1;
		}
		for (; p < end && *p >= '0' && *p <= '9'; p++, any = 1) {
			if (ndig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				ndig++;
				exp10--;
			} else {
				lost = 1;
			}
		}
	}
	if (!any)
		return -1;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p >= end || *p < '0' || *p > '9')
			return -1;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (ev < 100000)
				ev = ev * 10 + (*p - '0');
		exp10 += eneg ? -ev : ev;
	}
	if (p != end)
		return -1;
	if (!lost && exp10 >= -27 && exp10 <= 27) {
		v = (long double)mant;
		v *= exp10 < 0 ? negpow10tab[-exp10] : pow10tab[exp10];
		if (fast_ok(v)) {
			d = (double)v;
			*out = neg ? -d : d;
			return 0;
		}
	}
	/* The slow path: strtod on a NUL-terminated copy. */
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	d = strtod(buf, &e);
	if (*e != '\0' || !isfinite(d) || (errno == ERANGE && fabs(d) > 1))
		return -1;
	*out = d;
	return 0;
}

int
qs_num_parse(const char *s, double *out)
{
	return qs_num_parsen(s, strlen(s), out);
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
	/* The range test comes first: casting a larger double is undefined. */
	if (fabs(x) < 1e15 && x == (double)(long long)x)
		return snprintf(buf, QS_NUM_MAX, "%lld", (long long)x);
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, QS_NUM_MAX, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return n;
}
