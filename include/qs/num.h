/* See LICENSE file for copyright and license details. */
#ifndef QS_NUM_H
#define QS_NUM_H

#include <stddef.h>

/* Longest text qs_num_format writes, with its NUL. */
#define QS_NUM_MAX 32

/*
 * Parse a finite decimal number: optional sign, digits, optional fraction
 * and exponent, nothing else (no hex, no NaN, no Inf, no spaces).
 * Returns 0, or -1 when s is not such a number or does not fit a double.
 */
int qs_num_parse(const char *s, double *out);
/* As qs_num_parse, for len bytes at s (no NUL needed). */
int qs_num_parsen(const char *s, size_t len, double *out);

/* Parse a decimal integer within [min, max]; returns 0 or -1. */
int qs_num_parse_long(const char *s, long min, long max, long *out);

/*
 * Write the shortest decimal that reads back as exactly x into buf
 * (QS_NUM_MAX bytes): "0", "-2", "6.44", "0.30000000000000004".
 * Returns the length.
 */
int qs_num_format(char *buf, double x);

#endif
