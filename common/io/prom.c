/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qs/buf.h"
#include "qs/err.h"
#include "qs/num.h"
#include "qs/prom.h"
#include "qs/url.h"
#include "qs/xalloc.h"

/*
 * An answer larger than this is not the one series an instant query of
 * ours gives.  jansson takes about 20 times an answer's size to parse
 * it, so this also bounds memory: qs-observe peaks at 17 MB for 256 KiB
 * of many series, within the CronJob's 64Mi, where 6.6 MiB took 166 MB.
 */
#define BODY_MAX (256L * 1024)
/* No single wait between attempts is longer than this, in seconds. */
#define BACKOFF_MAX 30.0
/* Longest secret read from a file. */
#define SECRET_MAX 4096

struct qs_prom {
	CURL *curl;
	char *url;		/* base URL without trailing slashes */
	char *shown;		/* the same without user information, for messages */
	char *user;
	char *password;
	char *auth;		/* "Authorization: Bearer ..." */
	struct curl_slist *headers;
	double timeout;
	long retries;
	double backoff;
};

static int curl_ready;

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Read the first line of a secret file; its text never reaches a message. */
static char *
read_secret(const char *path, const char *what, struct qs_err *err)
{
	char line[SECRET_MAX + 2];
	FILE *fp;
	size_t n;
	char *s;

	if ((fp = fopen(path, "r")) == NULL) {
		qs_err_sys(err, errno == ENOENT ? EX_NOINPUT : EX_IOERR,
		    "cannot open %s file %s", what, path);
		return NULL;
	}
	if (fgets(line, sizeof(line), fp) == NULL) {
		if (ferror(fp))
			qs_err_sys(err, EX_IOERR, "cannot read %s file %s", what,
			    path);
		else
			qs_err_set(err, EX_DATAERR, "%s file %s is empty", what,
			    path);
		fclose(fp);
		explicit_bzero(line, sizeof(line));
		return NULL;
	}
	fclose(fp);
	n = strcspn(line, "\r\n");
	if (n == 0 || n > SECRET_MAX) {
		explicit_bzero(line, sizeof(line));
		qs_err_set(err, EX_DATAERR, "%s file %s: %s", what, path,
		    n == 0 ? "first line is empty" : "first line is too long");
		return NULL;
	}
	line[n] = '\0';
	s = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return s;
}

static int
check_conf(const struct qs_prom_conf *conf, struct qs_err *err)
{
	if (strncmp(conf->url, "http://", 7) != 0 &&
	    strncmp(conf->url, "https://", 8) != 0)
		return qs_err_set(err, EX_USAGE,
		    "Prometheus URL must start with http:// or https://");
	if (conf->token_file != NULL && conf->user != NULL)
		return qs_err_set(err, EX_USAGE,
		    "a bearer token and basic auth exclude each other");
	if ((conf->user == NULL) != (conf->password_file == NULL))
		return qs_err_set(err, EX_USAGE,
		    "basic auth needs both a user and a password file");
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return qs_err_set(err, EX_SOFTWARE,
			    "cannot initialise libcurl");
		curl_ready = 1;
	}
	return 0;
}

struct qs_prom *
qs_prom_new(const struct qs_prom_conf *conf, struct qs_err *err)
{
	struct qs_prom *p;
	char *token;
	size_t n;

	if (check_conf(conf, err) != 0)
		return NULL;

	p = xcalloc(1, sizeof(*p));
	p->url = xstrdup(conf->url);
	for (n = strlen(p->url); n > 0 && p->url[n - 1] == '/'; n--)
		p->url[n - 1] = '\0';
	p->shown = qs_url_shown(p->url);
	p->timeout = conf->timeout;
	p->retries = conf->retries;
	p->backoff = conf->backoff;
	if (conf->user != NULL) {
		p->user = xstrdup(conf->user);
		if ((p->password = read_secret(conf->password_file, "password",
		    err)) == NULL)
			goto fail;
	}
	if (conf->token_file != NULL) {
		if ((token = read_secret(conf->token_file, "token", err)) == NULL)
			goto fail;
		n = strlen(token) + sizeof("Authorization: Bearer ");
		p->auth = xmalloc(n);
		snprintf(p->auth, n, "Authorization: Bearer %s", token);
		wipe_free(token);
	}
	if ((p->curl = curl_easy_init()) == NULL) {
		qs_err_set(err, EX_SOFTWARE, "cannot initialise libcurl");
		goto fail;
	}
	p->headers = curl_slist_append(NULL, "Accept: application/json");
	if (p->auth != NULL)
		p->headers = curl_slist_append(p->headers, p->auth);
	if (p->headers == NULL)
		qs_die(EX_OSERR, "out of memory");

	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "qscale/" QS_VERSION);
	/* Redirects are not followed: a proxy that moves us is misconfigured. */
	curl_easy_setopt(p->curl, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(p->curl, CURLOPT_SSL_VERIFYPEER, conf->insecure ? 0L : 1L);
	curl_easy_setopt(p->curl, CURLOPT_SSL_VERIFYHOST, conf->insecure ? 0L : 2L);
	if (conf->cacert != NULL)
		curl_easy_setopt(p->curl, CURLOPT_CAINFO, conf->cacert);
	if (p->user != NULL) {
		curl_easy_setopt(p->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(p->curl, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(p->curl, CURLOPT_PASSWORD, p->password);
	}
	return p;
fail:
	qs_prom_free(p);
	return NULL;
}

void
qs_prom_free(struct qs_prom *p)
{
	struct curl_slist *h;

	if (p == NULL)
		return;
	if (p->curl != NULL)
		curl_easy_cleanup(p->curl);
	/* The list holds its own copy of the token header. */
	for (h = p->headers; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(p->headers);
	free(p->url);
	free(p->shown);
	free(p->user);
	wipe_free(p->password);
	wipe_free(p->auth);
	free(p);
}

const char *
qs_prom_url(const struct qs_prom *p)
{
	return p->shown;
}

/* Keep the reason phrase of the last status line ("Internal Server Error"). */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	char *reason = arg;
	size_t n = size * nmemb, i = 0, k;

	if (n < 5 || memcmp(data, "HTTP/", 5) != 0)
		return n;
	/* Skip the version and the code. */
	while (i < n && data[i] != ' ')
		i++;
	while (i < n && data[i] == ' ')
		i++;
	while (i < n && isdigit((unsigned char)data[i]))
		i++;
	while (i < n && data[i] == ' ')
		i++;
	for (k = 0; i < n && k < 63 && data[i] != '\r' && data[i] != '\n';
	    i++) {
		/* Keep messages one printable line whatever the server sends. */
		reason[k++] = isprint((unsigned char)data[i]) ? data[i] : '?';
	}
	reason[k] = '\0';
	return n;
}

/* Whether a failed attempt may succeed when tried again. */
static int
retryable(CURLcode cc, long code)
{
	switch (cc) {
	case CURLE_OK:
		return code == 429 || (code >= 500 && code <= 599);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_LOGIN_DENIED:
	case CURLE_WRITE_ERROR:
	case CURLE_OUT_OF_MEMORY:
		return 0;
	default:
		return 1;
	}
}

/* A sample's value: Prometheus writes "NaN", "+Inf", "-Inf" or a decimal. */
static int
parse_sample(json_t *v, double *value, struct qs_err *err)
{
	const char *s;

	if (!json_is_string(v))
		return qs_err_set(err, EX_UNAVAILABLE,
		    "the answer's sample value is not a string");
	s = json_string_value(v);
	if (strcmp(s, "NaN") == 0)
		*value = NAN;
	else if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0)
		*value = INFINITY;
	else if (strcmp(s, "-Inf") == 0)
		*value = -INFINITY;
	else if (qs_num_parse(s, value) != 0)
		return qs_err_set(err, EX_UNAVAILABLE,
		    "the answer's sample value \"%.40s\" is not a number", s);
	return 0;
}

/* A [timestamp, "value"] pair (borrowed). */
static int
parse_pair(json_t *pair, double *value, struct qs_err *err)
{
	if (!json_is_array(pair) || json_array_size(pair) != 2 ||
	    !json_is_number(json_array_get(pair, 0)))
		return qs_err_set(err, EX_UNAVAILABLE,
		    "the answer's sample is not [time, \"value\"]");
	return parse_sample(json_array_get(pair, 1), value, err);
}

/*
 * Prometheus' own error: "errorType: error", both optional in the wild.
 * bad_data is its answer to a query that does not parse (HTTP 400): a
 * configuration error, which no retry or later tick mends; any other
 * (execution, timeout, unavailable...) may pass.
 */
static int
answer_error(json_t *root, struct qs_err *err)
{
	const char *type, *msg;
	int status;

	type = json_string_value(json_object_get(root, "errorType"));
	msg = json_string_value(json_object_get(root, "error"));
	if (type == NULL && msg == NULL)
		return qs_err_set(err, EX_UNAVAILABLE,
		    "an error without a message");
	status = type != NULL && strcmp(type, "bad_data") == 0 ? EX_CONFIG :
	    EX_UNAVAILABLE;
	return qs_err_set(err, status, "%s%s%.300s",
	    type != NULL ? type : "", type != NULL && msg != NULL ? ": " : "",
	    msg != NULL ? msg : "");
}

/*
 * A successful answer's warnings (root borrowed): Prometheus gives one
 * when a storage it reads failed (a remote read, a Thanos store), or it
 * dropped series it could not evaluate, so that the figures may leave
 * pods out.  A record of them is not the deployment's state: the first
 * warning is an error, as Prometheus' own errors are (69, may pass).
 * Its notes ("PromQL info: metric might not be a counter...", "infos")
 * say nothing is missing and are not.
 */
static int
answer_warned(json_t *root, struct qs_err *err)
{
	json_t *w = json_object_get(root, "warnings"), *v;
	const char *s;
	size_t i;

	json_array_foreach(w, i, v) {
		if ((s = json_string_value(v)) == NULL ||
		    strncmp(s, "PromQL info:", 12) == 0)
			continue;
		return qs_err_set(err, EX_UNAVAILABLE, "a warning, so its "
		    "figures may be incomplete: %.300s", s);
	}
	return 0;
}

/*
 * Parse a Prometheus answer and check it succeeded with data: returns its
 * root, a new reference the caller drops, with *type and *result borrowed
 * from it; or NULL with err, and *promerr set when err holds Prometheus'
 * own error.
 */
static json_t *
answer_data(const char *body, size_t len, const char **type, json_t **result,
    int *promerr, struct qs_err *err)
{
	json_error_t jerr;
	json_t *root, *data;
	const char *status;

	if ((root = json_loadb(body, len, JSON_DECODE_ANY, &jerr)) == NULL) {
		qs_err_set(err, EX_UNAVAILABLE,
		    "the answer is not JSON: %s at line %d column %d", jerr.text,
		    jerr.line, jerr.column);
		return NULL;
	}
	status = json_string_value(json_object_get(root, "status"));
	if (!json_is_object(root) || status == NULL) {
		qs_err_set(err, EX_UNAVAILABLE,
		    "the answer is JSON but not a Prometheus answer (no \"status\")");
		goto fail;
	}
	if (strcmp(status, "success") != 0) {
		answer_error(root, err);
		*promerr = 1;
		goto fail;
	}
	if (answer_warned(root, err) != 0) {
		*promerr = 1;
		goto fail;
	}
	data = json_object_get(root, "data");
	*type = json_string_value(json_object_get(data, "resultType"));
	*result = json_object_get(data, "result");
	if (*type == NULL || *result == NULL) {
		qs_err_set(err, EX_UNAVAILABLE,
		    "the answer has no data.resultType or data.result");
		goto fail;
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

/*
 * The parser behind qs_prom_parse; *promerr tells whether err holds
 * Prometheus' own error ("errorType: error"), which callers introduce.
 */
static int
parse(const char *body, size_t len, double *value, int *promerr,
    struct qs_err *err)
{
	json_t *root, *result;
	const char *type;
	size_t n;
	int rc = -1;

	*promerr = 0;
	if ((root = answer_data(body, len, &type, &result, promerr, err)) == NULL)
		return -1;
	if (strcmp(type, "scalar") == 0) {
		rc = parse_pair(result, value, err);
		goto out;
	}
	if (strcmp(type, "vector") != 0) {
		qs_err_set(err, EX_DATAERR, "the answer is a %.20s, "
		    "not an instant vector or scalar", type);
		goto out;
	}
	if (!json_is_array(result)) {
		qs_err_set(err, EX_UNAVAILABLE, "the answer's vector is not an array");
		goto out;
	}
	if ((n = json_array_size(result)) == 0) {
		rc = QS_PROM_EMPTY;
		goto out;
	}
	if (n > 1) {
		qs_err_set(err, EX_DATAERR, "the answer has %zu series, not one; "
		    "aggregate them in the query, e.g. sum(...)", n);
		goto out;
	}
	rc = parse_pair(json_object_get(json_array_get(result, 0), "value"),
	    value, err);
out:
	json_decref(root);
	return rc;
}

/* Messages are one printable line whatever the server sent. */
static void
printable(struct qs_err *err)
{
	char *s;

	for (s = err->msg; *s != '\0'; s++)
		if (iscntrl((unsigned char)*s))
			*s = ' ';
}

/*
 * Pass on rc, a parser's result, and its error perr into err, introducing
 * Prometheus' own error (promerr) as such.
 */
static int
answer_err(int rc, int promerr, const struct qs_err *perr, struct qs_err *err)
{
	if (rc == -1) {
		if (promerr)
			qs_err_set(err, perr->status, "Prometheus answered %s",
			    perr->msg);
		else
			*err = *perr;
		printable(err);
	}
	return rc;
}

int
qs_prom_parse(const char *body, size_t len, double *value, struct qs_err *err)
{
	struct qs_err perr = { 0 };
	int promerr, rc;

	rc = parse(body, len, value, &promerr, &perr);
	return answer_err(rc, promerr, &perr, err);
}

/* A parser of an answer's body into out, as parse is for an instant one. */
typedef int parse_fn(const char *body, size_t len, void *out, int *promerr,
    struct qs_err *err);

static int
parse_instant(const char *body, size_t len, void *out, int *promerr,
    struct qs_err *err)
{
	return parse(body, len, out, promerr, err);
}

/*
 * One attempt, reading at most max bytes and parsing them with fn.
 * Returns as qs_prom_query, with *retry set when worth it.
 */
static int
attempt(struct qs_prom *p, const char *url, long max, parse_fn *fn,
    void *value, int *retry, struct qs_err *err)
{
	char errbuf[CURL_ERROR_SIZE], reason[64];
	struct qs_buf body = { .max = (size_t)max };
	struct qs_err perr = { 0 };
	CURLcode cc;
	long code = 0, oserr = 0;
	int rc, promerr;

	errbuf[0] = reason[0] = '\0';
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, qs_buf_curl_write);
	curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(p->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(p->curl, CURLOPT_HEADERDATA, reason);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS,
	    (long)ceil(p->timeout * 1000));
	cc = curl_easy_perform(p->curl);
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	*retry = retryable(cc, code);
	if (cc != CURLE_OK) {
		free(body.p);
		if (body.toobig)
			return qs_err_set(err, EX_UNAVAILABLE,
			    "the answer is longer than %ld bytes", max);
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return qs_err_set(err, EX_TEMPFAIL,
			    "timed out after %g s", p->timeout);
		curl_easy_getinfo(p->curl, CURLINFO_OS_ERRNO, &oserr);
		if (cc == CURLE_COULDNT_CONNECT && oserr != 0)
			return qs_err_set(err, EX_UNAVAILABLE, "%s",
			    strerror((int)oserr));
		return qs_err_set(err, EX_UNAVAILABLE, "%s",
		    errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
	}
	rc = fn(body.p != NULL ? body.p : "", body.len, value, &promerr, &perr);
	free(body.p);
	if (code < 200 || code > 299) {
		/* Prometheus explains its 4xx and 5xx in an error answer. */
		if (rc == -1 && promerr)
			return qs_err_set(err, perr.status, "HTTP %ld%s%s: %s",
			    code, reason[0] ? " " : "", reason, perr.msg);
		return qs_err_set(err, EX_UNAVAILABLE, "HTTP %ld%s%s", code,
		    reason[0] ? " " : "", reason);
	}
	if (rc == -1 && promerr)
		return qs_err_set(err, perr.status, "Prometheus answered %s",
		    perr.msg);
	if (rc == -1)
		*err = perr;
	return rc;
}

static void
pause_for(double s)
{
	struct timespec ts;

	if (s > BACKOFF_MAX)
		s = BACKOFF_MAX;
	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Ask for url (which is freed) with a bounded number of retries and a
 * doubling pause, parsing the answer with fn into arg.  Returns as
 * attempt() does, the attempts counted in err.
 */
static int
fetch(struct qs_prom *p, char *url, long max, parse_fn *fn, void *arg,
    struct qs_err *err)
{
	double delay = p->backoff;
	long tries;
	size_t n;
	int rc, retry;

	for (tries = 1;; tries++) {
		rc = attempt(p, url, max, fn, arg, &retry, err);
		if (rc != -1 || !retry || tries > p->retries)
			break;
		pause_for(delay);
		delay *= 2;
	}
	free(url);
	if (rc == -1) {
		printable(err);
		if (tries > 1) {
			n = strlen(err->msg);
			snprintf(err->msg + n, sizeof(err->msg) - n,
			    " (%ld attempts)", tries);
		}
	}
	return rc;
}

int
qs_prom_query(struct qs_prom *p, const char *q, double t, double *value,
    struct qs_err *err)
{
	char *esc, *url, tbuf[64];
	size_t n;

	if ((esc = curl_easy_escape(p->curl, q, 0)) == NULL)
		qs_die(EX_OSERR, "out of memory");
	tbuf[0] = '\0';
	if (t >= 0)
		snprintf(tbuf, sizeof(tbuf), "&time=%.3f", t);
	n = strlen(p->url) + strlen(esc) + strlen(tbuf) +
	    sizeof("/api/v1/query?query=");
	url = xmalloc(n);
	snprintf(url, n, "%s/api/v1/query?query=%s%s", p->url, esc, tbuf);
	curl_free(esc);

	return fetch(p, url, BODY_MAX, parse_instant, value, err);
}

int
qs_prom_quote(char *buf, size_t n, const char *s)
{
	size_t i = 0;

	if (n < 3)
		return -1;
	buf[i++] = '"';
	for (; *s != '\0'; s++) {
		if (iscntrl((unsigned char)*s))
			goto fail;
		if (*s == '"' || *s == '\\') {
			if (i + 1 >= n)
				goto fail;
			buf[i++] = '\\';
		}
		if (i + 1 >= n)
			goto fail;
		buf[i++] = *s;
	}
	if (i + 2 > n)
		goto fail;
	buf[i++] = '"';
	buf[i] = '\0';
	return 0;
fail:
	buf[0] = '\0';
	return -1;
}

/*
 * A range answer is at most QS_PROM_POINTS_MAX samples of one series,
 * "[1764583200.123,\"0.28312345678901234\"]," at most 48 bytes each, and
 * its labels: this bound leaves room for them.  jansson's 20 times makes
 * it about 20 MB at worst, within the CronJob's 64Mi.
 */
#define RANGE_BODY_MAX (1024L * 1024)

void
qs_prom_range_free(struct qs_prom_range *r)
{
	free(r->t);
	free(r->v);
	r->t = r->v = NULL;
	r->n = 0;
}

/* The matrix of one series at result (borrowed) into out. */
static int
parse_matrix(json_t *result, struct qs_prom_range *out, struct qs_err *err)
{
	json_t *values, *pair;
	size_t n, i;

	if (!json_is_array(result))
		return qs_err_set(err, EX_UNAVAILABLE,
		    "the answer's matrix is not an array");
	if ((n = json_array_size(result)) == 0)
		return QS_PROM_EMPTY;
	if (n > 1)
		return qs_err_set(err, EX_DATAERR, "the answer has %zu series, "
		    "not one; aggregate them in the query, e.g. sum(...)", n);
	values = json_object_get(json_array_get(result, 0), "values");
	if (!json_is_array(values))
		return qs_err_set(err, EX_UNAVAILABLE,
		    "the answer's series has no \"values\" array");
	n = json_array_size(values);
	out->t = xcalloc(n > 0 ? n : 1, sizeof(double));
	out->v = xcalloc(n > 0 ? n : 1, sizeof(double));
	for (i = 0; i < n; i++) {
		pair = json_array_get(values, i);
		if (parse_pair(pair, &out->v[i], err) != 0)
			return -1;
		out->t[i] = json_number_value(json_array_get(pair, 0));
		if (i > 0 && !(out->t[i] > out->t[i - 1]))
			return qs_err_set(err, EX_UNAVAILABLE,
			    "the answer's samples are not in order of time");
		out->n = i + 1;
	}
	return out->n > 0 ? 0 : QS_PROM_EMPTY;
}

/* As parse, for a /api/v1/query_range answer into a qs_prom_range. */
static int
parse_range(const char *body, size_t len, void *arg, int *promerr,
    struct qs_err *err)
{
	struct qs_prom_range *out = arg;
	json_t *root, *result;
	const char *type;
	int rc = -1;

	*promerr = 0;
	memset(out, 0, sizeof(*out));
	if ((root = answer_data(body, len, &type, &result, promerr, err)) == NULL)
		return -1;
	if (strcmp(type, "matrix") != 0) {
		qs_err_set(err, EX_DATAERR, "the answer is a %.20s, not a "
		    "range of one series", type);
		goto out;
	}
	rc = parse_matrix(result, out, err);
out:
	if (rc != 0)
		qs_prom_range_free(out);
	json_decref(root);
	return rc;
}

int
qs_prom_parse_range(const char *body, size_t len, struct qs_prom_range *out,
    struct qs_err *err)
{
	struct qs_err perr = { 0 };
	int promerr, rc;

	rc = parse_range(body, len, out, &promerr, &perr);
	return answer_err(rc, promerr, &perr, err);
}

long
qs_prom_range_points(double start, double end, double step)
{
	double n;

	if (!(step > 0) || !(end >= start))
		return 0;
	n = floor((end - start) / step + 1e-9) + 1;
	return n > (double)LONG_MAX / 2 ? LONG_MAX / 2 : (long)n;
}

int
qs_prom_query_range(struct qs_prom *p, const char *q, double start,
    double end, double step, struct qs_prom_range *out, struct qs_err *err)
{
	char *esc, *url;
	long points = qs_prom_range_points(start, end, step);
	size_t n;

	memset(out, 0, sizeof(*out));
	if (points < 1)
		return qs_err_set(err, EX_USAGE, "the range's end is before its "
		    "start, or its step is not positive");
	if (points > QS_PROM_POINTS_MAX)
		return qs_err_set(err, EX_USAGE, "the range holds %ld points, "
		    "more than the %d of one Prometheus query", points,
		    QS_PROM_POINTS_MAX);
	if ((esc = curl_easy_escape(p->curl, q, 0)) == NULL)
		qs_die(EX_OSERR, "out of memory");
	n = strlen(p->url) + strlen(esc) + 3 * 64 +
	    sizeof("/api/v1/query_range?query=&start=&end=&step=");
	url = xmalloc(n);
	snprintf(url, n, "%s/api/v1/query_range?query=%s&start=%.3f&end=%.3f"
	    "&step=%.3f", p->url, esc, start, end, step);
	curl_free(esc);
	return fetch(p, url, RANGE_BODY_MAX, parse_range, out, err);
}
