/* See LICENSE file for copyright and license details. */
#ifndef QS_SERVE_INT_H
#define QS_SERVE_INT_H

/*
 * What the parts of qs-sim serve share: the server's state and the
 * functions one part offers the others.  serve.c starts, routes and stops;
 * serve_clock.c moves the model and the pods with time; serve_reply.c
 * answers; serve_objects.c builds the Kubernetes objects and kubectl's
 * tables; serve_select.c matches selectors; serve_kube.c answers the API
 * calls; serve_discovery.c the discovery documents; serve_metrics.c
 * /metrics; serve_hooks.c the /qs-sim/ hooks; serve_auth.c checks the
 * bearer token; serve_events.c keeps and lists Events.  Unless said otherwise, the caller holds s->mu.
 */

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/err.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simserve.h"

/* Most replicas the simulated deployment accepts. */
#define MAX_REPLICAS 1000
/* Longest request body accepted (a Scale object or a patch). */
#define MAX_BODY 65536
/* The threads that serve all connections. */
#define SERVE_THREADS 4
/* Most connections at once, and descriptors kept for other uses. */
#define SERVE_MAX_CONNECTIONS 4096
#define SERVE_FD_RESERVE 64
/* Seconds a connection may stay idle. */
#define SERVE_IDLE_TIMEOUT 10
/* Most deployments one server runs. */
#define SERVE_MAX_DEPLOYMENTS 64
/* Most seconds one call of the advance hook moves the clock: 30 days. */
#define SERVE_ADVANCE_MAX 2592000

/*
 * The latency histogram's upper bounds in seconds, +Inf left out:
 * Prometheus' default buckets, closer around the default ideal of 0.5 s,
 * and up to the model's cap of 30 s.
 */
#define SERVE_BUCKETS 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, \
	1.5, 2, 2.5, 5, 10, 30
#define SERVE_NBUCKETS 15
extern const double serve_buckets[SERVE_NBUCKETS];

struct pod {
	char name[320];
	time_t created;
	double requests;	/* counters of PREFIX_requests_total ... */
	double seconds;		/* ... and _request_duration_seconds_sum */
	double le[SERVE_NBUCKETS];	/* ... and its _bucket */
};

struct qs_simserve {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	int stopping;
	json_t *events;		/* serve_events.c: the Events, oldest first */
	unsigned port;
	char addr[128];

	const char *deployment, *namespace, *token;
	char uid[40], hash[11];
	time_t created;
	double tick;		/* seconds of the clock per trace interval */

	struct qs_sim sim;
	struct qs_rand names;	/* pod names, apart from the model's noise */
	struct pod *pods;	/* sim.replicas of them, oldest first */
	long npods;
	long ready;		/* sim.ready as last seen */
	unsigned long long version;
	long generation;

	/*
	 * The server's clock, in seconds since the start: the monotonic wall
	 * clock since t0 plus what the advance hook added, or, when manual,
	 * only what the hook added.  last is where the model stands on it.
	 */
	int manual;
	double t0, skipped, last;

	int fail_status;	/* the fail hook */
	long fail_count;
	char fail_method[16];	/* only calls with this method, or any */
	double delay;		/* the delay hook */
	long delay_count;

	/*
	 * The deployments one server runs: deps[0] is the server itself, the
	 * others are deployments of their own (state, pods, clock) sharing
	 * its daemon, lock, hooks and token.  Only deps[0] has them.
	 */
	struct qs_simserve **deps;
	long ndeps;
	const char *prefix;	/* of the metric names */
	char *labels;		/* ,key="value"... of --label, or "" */
};

/* A request's body, gathered over the upload calls. */
struct req {
	char *body;
	size_t len;
	int toolong;
};

/* serve_clock.c */
double serve_mono(void);	/* the monotonic wall clock; no lock needed */
void serve_random_chars(struct qs_rand *r, char *buf, size_t n);
void serve_pods_resize(struct qs_simserve *s, long n);
void serve_advance(struct qs_simserve *s);	/* up to serve_clock */
double serve_clock(const struct qs_simserve *s);
void serve_set_replicas(struct qs_simserve *s, long n);

/* serve_reply.c: body is freed by libmicrohttpd; v is stolen. */
enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned code,
    const char *ctype, char *body, size_t len);
enum MHD_Result serve_reply_json(struct MHD_Connection *c, unsigned code,
    json_t *v);
enum MHD_Result serve_reply_status(struct MHD_Connection *c, unsigned code,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* serve_objects.c: each json_t returned is a new reference. */
extern const char *const serve_deployment_cols[];
extern const char *const serve_pod_cols[];
char *serve_version_str(const struct qs_simserve *s, char *buf, size_t size);
json_t *serve_deployment_json(struct qs_simserve *s);
json_t *serve_scale_json(struct qs_simserve *s);
json_t *serve_pod_json(struct qs_simserve *s, long i);
json_t *serve_table_json(struct qs_simserve *s, const char *const *cols,
    json_t *rows);
json_t *serve_deployment_row(struct qs_simserve *s, json_t *d);
json_t *serve_pod_row(struct qs_simserve *s, long i, json_t *p);
int serve_wants_table(struct MHD_Connection *c);

/* serve_select.c */
int serve_selected(struct qs_simserve *s, struct MHD_Connection *c,
    const char *name, const char *phase);

/* serve.c: the deployment named (NULL: any namespace), or NULL. */
struct qs_simserve *serve_find(struct qs_simserve *root, const char *ns,
    const char *name);
/* The deployment a hook's ?deployment=&namespace= name, or deps[0]. */
struct qs_simserve *serve_hook_target(struct qs_simserve *root,
    struct MHD_Connection *c, int *all);
int serve_metric_prefix_check(const char *s, struct qs_err *err);
char *serve_labels_render(const char *const *labels, size_t n,
    struct qs_err *err);

/* serve_kube.c: s is the server, deps[0]. */
enum MHD_Result serve_kube(struct qs_simserve *s, struct MHD_Connection *c,
    const char *method, char **seg, int n, const struct req *rq);

/* serve_discovery.c */
enum MHD_Result serve_discovery(struct qs_simserve *s,
    struct MHD_Connection *c, char **seg, int n);

/* serve_metrics.c */
enum MHD_Result serve_metrics(struct qs_simserve *s, struct MHD_Connection *c);

/* serve_hooks.c */
enum MHD_Result serve_state(struct qs_simserve *s, struct MHD_Connection *c);
enum MHD_Result serve_hook(struct qs_simserve *s, struct MHD_Connection *c,
    const char *what);
enum MHD_Result serve_hook_advance(struct qs_simserve *s,
    struct MHD_Connection *c);

/* serve_events.c: the paths of Events, and their answers. */
int serve_events_path(char **seg, int n);
enum MHD_Result serve_events(struct qs_simserve *s, struct MHD_Connection *c,
    const char *method, char **seg, int n, const struct req *rq);
void serve_events_free(struct qs_simserve *s);

/* serve_auth.c */
int serve_authorized(struct qs_simserve *s, struct MHD_Connection *c);

#endif
