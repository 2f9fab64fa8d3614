/* See LICENSE file for copyright and license details. */
#ifndef QS_SIMSERVE_H
#define QS_SIMSERVE_H

#include <stddef.h>

#include "qs/err.h"
#include "qs/sim.h"

/*
 * qs-sim serve: an HTTP server on loopback that stands in for a cluster
 * running one deployment, or several.  It answers the Kubernetes REST
 * calls qscale and kubectl make for the deployments and their pods, and
 * serves the pods' request counters and latency histograms on /metrics
 * in the Prometheus text format.  The load
 * comes from the model in sim.h, moved on one trace interval per tick
 * seconds of wall time; the request rate is the trace's per second.
 * With tick 0 the clock is manual: it stands still but for
 * POST /qs-sim/advance, and the model moves one simulated second per
 * second the hook adds.
 * The server runs in a fixed pool of threads of its own until
 * qs_simserve_stop, with bounded connections and idle time; starting it
 * raises the soft limit on descriptors towards the hard one.
 */
struct qs_simserve_opts {
	const char *listen;	/* "ADDR:PORT", IPv4 or [IPv6]; port 0 picks */
	const char *deployment;
	const char *namespace;
	struct qs_sim_params p;	/* p.startup_delay in seconds of wall time */
	const double *trace;	/* borrowed, NULL for a constant rate */
	size_t n;
	double rate;		/* requests/s without a trace */
	double tick;		/* seconds of wall time per trace interval,
				   0 for a manual clock */
	long replicas;		/* at the start, all ready */
	unsigned long long seed;
	const char *token;	/* bearer token the API requires, or NULL */
	const char *tls_cert;	/* PEM text of certificate and key, or NULL */
	const char *tls_key;
	/*
	 * The metrics' names and extra labels: NULL for http_server, whose
	 * families are PREFIX_requests_total and the histogram
	 * PREFIX_request_duration_seconds; labels are "key=value" strings.
	 */
	const char *metric_prefix;
	const char *const *labels;	/* borrowed */
	size_t nlabels;
};

struct qs_simserve;

/*
 * Start serving.  The strings in o must outlive the server.  Returns
 * NULL with err (EX_USAGE for a bad address, EX_UNAVAILABLE when the
 * address cannot be bound or TLS is not available).
 */
struct qs_simserve *qs_simserve_start(const struct qs_simserve_opts *o,
    struct qs_err *err);

/*
 * Start serving n deployments on one server: o[0] gives the address, TLS
 * and token of all, each o[i] a deployment of its own (name, namespace,
 * model, trace, clock, metric names and labels).  Two deployments may
 * not share a name in one namespace.  Errors as qs_simserve_start's.
 */
struct qs_simserve *qs_simserve_start_many(const struct qs_simserve_opts *o,
    size_t n, struct qs_err *err);

/* The TCP port the server listens on. */
unsigned qs_simserve_port(const struct qs_simserve *s);

/* The address it listens on, as "127.0.0.1:8080"; belongs to s. */
const char *qs_simserve_addr(const struct qs_simserve *s);

/* Stop serving, wait for the connections' threads, free everything. */
void qs_simserve_stop(struct qs_simserve *s);

#endif
