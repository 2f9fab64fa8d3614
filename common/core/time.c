/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qs/num.h"
#include "qs/time.h"

/* Years beyond these are a typo, not a time qscale observed. */
#define YEAR_MIN 1970
#define YEAR_MAX 9999

/* Exactly n digits at s, as a number; -1 otherwise. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
rfc3339(const char *s, double *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm tm;
	double frac = 0, scale = 0.1;
	int y, mo, d, h, mi, sec, oh, om, sign;
	time_t t;

	/* YYYY-MM-DDTHH:MM:SS, then an optional fraction and the zone. */
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < YEAR_MIN || y > YEAR_MAX || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		if (!isdigit((unsigned char)s[1]))
			return -1;
		for (s++; isdigit((unsigned char)*s); s++, scale /= 10)
			frac += (*s - '0') * scale;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0') {
		oh = om = sign = 0;
	} else if ((*s == '+' || *s == '-') && strlen(s) == 6 && s[3] == ':') {
		sign = *s == '+' ? 1 : -1;
		if ((oh = digits(s + 1, 2)) < 0 || oh > 23 ||
		    (om = digits(s + 4, 2)) < 0 || om > 59)
			return -1;
	} else {
		return -1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises 30 February to 2 March: refuse what it moved. */
	if (tm.tm_mday != d && sec != 60)
		return -1;
	*out = (double)t + frac - sign * (oh * 3600.0 + om * 60.0);
	return 0;
}

int
qs_time_parse(const char *s, double *out)
{
	double v;

	if (rfc3339(s, out) == 0)
		return 0;
	if (qs_num_parse(s, &v) != 0 || v < 0 || v > 253402300799.0)
		return -1;
	*out = v;
	return 0;
}

int
qs_time_format(char *buf, double t)
{
	time_t tt;
	struct tm tm;

	if (!(t >= 0 && t <= 253402300799.0))
		return -1;
	tt = (time_t)floor(t);
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, QS_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return 0;
}
