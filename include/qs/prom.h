/* See LICENSE file for copyright and license details. */
#ifndef QS_PROM_H
#define QS_PROM_H

#include <stddef.h>

#include "qs/err.h"

/* qs_prom_query and qs_prom_parse return this when the answer holds no data. */
#define QS_PROM_EMPTY 1

/*
 * How to reach a Prometheus server.  Pointers are borrowed for the call to
 * qs_prom_new only; it copies what it keeps and reads the secret files
 * there, so that a missing file is reported before any query.
 */
struct qs_prom_conf {
	const char *url;		/* base URL, e.g. http://localhost:9090 */
	double timeout;			/* seconds for one attempt, > 0 */
	long retries;			/* attempts after the first, >= 0 */
	double backoff;			/* seconds before the first retry */
	const char *user;		/* basic auth user name, or NULL */
	const char *password_file;	/* its password, first line of file */
	const char *token_file;		/* bearer token, first line of file */
	const char *cacert;		/* CA bundle to verify TLS with, or NULL */
	int insecure;			/* do not verify the TLS peer */
};

struct qs_prom;

/*
 * Prepare a client.  Returns NULL with err: EX_USAGE for a URL that is
 * not http(s) or conflicting settings, EX_NOINPUT or EX_DATAERR for a
 * missing or empty secret file, EX_SOFTWARE when libcurl fails.
 */
struct qs_prom *qs_prom_new(const struct qs_prom_conf *conf,
    struct qs_err *err);
/* Free the client, clearing the secrets it holds. */
void qs_prom_free(struct qs_prom *p);

/* The base URL without user information, for messages (borrowed). */
const char *qs_prom_url(const struct qs_prom *p);

/*
 * Evaluate the instant query q at time t (seconds since the epoch; t < 0
 * means the server's now) through /api/v1/query.  Transport errors,
 * timeouts and HTTP 429 and 5xx answers are retried conf.retries times,
 * waiting conf.backoff seconds before the first retry and twice as long
 * before each next one.  Returns 0 and the sample in *value (which may be
 * NaN or infinite), QS_PROM_EMPTY for an empty vector, or -1 with err:
 * EX_UNAVAILABLE when Prometheus cannot be reached, answers an HTTP error
 * or an error of its own or something that is not its JSON; EX_CONFIG
 * when Prometheus refuses the query itself (errorType bad_data, as for a
 * syntax error or an unknown function), which is never retried;
 * EX_TEMPFAIL for a timeout; EX_DATAERR for an answer of several series
 * or of a type other than vector or scalar.  Messages never contain
 * secrets.
 */
int qs_prom_query(struct qs_prom *p, const char *q, double t, double *value,
    struct qs_err *err);

/*
 * Parse the body of an /api/v1/query answer, len bytes (need not be
 * NUL-terminated).  Returns 0 with the single sample of a vector or the
 * value of a scalar in *value, QS_PROM_EMPTY for an empty vector, or -1
 * with err as for qs_prom_query.  A "status": "error" answer gives
 * EX_UNAVAILABLE (EX_CONFIG for errorType bad_data) and a message
 * "errorType: error".
 */
int qs_prom_parse(const char *body, size_t len, double *value,
    struct qs_err *err);

/*
 * Write into buf (size n, always NUL-terminated) the PromQL string
 * literal for s: double-quoted, with backslash and quote escaped.
 * Returns 0, or -1 when s holds a control character or buf is too small.
 */
int qs_prom_quote(char *buf, size_t n, const char *s);

/* The most samples of one series a range query asks for, Prometheus' own. */
#define QS_PROM_POINTS_MAX 11000

/* The samples of one series over a range: times in seconds, values. */
struct qs_prom_range {
	double *t;
	double *v;
	size_t n;
};

void qs_prom_range_free(struct qs_prom_range *r);

/*
 * The number of evaluation times start, start + step, ... up to end that
 * a range query over [start, end] has; 0 when end is before start or
 * step is not positive.
 */
long qs_prom_range_points(double start, double end, double step);

/*
 * Evaluate q at start, start + step, ... up to end (seconds since the
 * epoch) through /api/v1/query_range, retried as qs_prom_query.  Returns
 * 0 with the one series' samples in *out (free it with
 * qs_prom_range_free; times without a sample are absent, values may be
 * NaN or infinite), QS_PROM_EMPTY when no series has a sample, or -1
 * with err as qs_prom_query: also EX_USAGE for a range of more than
 * QS_PROM_POINTS_MAX points, which the caller pages, and EX_DATAERR for
 * several series or an answer that is not a matrix.
 */
int qs_prom_query_range(struct qs_prom *p, const char *q, double start,
    double end, double step, struct qs_prom_range *out, struct qs_err *err);

/* As qs_prom_parse, for the body of an /api/v1/query_range answer. */
int qs_prom_parse_range(const char *body, size_t len,
    struct qs_prom_range *out, struct qs_err *err);

#endif
