/* See LICENSE file for copyright and license details. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/kube.h"
#include "qs/name.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/prom.h"
#include "qs/record.h"
#include "qs/time.h"
#include "qs/xalloc.h"

#define USAGE "usage: qs-observe [--backend b] [--backoff s]\n" \
	"       [--cacert file] [--deployment name] [--empty-as-zero]\n" \
	"       [--format fmt] [--insecure-skip-tls-verify] [--kube-cacert file]\n" \
	"       [--kube-insecure-skip-tls-verify] [--kube-server url]\n" \
	"       [--kube-token-file file] [--latency-percentile q]\n" \
	"       [--latency-query promql] [--metric-prefix p]\n" \
	"       [--namespace ns] [--next] [--password-file file]\n" \
	"       [--path path] [--pod n] [--prometheus url]\n" \
	"       [--range start,end] [--replicas-query promql]\n" \
	"       [--requests-query promql] [--retries n] [--selector labels]\n" \
	"       [--step s] [--timeout s]\n" \
	"       [--token-file file] [--unbuffered] [--user name] [--window range]\n"

/* The default queries: prefix, selector and window, in that order. */
#define LATENCY_QUERY "sum(rate(%s_request_duration_seconds_sum{%s}[%s])) / " \
	"sum(rate(%s_request_duration_seconds_count{%s}[%s]))"
#define PERCENTILE_QUERY "histogram_quantile(%s, sum by (le) " \
	"(rate(%s_request_duration_seconds_bucket{%s}[%s])))"
#define REQUESTS_QUERY "sum(increase(%s_requests_total{%s}[%s]))"
/*
 * The default --replicas-query: the pods that expose the counter, by
 * their pod label or, without one, their scrape target: a counter split
 * by status code or method has several series per pod.
 */
#define REPLICAS_QUERY "count(count by (pod, instance) (%s_requests_total{%s}))"

/* What the default queries are made of. */
struct defaults {
	const char *selector;	/* --selector, or NULL */
	const char *sel_src;	/* --selector or QS_SELECTOR, for messages */
	const char *path;	/* --path, or NULL */
	const char *window;	/* --window, or NULL for 30s */
	const char *prefix;	/* --metric-prefix, or NULL for http_server */
	double percentile;	/* --latency-percentile, or 0 for the mean */
	const char *ns, *deployment;	/* or NULL when not known */
};

enum query { Q_LATENCY, Q_REQUESTS, Q_REPLICAS };

/*
 * The default queries, and their selector when it is not the notebook's
 * path: an empty answer to one of those asks whether the series carry
 * these labels, which a cut query may not show.
 */
static const char *defaults_made[3];
static char *scoped;
static void probe_made(enum query which, const char *prefix,
    const char *sel, const char *window, int buckets);
static int too_short(struct qs_prom *p, const char *q, double t);
/* The window of the default queries, for too_short's message. */
static const char *probe_window;

/*
 * Figures beyond the bounds of a record's fields are not a latency in ms,
 * a request count or replicas: qs-decide, qs-reward and qs-update refuse
 * them, so a record of one would only fail, and blame, the next tool.
 */
#define FIGURE_MAX(what) (strcmp((what), "latency") == 0 ? QS_LATENCY_MAX : \
	strcmp((what), "replicas") == 0 ? (double)QS_POD_MAX : QS_REQUESTS_MAX)

struct state {
	char time[32];
	long pod, latency, requests;
};

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EX_USAGE);
}

static void
help(void)
{
	fputs(USAGE "\n"
	    "Observe a deployment's state in Prometheus and write it as a record\n"
	    "{time, pod, latency, requests}; with --next, add it to each record\n"
	    "read as new_time, new_pod, new_latency, new_requests.\n\n"
	    "      --backend b           Kubernetes through api, kubectl or auto (auto)\n"
	    "      --backoff s           wait before the first retry, doubled after (1)\n"
	    "      --cacert file         verify TLS with these CA certificates\n"
	    "      --deployment name     whose ready replicas are pod (QS_DEPLOYMENT)\n"
	    "      --empty-as-zero       read an answer without data as 0\n"
	    "      --format fmt          json or csv (json; with --next, the input's)\n"
	    "      --insecure-skip-tls-verify  do not verify the server's certificate\n"
	    "      --kube-cacert file    CA certificates of the Kubernetes API server\n"
	    "      --kube-insecure-skip-tls-verify  do not verify the API server\n"
	    "      --kube-server url     the API server (QS_KUBE_SERVER; in-cluster)\n"
	    "      --kube-token-file f   bearer token for the API server\n"
	    "      --latency-percentile q  the default latency is that quantile of the\n"
	    "                            histogram, 0 < q < 1 (QS_LATENCY_PERCENTILE)\n"
	    "      --latency-query promql  mean latency in seconds (sum of rates)\n"
	    "      --metric-prefix p     the default queries' metrics, p_requests_total\n"
	    "                            and p_request_duration_seconds (http_server)\n"
	    "      --namespace ns        the deployment's namespace (QS_NAMESPACE)\n"
	    "      --next                read records, add the after-state\n"
	    "      --password-file file  basic auth password, first line\n"
	    "      --path path           the path label of the default queries (/test)\n"
	    "      --pod n               the ready replicas, not asking Kubernetes (QS_POD)\n"
	    "      --prometheus url      Prometheus (QS_PROMETHEUS_URL, http://localhost:9090)\n"
	    "      --range start,end     export one record per --step over the range\n"
	    "      --replicas-query promql  with --range, the ready replicas (count of\n"
	    "                            the request counter's series)\n"
	    "      --requests-query promql  requests in the window\n"
	    "      --retries n           retries after a failed attempt (2)\n"
	    "      --selector labels     the default queries' label matchers (QS_SELECTOR;\n"
	    "                            namespace=\"$NAMESPACE\",deployment=\"$DEPLOYMENT\"\n"
	    "                            when either is known, else path=\"/test\")\n"
	    "      --step s              with --range, seconds between records (15)\n"
	    "      --timeout s           seconds for one attempt (10)\n"
	    "      --token-file file     bearer token, first line\n"
	    "      --unbuffered          with --next, observe and flush each record\n"
	    "      --user name           basic auth user (QS_PROMETHEUS_USER)\n"
	    "      --window range        the default queries' window (30s)\n"
	    "      --help                print this help\n"
	    "      --version             print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/* A PromQL duration such as 30s, 1m30s or 500ms. */
static int
valid_range(const char *s)
{
	static const char *units[] = { "ms", "s", "m", "h", "d", "w", "y" };
	size_t i, n;

	if (*s == '\0')
		return 0;
	while (*s != '\0') {
		if ((n = strspn(s, "0123456789")) == 0)
			return 0;
		s += n;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			n = strlen(units[i]);
			if (strncmp(s, units[i], n) == 0 &&
			    (s[n] == '\0' || strchr("0123456789", s[n]) != NULL))
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return 0;
		s += n;
	}
	return 1;
}

/* A quantile for --latency-percentile: strictly between 0 and 1. */
static double
percentile(const char *name, const char *arg)
{
	double v;

	if (qs_num_parse(arg, &v) != 0 || !(v > 0 && v < 1))
		qs_die(EX_USAGE, "invalid %s: %s (a quantile between 0 and 1, "
		    "such as 0.95)", name, arg);
	return v;
}

/* Whether s is a metric name: letters, digits, _ and :, not first a digit. */
static int
valid_metric(const char *s)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
	size_t k;

	for (k = 0; s[k] != '\0'; k++)
		if (strchr(first, s[k]) == NULL &&
		    (k == 0 || !(s[k] >= '0' && s[k] <= '9')))
			return 0;
	return k > 0 && k <= 200;
}

/*
 * The label matchers of the default queries: --selector with $NAMESPACE
 * and $DEPLOYMENT replaced, or the scoped default when either is known,
 * or the notebook's path="/test".  A new string.
 */
static char *
scope(const struct defaults *d)
{
	char quoted[1024], *out = NULL;
	const char *t, *v, *name;
	size_t size = 0;
	FILE *fp;

	if (d->path != NULL && qs_prom_quote(quoted, sizeof(quoted), d->path) != 0)
		qs_die(EX_USAGE, "invalid --path: it must be printable and shorter "
		    "than %zu bytes", sizeof(quoted) / 2);
	if (d->selector == NULL && d->ns == NULL && d->deployment == NULL) {
		if (d->path == NULL)
			snprintf(quoted, sizeof(quoted), "\"/test\"");
		out = xmalloc(strlen(quoted) + sizeof("path="));
		sprintf(out, "path=%s", quoted);
		return out;
	}
	if ((fp = open_memstream(&out, &size)) == NULL)
		qs_die(EX_OSERR, "cannot build the default queries:");
	if (d->selector == NULL) {
		/*
		 * namespace="$NAMESPACE",deployment="$DEPLOYMENT", less the
		 * term of what is not known.
		 */
		if (d->ns != NULL)
			fprintf(fp, "namespace=\"%s\"", d->ns);
		if (d->deployment != NULL)
			fprintf(fp, "%sdeployment=\"%s\"", d->ns ? "," : "",
			    d->deployment);
	}
	for (t = d->selector != NULL ? d->selector : ""; *t != '\0'; ) {
		if (strncmp(t, "$NAMESPACE", 10) == 0) {
			v = d->ns, name = "namespace", t += 10;
		} else if (strncmp(t, "$DEPLOYMENT", 11) == 0) {
			v = d->deployment, name = "deployment", t += 11;
		} else {
			fputc(*t++, fp);
			continue;
		}
		if (v == NULL)
			qs_die(EX_USAGE, "invalid %s: it names the %s, but "
			    "none is given (--%s or QS_%s)", d->sel_src, name, name,
			    strcmp(name, "namespace") == 0 ? "NAMESPACE" :
			    "DEPLOYMENT");
		fputs(v, fp);
	}
	if (d->path != NULL)
		fprintf(fp, "%spath=%s", ftell(fp) > 0 ? "," : "",
		    quoted);
	if (fclose(fp) != 0)
		qs_die(EX_OSERR, "cannot build the default queries:");
	return out;
}

/* A default query; the caller frees it. */
static char *
default_query(enum query which, const struct defaults *d)
{
	const char *w = d->window != NULL ? d->window : "30s";
	const char *p = d->prefix != NULL ? d->prefix : "http_server";
	char *sel = scope(d), *q = NULL, qs[QS_NUM_MAX];
	size_t size = 0;
	FILE *fp;

	if ((fp = open_memstream(&q, &size)) == NULL)
		qs_die(EX_OSERR, "cannot build the default queries:");
	if (which == Q_LATENCY && d->percentile > 0) {
		qs_num_format(qs, d->percentile);
		fprintf(fp, PERCENTILE_QUERY, qs, p, sel, w);
	} else if (which == Q_LATENCY) {
		fprintf(fp, LATENCY_QUERY, p, sel, w, p, sel, w);
	} else if (which == Q_REQUESTS) {
		fprintf(fp, REQUESTS_QUERY, p, sel, w);
	} else {
		fprintf(fp, REPLICAS_QUERY, p, sel);
	}
	if (fclose(fp) != 0)
		qs_die(EX_OSERR, "cannot build the default queries:");
	defaults_made[which] = q;
	probe_made(which, p, sel, w, d->percentile > 0);
	if (d->selector != NULL || d->ns != NULL || d->deployment != NULL) {
		free(scoped);
		scoped = sel;
	} else {
		free(sel);
	}
	return q;
}

/*
 * The deployment's ready replicas, from the Kubernetes API or kubectl,
 * when neither --pod nor QS_POD gave them.
 */
static int
ready_replicas(const struct qs_kube_opts *ko, const char *name, const char *ns,
    long *pod, char *dns, struct qs_err *err)
{
	struct qs_kube_scale sc;
	struct qs_kube *k;
	int http, rc;

	if (name == NULL)
		return qs_err_set(err, EX_USAGE, "no deployment to count the "
		    "ready replicas of: use --deployment, QS_DEPLOYMENT or --pod");
	if ((k = qs_kube_new(ko, err)) == NULL)
		return -1;
	rc = qs_kube_get_scale(k, qs_kube_namespace(k, ns), name, &sc, &http, err);
	qs_kube_free(k);
	if (rc != 0)
		return qs_err_wrap(err, "cannot get the ready replicas of %s", name);
	*pod = sc.ready;
	/* The Deployment's own namespace, for scope_namespace. */
	if (dns != NULL)
		snprintf(dns, sizeof(sc.namespace), "%s", sc.namespace);
	return 0;
}

static const char *env_window(const char *env, char *buf, size_t size);
static int to_figure(struct qs_prom *p, const char *what, const char *at,
    double v, double unit, int nan_zero, long *out, struct qs_err *err);
static int observe_range(const struct qs_prom_conf *conf, const char *range,
    long step, const char *lq, const char *rq, const char *pq, long pod,
    const struct defaults *d, int empty_zero, int next, enum qs_format fmt);

static void scope_namespace(struct defaults *d, const char *dns,
    const char **lq, char **lqbuf, const char **rq, char **rqbuf);
static int query_failed(struct qs_err *err, struct qs_prom *p,
    const char *what, const char *q);
static _Noreturn void range_empty(struct qs_prom *p, const size_t *samples,
    const char *lq, const char *rq, const char *pq);

static int
is_default(const char *q)
{
	return q == defaults_made[0] || q == defaults_made[1] ||
	    q == defaults_made[2];
}

/*
 * A query as an error shows it: long ones cut, so that the message stays
 * one readable line.  The text lives until the next call.
 */
static const char *
shown_query(const char *q)
{
	static char buf[84];
	size_t n = strlen(q);

	if (n < sizeof(buf))
		return q;
	snprintf(buf, sizeof(buf), "%.*s...", (int)sizeof(buf) - 4, q);
	return buf;
}

/*
 * Evaluate one query and round its answer, scaled by unit, half away
 * from zero.  NaN is 0 when nan_zero (a latency over no requests).
 */
static int
figure(struct qs_prom *p, const char *what, const char *q, double t,
    double unit, int nan_zero, int empty_zero, long *out, struct qs_err *err)
{
	double v;
	int rc;

	if ((rc = qs_prom_query(p, q, t, &v, err)) == -1)
		return query_failed(err, p, what, q);
	if (rc == QS_PROM_EMPTY) {
		if (!empty_zero && is_default(q) && too_short(p, q, t))
			return qs_err_set(err, EX_UNAVAILABLE, "cannot get %s from "
			    "%s: no data for %s (an empty vector), though its "
			    "series are scraped: they have fewer than two samples "
			    "in the window %s; make --window at least twice the "
			    "scrape interval", what, qs_prom_url(p), shown_query(q),
			    probe_window);
		if (!empty_zero && scoped != NULL && is_default(q))
			return qs_err_set(err, EX_UNAVAILABLE, "cannot get %s from "
			    "%s: no data for %s (an empty vector); is the target "
			    "scraped, with the labels %s (--selector)?", what,
			    qs_prom_url(p), shown_query(q), scoped);
		if (!empty_zero)
			return qs_err_set(err, EX_UNAVAILABLE, "cannot get %s from "
			    "%s: no data for %s (an empty vector); is the target "
			    "scraped?", what, qs_prom_url(p), shown_query(q));
		v = 0;
	}
	return to_figure(p, what, "", v, unit, nan_zero, out, err);
}

/*
 * The figure of a query's answer v, scaled by unit and rounded half away
 * from zero; at is "" or " at TIME" for messages.
 */
static int
to_figure(struct qs_prom *p, const char *what, const char *at, double v,
    double unit, int nan_zero, long *out, struct qs_err *err)
{
	char shown[32];
	double r;

	if (isnan(v) && nan_zero)
		v = 0;
	r = round(v * unit);
	if (isnan(r) || r < 0 || r > FIGURE_MAX(what)) {
		/* Name the value as Prometheus writes it. */
		if (isnan(v))
			snprintf(shown, sizeof(shown), "NaN");
		else if (isinf(v))
			snprintf(shown, sizeof(shown), "%cInf", v > 0 ? '+' : '-');
		else
			snprintf(shown, sizeof(shown), "%g", v);
		return qs_err_set(err, EX_DATAERR, "cannot get %s from %s%s: "
		    "the query answered %s, not a figure from 0 to %g", what,
		    qs_prom_url(p), at, shown, FIGURE_MAX(what) / unit);
	}
	*out = (long)r;
	return 0;
}

static int
observe(struct qs_prom *p, const char *lq, const char *rq, int empty_zero,
    struct state *s, struct qs_err *err)
{
	struct timespec ts;
	struct tm tm;
	double now;
	long ms;
	size_t n;

	/*
	 * To the millisecond, Prometheus' resolution: both queries are
	 * evaluated at the instant the record names, and two observations
	 * are told apart by it (a transition's identity starts with it).
	 */
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return qs_err_sys(err, EX_OSERR, "cannot read the clock");
	ms = ts.tv_nsec / 1000000;
	now = (double)ts.tv_sec + (double)ms / 1000;
	if (gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    (n = strftime(s->time, sizeof(s->time), "%Y-%m-%dT%H:%M:%S",
	    &tm)) == 0 ||
	    snprintf(s->time + n, sizeof(s->time) - n, ".%03ldZ", ms) < 0)
		return qs_err_set(err, EX_SOFTWARE, "cannot format the time");
	if (figure(p, "latency", lq, now, 1000, 1, empty_zero, &s->latency,
	    err) != 0)
		return -1;
	return figure(p, "requests", rq, now, 1, 0, empty_zero, &s->requests,
	    err);
}

/* Set the state's fields in rec (borrowed), their names prefixed. */
static void
put_state(json_t *rec, const char *prefix, const struct state *s)
{
	struct qs_obs o = { s->pod, (double)s->latency, (double)s->requests };
	char key[32];

	snprintf(key, sizeof(key), "%stime", prefix);
	qs_rec_set(rec, key, json_string(s->time));
	qs_rec_obs_set(rec, prefix, &o);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'B' },
		{ "backoff", required_argument, NULL, 'b' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "deployment", required_argument, NULL, 'D' },
		{ "empty-as-zero", no_argument, NULL, 'z' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "insecure-skip-tls-verify", no_argument, NULL, 'k' },
		{ "kube-cacert", required_argument, NULL, 'C' },
		{ "kube-insecure-skip-tls-verify", no_argument, NULL, 'K' },
		{ "kube-server", required_argument, NULL, 'S' },
		{ "kube-token-file", required_argument, NULL, 'O' },
		{ "latency-percentile", required_argument, NULL, 'q' },
		{ "latency-query", required_argument, NULL, 'L' },
		{ "metric-prefix", required_argument, NULL, 'M' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "next", no_argument, NULL, 'n' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "path", required_argument, NULL, 'a' },
		{ "pod", required_argument, NULL, 'p' },
		{ "prometheus", required_argument, NULL, 'u' },
		{ "range", required_argument, NULL, 'G' },
		{ "replicas-query", required_argument, NULL, 'Q' },
		{ "requests-query", required_argument, NULL, 'R' },
		{ "retries", required_argument, NULL, 'r' },
		{ "selector", required_argument, NULL, 'l' },
		{ "step", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "user", required_argument, NULL, 'U' },
		{ "version", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_kube_opts ko = { 0 };
	struct qs_prom_conf conf = { 0 };
	struct defaults dq = { 0 };
	struct qs_err err = { 0 };
	struct qs_prom *prom;
	struct qs_reader *r = NULL;
	struct qs_writer *w;
	struct state st;
	enum qs_format fmt = QS_FMT_AUTO;
	const char *path = NULL, *window = NULL, *lq = NULL, *rq = NULL, *env;
	const char *deployment = NULL, *ns = NULL, *range = NULL, *pq = NULL;
	const char *name_src = "--deployment", *ns_src = "--namespace";
	/* Where each query setting came from, an option or QS_*, for messages. */
	const char *lq_src = "--latency-query", *sel_src = "--selector";
	const char *pct_src = "--latency-percentile", *pre_src = "--metric-prefix";
	char *lqbuf = NULL, *rqbuf = NULL, winbuf[QS_NUM_MAX + 2];
	char dns[sizeof(((struct qs_kube_scale *)0)->namespace)] = "";
	json_t *rec = NULL;
	long pod = -1, pod0, step = -1;
	int c, next = 0, empty_zero = 0, rc, again = 0;

	qs_setprogname(argv[0]);
	conf.url = qs_env("QS_PROMETHEUS_URL", "http://localhost:9090");
	conf.timeout = 10;
	conf.retries = 2;
	conf.backoff = 1;
	ko.backend = QS_KUBE_AUTO;
	ko.timeout = 10;
	ko.kubectl = "kubectl";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			path = optarg;
			break;
		case 'B':
			if (qs_kube_backend_parse(optarg, &ko.backend) != 0)
				qs_die(EX_USAGE, "invalid --backend: %s (api, kubectl "
				    "or auto)", optarg);
			break;
		case 'b':
			conf.backoff = qs_opt_double("--backoff", optarg, 0, 30);
			break;
		case 'C':
			ko.cacert = optarg;
			break;
		case 'c':
			conf.cacert = optarg;
			break;
		case 'D':
			deployment = optarg;
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			break;
		case 'G':
			range = optarg;
			break;
		case 'h':
			help();
			break;
		case 'K':
			ko.insecure = 1;
			break;
		case 'k':
			conf.insecure = 1;
			break;
		case 'L':
			lq = optarg;
			break;
		case 'l':
			dq.selector = optarg;
			break;
		case 'M':
			dq.prefix = optarg;
			break;
		case 'q':
			dq.percentile = percentile("--latency-percentile", optarg);
			break;
		case 'N':
			ns = optarg;
			break;
		case 'n':
			next = 1;
			break;
		case 'O':
			ko.token_file = optarg;
			break;
		case 'P':
			conf.password_file = optarg;
			break;
		case 'p':
			pod = qs_opt_long("--pod", optarg, 0, 1000000);
			break;
		case 'Q':
			pq = optarg;
			break;
		case 'R':
			rq = optarg;
			break;
		case 'S':
			ko.server = optarg;
			break;
		case 'r':
			conf.retries = qs_opt_long("--retries", optarg, 0, 100);
			break;
		case 's':
			step = qs_opt_long("--step", optarg, 1, 86400);
			break;
		case 'T':
			conf.token_file = optarg;
			break;
		case 't':
			conf.timeout = qs_opt_double("--timeout", optarg, 0.001,
			    86400);
			break;
		case 'U':
			conf.user = optarg;
			break;
		case 'u':
			conf.url = optarg;
			break;
		case 'o':
			qs_records_set_unbuffered(1);
			break;
		case 'V':
			qs_print_version();
			return qs_fshut_stdout();
		case 'w':
			window = optarg;
			break;
		case 'z':
			empty_zero = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0) {
		qs_warn("unexpected operand: %s", argv[0]);
		usage();
	}
	if (lq == NULL && (lq = qs_env("QS_LATENCY_QUERY", NULL)) != NULL)
		lq_src = "QS_LATENCY_QUERY";
	if (rq == NULL)
		rq = qs_env("QS_REQUESTS_QUERY", NULL);
	if (dq.selector == NULL &&
	    (dq.selector = qs_env("QS_SELECTOR", NULL)) != NULL)
		sel_src = "QS_SELECTOR";
	if (dq.percentile == 0 &&
	    (env = qs_env("QS_LATENCY_PERCENTILE", NULL)) != NULL) {
		dq.percentile = percentile("QS_LATENCY_PERCENTILE", env);
		pct_src = "QS_LATENCY_PERCENTILE";
	}
	if (dq.prefix == NULL &&
	    (dq.prefix = qs_env("QS_METRIC_PREFIX", NULL)) != NULL)
		pre_src = "QS_METRIC_PREFIX";
	if (dq.prefix != NULL && !valid_metric(dq.prefix))
		qs_die(EX_USAGE, "invalid %s: %s (letters, digits, _ and :, not "
		    "first a digit)", pre_src, dq.prefix);
	if (dq.selector != NULL && path != NULL)
		qs_die(EX_USAGE, "--path and %s exclude each other: put the path "
		    "in the selector", sel_src);
	if (dq.percentile > 0 && lq != NULL)
		qs_die(EX_USAGE, "%s and %s exclude each other", pct_src, lq_src);
	if ((dq.selector != NULL || dq.prefix != NULL) && lq != NULL &&
	    rq != NULL)
		qs_die(EX_USAGE, "%s%s%s change%s only the default queries, and "
		    "both are replaced", dq.selector != NULL ? sel_src : "",
		    dq.selector != NULL && dq.prefix != NULL ? " and " : "",
		    dq.prefix != NULL ? pre_src : "",
		    dq.selector != NULL && dq.prefix != NULL ? "" : "s");
	if (window != NULL && !valid_range(window))
		qs_die(EX_USAGE, "invalid --window: %s (a PromQL duration such "
		    "as 30s or 1m30s)", window);
	if ((path != NULL || window != NULL) && lq != NULL && rq != NULL)
		qs_die(EX_USAGE, "--path and --window change only the default "
		    "queries, and both are replaced");
	/* The window of QS_WINDOW, in seconds as qs-decide reads it. */
	if (window == NULL && (env = qs_env("QS_WINDOW", NULL)) != NULL)
		window = env_window(env, winbuf, sizeof(winbuf));
	if ((lq != NULL && *lq == '\0') || (rq != NULL && *rq == '\0'))
		qs_die(EX_USAGE, "a query must not be empty");
	if (qs_records_unbuffered() && !next)
		qs_die(EX_USAGE, "--unbuffered needs --next");
	/* Credentials on the command line replace those of the environment. */
	if (conf.user == NULL && conf.password_file == NULL &&
	    conf.token_file == NULL) {
		conf.user = qs_env("QS_PROMETHEUS_USER", NULL);
		conf.password_file = qs_env("QS_PROMETHEUS_PASSWORD_FILE", NULL);
		conf.token_file = qs_env("QS_PROMETHEUS_TOKEN_FILE", NULL);
	}
	if (pod < 0 && (env = qs_env("QS_POD", NULL)) != NULL)
		pod = qs_opt_long("QS_POD", env, 0, 1000000);
	if (deployment == NULL) {
		deployment = qs_env("QS_DEPLOYMENT", NULL);
		name_src = "QS_DEPLOYMENT";
	}
	if (ns == NULL) {
		ns = qs_env("QS_NAMESPACE", NULL);
		ns_src = "QS_NAMESPACE";
	}
	/* Checked even with --pod: a bad name is a mistake either way. */
	if ((deployment != NULL &&
	    qs_name_check_deployment(deployment, name_src, &err) != 0) ||
	    qs_name_check_namespace(ns, ns_src, &err) != 0)
		qs_die_err(&err);
	qs_kube_opts_env(&ko);
	if (ko.backend == QS_KUBE_KUBECTL && (ko.server || ko.token_file ||
	    ko.cacert || ko.insecure))
		qs_die(EX_USAGE, "--kube-server, --kube-token-file, --kube-cacert "
		    "and --kube-insecure-skip-tls-verify need the api backend");
	if (ko.insecure && ko.cacert)
		qs_die(EX_USAGE, "--kube-insecure-skip-tls-verify and --kube-cacert "
		    "contradict each other");
	if (range == NULL && (pq != NULL || step > 0))
		qs_die(EX_USAGE, "--replicas-query and --step need --range");
	dq.path = path;
	dq.sel_src = sel_src;
	dq.window = window;
	dq.ns = ns;
	dq.deployment = deployment;
	if (range != NULL)
		return observe_range(&conf, range, step > 0 ? step : 15, lq, rq,
		    pq, pod, &dq, empty_zero, next, fmt);
	/* A bad selector fails before anything is asked. */
	if (lq == NULL)
		lq = lqbuf = default_query(Q_LATENCY, &dq);
	if (rq == NULL)
		rq = rqbuf = default_query(Q_REQUESTS, &dq);
	ko.timeout = conf.timeout;
	pod0 = pod;
	/* No deployment to ask is a usage error before any input is read. */
	if (pod < 0 && deployment == NULL &&
	    ready_replicas(&ko, NULL, ns, &pod, NULL, &err) != 0)
		qs_die_err(&err);

	if ((prom = qs_prom_new(&conf, &err)) == NULL)
		qs_die_err(&err);

	/* With --next, a bad first record fails before any query. */
	if (next) {
		r = qs_reader_new(stdin, "<stdin>");
		if ((rc = qs_reader_next(r, &rec, &err)) == -1)
			qs_die_err(&err);
		if (rc == 0)
			qs_die(EX_DATAERR, "no record on standard input to add "
			    "the next state to");
		if (fmt == QS_FMT_AUTO)
			fmt = qs_reader_format(r);
	}
	/*
	 * The ready replicas of the moment observed: with --next, once the
	 * first record is read, which a co-process is given when its wait is
	 * over, not when it starts.
	 */
	if (pod < 0 && ready_replicas(&ko, deployment, ns, &pod, dns, &err) != 0)
		qs_die_err(&err);
	if (pod0 < 0)
		scope_namespace(&dq, dns, &lq, &lqbuf, &rq, &rqbuf);
	st.pod = pod;
	if (observe(prom, lq, rq, empty_zero, &st, &err) != 0)
		qs_die_err(&err);

	w = qs_writer_new(stdout, fmt);
	if (!next) {
		rec = json_object();
		put_state(rec, "", &st);
		if (qs_writer_put(w, rec, &err) != 0)
			qs_die_err(&err);
		json_decref(rec);
	} else {
		do {
			/* A co-process's records come one at a time: each is new. */
			if (again++ && qs_records_unbuffered()) {
				st.pod = pod0;
				if ((pod0 < 0 && ready_replicas(&ko, deployment, ns,
				    &st.pod, NULL, &err) != 0) ||
				    observe(prom, lq, rq, empty_zero, &st, &err) != 0)
					qs_die_err(&err);
			}
			put_state(rec, "new_", &st);
			if (qs_writer_put(w, rec, &err) != 0)
				qs_die_err(&err);
			json_decref(rec);
		} while ((rc = qs_reader_next(r, &rec, &err)) == 1);
		if (rc == -1)
			qs_die_err(&err);
		qs_reader_free(r);
	}
	qs_writer_free(w);
	qs_prom_free(prom);
	free(lqbuf);
	free(rqbuf);
	free(scoped);
	return qs_fshut_stdout();
}

/* Records a range asks Prometheus for at a time: under its 11,000. */
#define PAGE 10000L


/* START,END of --range, each RFC 3339 or seconds since the epoch. */
static void
parse_range(const char *arg, double *start, double *end)
{
	char *s = xstrdup(arg), *comma = strchr(s, ',');

	if (comma == NULL)
		qs_die(EX_USAGE, "invalid --range: %s (START,END, each RFC 3339 "
		    "or seconds since the epoch)", arg);
	*comma = '\0';
	if (qs_time_parse(s, start) != 0 || qs_time_parse(comma + 1, end) != 0)
		qs_die(EX_USAGE, "invalid --range: %s (START,END, each RFC 3339 "
		    "or seconds since the epoch)", arg);
	free(s);
	/* Records name whole seconds. */
	*start = ceil(*start);
	*end = floor(*end);
	if (*end < *start)
		qs_die(EX_USAGE, "invalid --range: %s (its end is before its "
		    "start)", arg);
}

/* The index of time t in r from *j on, or -1 when r has no sample at t. */
static long
sample_at(const struct qs_prom_range *r, size_t *j, double t)
{
	while (*j < r->n && r->t[*j] < t - 5e-4)
		(*j)++;
	if (*j < r->n && fabs(r->t[*j] - t) < 5e-4)
		return (long)*j;
	return -1;
}

/* One query over one page; an empty answer is a page without samples. */
static void
page_query(struct qs_prom *p, const char *what, const char *q, double a,
    double b, double step, struct qs_prom_range *out)
{
	struct qs_err err = { 0 };

	if (qs_prom_query_range(p, q, a, b, step, out, &err) == -1) {
		query_failed(&err, p, what, q);
		qs_die_err(&err);
	}
}

/*
 * --range: the latency, requests and replicas queries over the range, one
 * record per step at the times Prometheus evaluated them, a page of PAGE
 * times at a time so that memory stays bounded whatever the range.  A
 * time where a query has no sample is left out, or read as 0 with
 * --empty-as-zero, and the count of those left out is reported.
 */
static int
observe_range(const struct qs_prom_conf *conf, const char *range, long step,
    const char *lq, const char *rq, const char *pq, long pod,
    const struct defaults *d, int empty_zero, int next, enum qs_format fmt)
{
	struct qs_prom_range lat, req, rep;
	struct qs_err err = { 0 };
	struct qs_prom *prom;
	struct qs_writer *w;
	struct state *st = xcalloc(PAGE, sizeof(*st));
	char *lqbuf = NULL, *rqbuf = NULL, *pqbuf = NULL, at[48];
	double start, end, a, b, t;
	size_t jl, jr, jp;
	long i, k, n, il, ir, ip, skipped = 0, total = 0;
	size_t samples[3] = { 0, 0, 0 };
	json_t *rec;

	if (next)
		qs_die(EX_USAGE, "--next and --range exclude each other");
	if (pod >= 0 && pq != NULL)
		qs_die(EX_USAGE, "--pod and --replicas-query exclude each other");
	parse_range(range, &start, &end);
	if (lq == NULL)
		lq = lqbuf = default_query(Q_LATENCY, d);
	if (rq == NULL)
		rq = rqbuf = default_query(Q_REQUESTS, d);
	if (pod < 0 && pq == NULL)
		pq = pqbuf = default_query(Q_REPLICAS, d);
	if ((prom = qs_prom_new(conf, &err)) == NULL)
		qs_die_err(&err);
	w = qs_writer_new(stdout, fmt);
	memset(&rep, 0, sizeof(rep));
	for (a = start; a <= end; a = b + (double)step) {
		b = fmin(end, a + (double)(PAGE - 1) * (double)step);
		n = qs_prom_range_points(a, b, (double)step);
		page_query(prom, "latency", lq, a, b, (double)step, &lat);
		page_query(prom, "requests", rq, a, b, (double)step, &req);
		if (pq != NULL)
			page_query(prom, "replicas", pq, a, b, (double)step, &rep);
		samples[Q_LATENCY] += lat.n;
		samples[Q_REQUESTS] += req.n;
		samples[Q_REPLICAS] += rep.n;
		jl = jr = jp = 0;
		/* A page is checked whole before any of it is written. */
		for (i = 0, k = 0; i < n; i++) {
			t = a + (double)i * (double)step;
			total++;
			il = sample_at(&lat, &jl, t);
			ir = sample_at(&req, &jr, t);
			ip = pq != NULL ? sample_at(&rep, &jp, t) : 0;
			if ((il < 0 || ir < 0 || ip < 0) && !empty_zero) {
				skipped++;
				continue;
			}
			if (qs_time_format(st[k].time, t) != 0)
				qs_die(EX_USAGE, "invalid --range: %s (a time out "
				    "of range)", range);
			snprintf(at, sizeof(at), " at %s", st[k].time);
			if (to_figure(prom, "latency", at, il < 0 ? 0 : lat.v[il],
			    1000, 1, &st[k].latency, &err) != 0 ||
			    to_figure(prom, "requests", at, ir < 0 ? 0 : req.v[ir],
			    1, 0, &st[k].requests, &err) != 0)
				qs_die_err(&err);
			st[k].pod = pod;
			if (pq != NULL && to_figure(prom, "replicas", at, ip < 0 ?
			    0 : rep.v[ip], 1, 0, &st[k].pod, &err) != 0)
				qs_die_err(&err);
			k++;
		}
		for (i = 0; i < k; i++) {
			rec = json_object();
			put_state(rec, "", &st[i]);
			if (qs_writer_put(w, rec, &err) != 0)
				qs_die_err(&err);
			json_decref(rec);
		}
		qs_prom_range_free(&lat);
		qs_prom_range_free(&req);
		qs_prom_range_free(&rep);
	}
	if (skipped == total) {
		free(st);
		range_empty(prom, samples, lq, rq, pq);
	}
	if (skipped > 0)
		qs_warn("%ld of the %ld times had no sample of a query and were "
		    "left out", skipped, total);
	qs_writer_free(w);
	qs_prom_free(prom);
	free(lqbuf);
	free(rqbuf);
	free(pqbuf);
	free(scoped);
	free(st);
	return qs_fshut_stdout();
}

/*
 * QS_WINDOW's seconds as a PromQL duration in buf: whole seconds as "30s",
 * others to the millisecond.  A value that is neither is a usage error.
 */
static const char *
env_window(const char *env, char *buf, size_t size)
{
	double v = qs_opt_double("QS_WINDOW", env, 1e-3, 1e9);

	if (v == floor(v))
		snprintf(buf, size, "%.0fs", v);
	else
		snprintf(buf, size, "%.0fms", round(v * 1000));
	return buf;
}

/*
 * Introduce the error of query q for what.  A query Prometheus refuses
 * (EX_CONFIG) is named, since no retry mends it: the user mends it.
 */
static int
query_failed(struct qs_err *err, struct qs_prom *p, const char *what,
    const char *q)
{
	if (err->status == EX_CONFIG)
		return qs_err_wrap(err, "cannot get %s from %s: invalid query %s",
		    what, qs_prom_url(p), shown_query(q));
	return qs_err_wrap(err, "cannot get %s from %s", what, qs_prom_url(p));
}

/*
 * --range found no time with a sample of every query: name the first
 * query that had none at all, as an instant query's empty answer is
 * named, else say that their samples never met.  samples holds each
 * query's count by enum query; pq is NULL with --pod.
 */
static _Noreturn void
range_empty(struct qs_prom *p, const size_t *samples, const char *lq,
    const char *rq, const char *pq)
{
	static const char *what[] = { "latency", "requests", "replicas" };
	const char *q[3] = { lq, rq, pq };
	int i;

	for (i = 0; i < 3; i++) {
		if (q[i] == NULL || samples[i] > 0)
			continue;
		if (scoped != NULL && is_default(q[i]))
			qs_die(EX_UNAVAILABLE, "cannot get %s from %s: no data "
			    "for %s over the range; is the target scraped, with "
			    "the labels %s (--selector)?", what[i], qs_prom_url(p),
			    shown_query(q[i]), scoped);
		qs_die(EX_UNAVAILABLE, "cannot get %s from %s: no data for %s "
		    "over the range; is the target scraped?", what[i],
		    qs_prom_url(p), shown_query(q[i]));
	}
	qs_die(EX_UNAVAILABLE, "cannot get observations from %s: no time of "
	    "the range has a sample of every query (%s)", qs_prom_url(p),
	    pq != NULL ? "latency, requests and replicas" :
	    "latency and requests");
}

/*
 * The default queries of a deployment asked of Kubernetes for its ready
 * replicas, when no namespace was given: scoped to the Deployment's own
 * (dns, its metadata.namespace, "" when unknown), the one its pod count
 * is of (the service account's, kubectl's context's).  Without it, a
 * deployment of the same name in another namespace would add its
 * requests to this one's, and blend its latency in, under this one's pod
 * count.  lq and rq are rebuilt when they are the defaults (*lqbuf,
 * *rqbuf); queries of the user's own are left as given.
 */
static void
scope_namespace(struct defaults *d, const char *dns, const char **lq,
    char **lqbuf, const char **rq, char **rqbuf)
{
	if (d->selector != NULL || d->ns != NULL || *dns == '\0')
		return;
	d->ns = dns;
	if (*lqbuf != NULL) {
		free(*lqbuf);
		*lq = *lqbuf = default_query(Q_LATENCY, d);
	}
	if (*rqbuf != NULL) {
		free(*rqbuf);
		*rq = *rqbuf = default_query(Q_REQUESTS, d);
	}
}

/*
 * For each default query, the count of the series it takes a rate of, at
 * an instant: a series a failed scrape ended is stale there, so series
 * found with no rate over the window have fewer than two samples in it.
 */
static char *probes[3];

static void
probe_made(enum query which, const char *prefix, const char *sel,
    const char *window, int buckets)
{
	static const char *const names[3] = { "_request_duration_seconds_count",
	    "_requests_total", "_requests_total" };
	size_t n;

	free(probes[which]);
	n = strlen(prefix) + strlen(sel) + sizeof("count(_request_duration_"
	    "seconds_bucket{}))");
	probes[which] = xmalloc(n);
	snprintf(probes[which], n, "count(%s%s{%s})", prefix, which ==
	    Q_LATENCY && buckets ? "_request_duration_seconds_bucket" :
	    names[which], sel);
	probe_window = window;
}

/*
 * Whether default query q answered nothing at t only because its window
 * is too short for the scrape interval: its series are there.  A failed
 * probe says nothing more than the empty answer did.
 */
static int
too_short(struct qs_prom *p, const char *q, double t)
{
	struct qs_err err = { 0 };
	double v;
	int i;

	for (i = 0; i < 3; i++)
		if (q == defaults_made[i] && probes[i] != NULL)
			return qs_prom_query(p, probes[i], t, &v, &err) == 0 &&
			    v > 0;
	return 0;
}
