/* See LICENSE file for copyright and license details. */
#ifndef QS_TIME_H
#define QS_TIME_H

#include <stddef.h>

/* Room for qs_time_format's text, with its NUL. */
#define QS_TIME_MAX 32

/*
 * Parse a time as records and users write it: RFC 3339 with a Z or a
 * numeric offset ("2026-12-01T10:00:00Z", "2026-12-01T11:00:00.5+01:00")
 * or seconds since the epoch ("1764583200", "1764583200.5").  Stores
 * seconds since the epoch in *out.  Returns 0, or -1 when s is neither.
 */
int qs_time_parse(const char *s, double *out);

/*
 * Write t (seconds since the epoch, whole seconds) in UTC as qs-observe
 * writes times, "2026-12-01T10:00:00Z", into buf (QS_TIME_MAX bytes).
 * Returns 0, or -1 when t is out of range.
 */
int qs_time_format(char *buf, double t);

#endif
