/* See LICENSE file for copyright and license details. */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/err.h"
#include "qs/num.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simserve.h"
#include "qs/xalloc.h"

/* Most replicas the simulated deployment accepts. */
#define MAX_REPLICAS 1000
/* Longest request body accepted (a Scale object or a patch). */
#define MAX_BODY 65536

struct pod {
	char name[320];
	time_t created;
	double requests;	/* counters of http_server_requests_total ... */
	double seconds;		/* ... and _duration_seconds_sum */
};

struct qs_simserve {
	struct MHD_Daemon *d;
	pthread_mutex_t mu;
	int stopping;
	unsigned port;
	char addr[128];

	const char *deployment, *namespace, *token;
	char uid[40], hash[11];
	time_t created;
	double tick;

	struct qs_sim sim;
	struct qs_rand names;	/* pod names, apart from the model's noise */
	struct pod *pods;	/* sim.replicas of them, oldest first */
	long npods;
	long ready;		/* sim.ready as last seen */
	unsigned long long version;
	long generation;
	double t0, last;	/* monotonic wall clock */

	int fail_status;	/* the fail hook */
	long fail_count;
	char fail_method[16];	/* only calls with this method, or any */
	double delay;		/* the delay hook */
	long delay_count;
};

struct req {
	char *body;
	size_t len;
	int toolong;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
rfc3339(char *buf, size_t size, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An age as kubectl prints it: 45s, 3m20s, 7m, 2h5m, 5h, 3d. */
static void
age(char *buf, size_t size, time_t since)
{
	long s = (long)(time(NULL) - since);

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (s < 600)
		snprintf(buf, size, "%ldm%lds", s / 60, s % 60);
	else if (s < 3 * 3600)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 8 * 3600)
		snprintf(buf, size, "%ldh%ldm", s / 3600, s / 60 % 60);
	else if (s < 48 * 3600)
		snprintf(buf, size, "%ldh", s / 3600);
	else
		snprintf(buf, size, "%ldd", s / 86400);
}

static void
random_chars(struct qs_rand *r, char *buf, size_t n)
{
	/* The alphabet Kubernetes uses for generated names. */
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = alnum[qs_rand_below(r, sizeof(alnum) - 1)];
	buf[n] = '\0';
}

static void
pod_new(struct qs_simserve *s, struct pod *p)
{
	char sfx[6];
	long i;

	memset(p, 0, sizeof(*p));
	p->created = time(NULL);
	do {
		random_chars(&s->names, sfx, 5);
		snprintf(p->name, sizeof(p->name), "%s-%s-%s", s->deployment,
		    s->hash, sfx);
		for (i = 0; i < s->npods; i++)
			if (strcmp(s->pods[i].name, p->name) == 0)
				break;
	} while (i < s->npods);
}

/* Follow the model's desired count with the pod list. */
static void
pods_resize(struct qs_simserve *s, long n)
{
	long i;

	s->pods = xreallocarray(s->pods, n > 0 ? (size_t)n : 1,
	    sizeof(struct pod));
	for (i = s->npods; i < n; i++) {
		pod_new(s, &s->pods[i]);
		s->npods = i + 1;
	}
	s->npods = n;
}

/*
 * Bring the model up to now.  Time moves in steps that end at trace row
 * boundaries, so that each row's rate counts for exactly its interval;
 * the ready pods share each step's requests evenly.
 */
static void
advance(struct qs_simserve *s)
{
	double now = mono(), dt = now - s->last, speed, step, rate, lat, per;
	double interval = s->sim.p.interval, boundary;
	long i, ready;

	s->last = now;
	speed = interval / s->tick;	/* simulated seconds per second */
	while (dt > 0) {
		step = dt;
		if (s->sim.trace != NULL) {
			boundary = (floor(s->sim.now / interval) + 1) * interval;
			if ((boundary - s->sim.now) / speed < step)
				step = (boundary - s->sim.now) / speed;
			if (step < 1e-6)
				step = dt < 1e-6 ? dt : 1e-6;
		}
		rate = qs_sim_rate(&s->sim);
		ready = s->sim.ready < s->npods ? s->sim.ready : s->npods;
		if (ready > 0 && rate > 0) {
			lat = qs_sim_latency_now(&s->sim) / 1000;
			per = rate * step / (double)ready;
			for (i = 0; i < ready; i++) {
				s->pods[i].requests += per;
				s->pods[i].seconds += per * lat;
			}
		}
		qs_sim_advance(&s->sim, step * speed);
		dt -= step;
	}
	if (s->sim.ready != s->ready) {
		/* A change of status is a new version of the object. */
		s->ready = s->sim.ready;
		s->version++;
	}
}

static void
set_replicas(struct qs_simserve *s, long n)
{
	if (n == s->sim.replicas)
		return;
	qs_sim_scale(&s->sim, n);
	pods_resize(s, n);
	s->ready = s->sim.ready;
	s->generation++;
	s->version++;
}

/* Answers. */

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *ctype, char *body,
    size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Send v (stolen) as JSON. */
static enum MHD_Result
reply_json(struct MHD_Connection *c, unsigned code, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	if (s == NULL)
		s = xstrdup("{}");
	return reply(c, code, "application/json", s, strlen(s));
}

static const char *
reason_of(unsigned code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return code >= 500 ? "InternalError" : "BadRequest";
	}
}

/* A Kubernetes Status object for an error. */
static enum MHD_Result
reply_status(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result
reply_status(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(c, code, json_pack("{s:s,s:s,s:{},s:s,s:s,s:s,s:i}",
	    "kind", "Status", "apiVersion", "v1", "metadata", "status",
	    "Failure", "message", msg, "reason", reason_of(code), "code",
	    (int)code));
}

static char *
version_str(const struct qs_simserve *s, char *buf, size_t size)
{
	snprintf(buf, size, "%llu", s->version);
	return buf;
}

/* The pods' labels: a new reference. */
static json_t *
labels(const struct qs_simserve *s)
{
	return json_pack("{s:s}", "app", s->deployment);
}

/* The Deployment object: a new reference. */
static json_t *
deployment_json(struct qs_simserve *s)
{
	char ts[32], rv[32];
	long ready = s->sim.ready, n = s->sim.replicas;
	json_t *d, *conds;

	rfc3339(ts, sizeof(ts), s->created);
	conds = json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s,s:s}]",
	    "type", "Available", "status", ready > 0 || n == 0 ? "True" : "False",
	    "reason", ready > 0 || n == 0 ? "MinimumReplicasAvailable" :
	    "MinimumReplicasUnavailable", "message", "Deployment has minimum "
	    "availability.", "lastUpdateTime", ts, "lastTransitionTime", ts,
	    "type", "Progressing", "status", "True", "reason",
	    "NewReplicaSetAvailable", "message", "ReplicaSet has successfully "
	    "progressed.", "lastUpdateTime", ts, "lastTransitionTime", ts);
	d = json_pack("{s:s,s:s,"
	    "s:{s:s,s:s,s:s,s:s,s:I,s:s,s:o},"
	    "s:{s:I,s:{s:o},s:{s:{s:o},s:{s:[{s:s,s:s}]}},"
	    "s:{s:s},s:i,s:i},"
	    "s:{s:I,s:I,s:I,s:I,s:I,s:o}}",
	    "kind", "Deployment", "apiVersion", "apps/v1",
	    "metadata", "name", s->deployment, "namespace", s->namespace,
	    "uid", s->uid, "resourceVersion", version_str(s, rv, sizeof(rv)),
	    "generation", (json_int_t)s->generation, "creationTimestamp", ts,
	    "labels", labels(s),
	    "spec", "replicas", (json_int_t)n, "selector", "matchLabels",
	    labels(s), "template", "metadata", "labels", labels(s), "spec",
	    "containers", "name", "app", "image", "qs-sim",
	    "strategy", "type", "RollingUpdate", "revisionHistoryLimit", 10,
	    "progressDeadlineSeconds", 600,
	    "status", "observedGeneration", (json_int_t)s->generation,
	    "replicas", (json_int_t)n, "updatedReplicas", (json_int_t)n,
	    "readyReplicas", (json_int_t)ready, "availableReplicas",
	    (json_int_t)ready, "conditions", conds);
	if (n > ready)
		json_object_set_new(json_object_get(d, "status"),
		    "unavailableReplicas", json_integer(n - ready));
	return d;
}

/* The Scale subresource: a new reference. */
static json_t *
scale_json(struct qs_simserve *s)
{
	char ts[32], rv[32], sel[300];

	rfc3339(ts, sizeof(ts), s->created);
	snprintf(sel, sizeof(sel), "app=%s", s->deployment);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:I},s:{s:I,s:s}}",
	    "kind", "Scale", "apiVersion", "autoscaling/v1",
	    "metadata", "name", s->deployment, "namespace", s->namespace,
	    "uid", s->uid, "resourceVersion", version_str(s, rv, sizeof(rv)),
	    "creationTimestamp", ts,
	    "spec", "replicas", (json_int_t)s->sim.replicas,
	    "status", "replicas", (json_int_t)s->sim.replicas, "selector", sel);
}

/* Pod i: a new reference. */
static json_t *
pod_json(struct qs_simserve *s, long i)
{
	char ts[32], rv[32];
	const struct pod *p = &s->pods[i];
	int ready = i < s->sim.ready;

	rfc3339(ts, sizeof(ts), p->created);
	return json_pack("{s:s,s:s,"
	    "s:{s:s,s:s,s:s,s:s,s:s,s:o,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},"
	    "s:{s:[{s:s,s:s}]},"
	    "s:{s:s,s:[{s:s,s:s}],s:[{s:s,s:b,s:i,s:s,s:b}],s:s,s:s}}",
	    "kind", "Pod", "apiVersion", "v1",
	    "metadata", "name", p->name, "namespace", s->namespace,
	    "uid", p->name, "resourceVersion", version_str(s, rv, sizeof(rv)),
	    "creationTimestamp", ts, "labels", labels(s), "ownerReferences",
	    "apiVersion", "apps/v1", "kind", "ReplicaSet", "name",
	    s->deployment, "uid", s->uid, "controller", 1,
	    "blockOwnerDeletion", 1,
	    "spec", "containers", "name", "app", "image", "qs-sim",
	    "status", "phase", ready ? "Running" : "Pending", "conditions",
	    "type", "Ready", "status", ready ? "True" : "False",
	    "containerStatuses", "name", "app", "ready", ready, "restartCount", 0,
	    "image", "qs-sim", "started", ready, "podIP", "127.0.0.1",
	    "startTime", ts);
}

/*
 * A meta.k8s.io/v1 Table, what kubectl asks for to print: cols is a
 * NULL-terminated list of "Name:type", rows (stolen) an array of rows.
 * Returns a new reference.
 */
static json_t *
table_json(struct qs_simserve *s, const char *const *cols, json_t *rows)
{
	json_t *defs = json_array();
	char rv[32], name[64];
	const char *colon;
	size_t i;

	for (i = 0; cols[i] != NULL; i++) {
		colon = strchr(cols[i], ':');
		snprintf(name, sizeof(name), "%.*s", (int)(colon - cols[i]),
		    cols[i]);
		json_array_append_new(defs, json_pack("{s:s,s:s,s:s,s:s,s:i}",
		    "name", name, "type", colon + 1, "format", i == 0 ? "name" :
		    "", "description", name, "priority", 0));
	}
	return json_pack("{s:s,s:s,s:{s:s},s:o,s:o}", "kind", "Table",
	    "apiVersion", "meta.k8s.io/v1", "metadata", "resourceVersion",
	    version_str(s, rv, sizeof(rv)), "columnDefinitions", defs,
	    "rows", rows);
}

/*
 * A table row: cells (stolen) and the metadata of obj (borrowed).  Returns
 * a new reference.
 */
static json_t *
table_row(json_t *cells, json_t *obj)
{
	return json_pack("{s:o,s:{s:s,s:s,s:O}}", "cells", cells, "object",
	    "kind", "PartialObjectMetadata", "apiVersion", "meta.k8s.io/v1",
	    "metadata", json_object_get(obj, "metadata"));
}

/* The deployment's table row, from d (borrowed): a new reference. */
static json_t *
deployment_row(struct qs_simserve *s, json_t *d)
{
	char ready[64], a[32];

	snprintf(ready, sizeof(ready), "%ld/%ld", s->sim.ready, s->sim.replicas);
	age(a, sizeof(a), s->created);
	return table_row(json_pack("[s,s,I,I,s]", s->deployment, ready,
	    (json_int_t)s->sim.replicas, (json_int_t)s->sim.ready, a), d);
}

/* Pod i's table row, from p (borrowed): a new reference. */
static json_t *
pod_row(struct qs_simserve *s, long i, json_t *p)
{
	char a[32];
	int ready = i < s->sim.ready;

	age(a, sizeof(a), s->pods[i].created);
	return table_row(json_pack("[s,s,s,i,s]", s->pods[i].name,
	    ready ? "1/1" : "0/1", ready ? "Running" : "ContainerCreating", 0,
	    a), p);
}

static const char *const deployment_cols[] = { "Name:string", "Ready:string",
	"Up-to-date:integer", "Available:integer", "Age:string", NULL };
static const char *const pod_cols[] = { "Name:string", "Ready:string",
	"Status:string", "Restarts:integer", "Age:string", NULL };

static int
wants_table(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);

	return a != NULL && strstr(a, "as=Table") != NULL;
}

/*
 * Selectors, as kubectl sends them in labelSelector and fieldSelector:
 * terms joined by commas, each key=value, key==value, key!=value, and for
 * labels also key and !key.  Our objects have one label, app.  Returns 1
 * when the object matches, 0 when not, -1 when a term cannot be parsed or
 * names a field we do not have.
 */
static int
select_term(char *t, const char *const *keys, const char *const *vals,
    int labels)
{
	const char *val = NULL, *have = NULL;
	char *op, *key = t;
	int neg = 0, i;

	while (*key == ' ')
		key++;
	if ((op = strstr(key, "!=")) != NULL) {
		*op = '\0';
		val = op + 2;
		neg = 1;
	} else if ((op = strstr(key, "==")) != NULL) {
		*op = '\0';
		val = op + 2;
	} else if ((op = strchr(key, '=')) != NULL) {
		*op = '\0';
		val = op + 1;
	} else if (!labels) {
		return -1;
	} else if (*key == '!') {
		key++;
		neg = 1;
	}
	if (strpbrk(key, " ()") != NULL || *key == '\0')
		return -1;
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			have = vals[i];
	if (have == NULL && !labels)
		return -1;
	if (val == NULL)
		return neg ? have == NULL : have != NULL;
	return neg ? have == NULL || strcmp(have, val) != 0 :
	    have != NULL && strcmp(have, val) == 0;
}

static int
select_match(const char *sel, const char *const *keys,
    const char *const *vals, int labels)
{
	char buf[1024], *t, *save = NULL;
	int m;

	if (sel == NULL || *sel == '\0')
		return 1;
	if (strlen(sel) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", sel);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if ((m = select_term(t, keys, vals, labels)) != 1)
			return m;
	return 1;
}

/* Whether an object with these fields matches the request's selectors. */
static int
selected(struct qs_simserve *s, struct MHD_Connection *c, const char *name,
    const char *phase)
{
	const char *lkeys[] = { "app", NULL }, *lvals[] = { s->deployment };
	const char *fkeys[] = { "metadata.name", "metadata.namespace",
	    phase ? "status.phase" : NULL, NULL };
	const char *fvals[] = { name, s->namespace, phase };
	int l, f;

	l = select_match(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "labelSelector"), lkeys, lvals, 1);
	f = select_match(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "fieldSelector"), fkeys, fvals, 0);
	return l < 0 || f < 0 ? -1 : l && f;
}

/* A list of the deployment (or nothing, in another namespace). */
static enum MHD_Result
list_deployments(struct qs_simserve *s, struct MHD_Connection *c, int mine)
{
	char rv[32];
	json_t *items, *d;
	int m = selected(s, c, s->deployment, NULL);

	if (m < 0)
		return reply_status(c, 400, "unable to parse the selector, or "
		    "a field label not supported");
	mine = mine && m;
	items = json_array();
	if (wants_table(c)) {
		if (mine) {
			d = deployment_json(s);
			json_array_append_new(items, deployment_row(s, d));
			json_decref(d);
		}
		return reply_json(c, 200, table_json(s, deployment_cols, items));
	}
	if (mine)
		json_array_append_new(items, deployment_json(s));
	return reply_json(c, 200, json_pack("{s:s,s:s,s:{s:s},s:o}", "kind",
	    "DeploymentList", "apiVersion", "apps/v1", "metadata",
	    "resourceVersion", version_str(s, rv, sizeof(rv)), "items", items));
}

static enum MHD_Result
list_pods(struct qs_simserve *s, struct MHD_Connection *c, int mine)
{
	char rv[32];
	json_t *items, *p;
	int table = wants_table(c), m;
	long i;

	if (selected(s, c, "", "Running") < 0)
		return reply_status(c, 400, "unable to parse the selector, or "
		    "a field label not supported");
	items = json_array();
	for (i = 0; mine && i < s->npods; i++) {
		m = selected(s, c, s->pods[i].name, i < s->sim.ready ?
		    "Running" : "Pending");
		if (m != 1)
			continue;
		p = pod_json(s, i);
		if (table) {
			json_array_append_new(items, pod_row(s, i, p));
			json_decref(p);
		} else {
			json_array_append_new(items, p);
		}
	}
	if (table)
		return reply_json(c, 200, table_json(s, pod_cols, items));
	return reply_json(c, 200, json_pack("{s:s,s:s,s:{s:s},s:o}", "kind",
	    "PodList", "apiVersion", "v1", "metadata", "resourceVersion",
	    version_str(s, rv, sizeof(rv)), "items", items));
}

static enum MHD_Result
get_deployment(struct qs_simserve *s, struct MHD_Connection *c)
{
	json_t *d = deployment_json(s), *rows;

	if (!wants_table(c))
		return reply_json(c, 200, d);
	rows = json_pack("[o]", deployment_row(s, d));
	json_decref(d);
	return reply_json(c, 200, table_json(s, deployment_cols, rows));
}

static enum MHD_Result
get_pod(struct qs_simserve *s, struct MHD_Connection *c, const char *name)
{
	json_t *p, *rows;
	long i;

	for (i = 0; i < s->npods; i++)
		if (strcmp(s->pods[i].name, name) == 0)
			break;
	if (i == s->npods)
		return reply_status(c, 404, "pods \"%s\" not found", name);
	p = pod_json(s, i);
	if (!wants_table(c))
		return reply_json(c, 200, p);
	rows = json_pack("[o]", pod_row(s, i, p));
	json_decref(p);
	return reply_json(c, 200, table_json(s, pod_cols, rows));
}

/*
 * PATCH (a merge patch) or PUT (a whole Scale) of the scale subresource.
 * Both may carry metadata.resourceVersion, a precondition.
 */
static enum MHD_Result
change_scale(struct qs_simserve *s, struct MHD_Connection *c, int put,
    const struct req *rq)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *rv;
	char cur[32];
	json_t *body, *v;
	json_int_t n;

	if (!put && (ct == NULL || (strncmp(ct, "application/merge-patch+json",
	    28) != 0 && strncmp(ct, "application/strategic-merge-patch+json",
	    38) != 0)))
		return reply_status(c, 415, "the body of the request was in an "
		    "unknown format - accepted media types include: "
		    "application/merge-patch+json, "
		    "application/strategic-merge-patch+json");
	if (rq->toolong)
		return reply_status(c, 413, "request entity too large");
	body = rq->body ? json_loadb(rq->body, rq->len, 0, NULL) : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		return reply_status(c, 400, "the request body is not a JSON "
		    "object");
	}
	rv = json_string_value(json_object_get(json_object_get(body,
	    "metadata"), "resourceVersion"));
	if (rv != NULL && *rv != '\0' &&
	    strcmp(rv, version_str(s, cur, sizeof(cur))) != 0) {
		json_decref(body);
		return reply_status(c, 409, "Operation cannot be fulfilled on "
		    "deployments.apps \"%s\": the object has been modified; "
		    "please apply your changes to the latest version and try "
		    "again", s->deployment);
	}
	v = json_object_get(json_object_get(body, "spec"), "replicas");
	if (v == NULL && !put) {
		json_decref(body);
		return reply_json(c, 200, scale_json(s));
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
	    n > MAX_REPLICAS) {
		json_decref(body);
		return reply_status(c, 422, "Scale.autoscaling \"%s\" is invalid: "
		    "spec.replicas: Invalid value: must be an integer from 0 to "
		    "%d", s->deployment, MAX_REPLICAS);
	}
	json_decref(body);
	set_replicas(s, (long)n);
	return reply_json(c, 200, scale_json(s));
}

/* An APIResource of a discovery document: a new reference. */
static json_t *
resource(const char *name, const char *kind, int namespaced,
    const char *verbs, const char *shortname)
{
	json_t *r, *v = json_array();
	char buf[128], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", verbs);
	for (p = strtok_r(buf, " ", &save); p; p = strtok_r(NULL, " ", &save))
		json_array_append_new(v, json_string(p));
	r = json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "singularName",
	    "", "namespaced", namespaced, "kind", kind, "verbs", v);
	if (shortname != NULL)
		json_object_set_new(r, "shortNames", json_pack("[s]", shortname));
	if (strchr(name, '/') == NULL)
		json_object_set_new(r, "categories", json_pack("[s]", "all"));
	return r;
}

static enum MHD_Result
discovery(struct qs_simserve *s, struct MHD_Connection *c, char **seg, int n)
{
	json_t *r, *scale;

	if (n == 1 && strcmp(seg[0], "api") == 0)
		return reply_json(c, 200, json_pack("{s:s,s:[s],s:[{s:s,s:s}]}",
		    "kind", "APIVersions", "versions", "v1",
		    "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
		    "serverAddress", s->addr));
	if (n == 1)
		return reply_json(c, 200, json_pack("{s:s,s:s,s:[{s:s,"
		    "s:[{s:s,s:s}],s:{s:s,s:s}}]}", "kind", "APIGroupList",
		    "apiVersion", "v1", "groups", "name", "apps", "versions",
		    "groupVersion", "apps/v1", "version", "v1",
		    "preferredVersion", "groupVersion", "apps/v1", "version",
		    "v1"));
	if (n == 2 && strcmp(seg[0], "apis") == 0 && strcmp(seg[1], "apps") == 0)
		return reply_json(c, 200, json_pack("{s:s,s:s,s:s,"
		    "s:[{s:s,s:s}],s:{s:s,s:s}}", "kind", "APIGroup",
		    "apiVersion", "v1", "name", "apps", "versions",
		    "groupVersion", "apps/v1", "version", "v1",
		    "preferredVersion", "groupVersion", "apps/v1", "version",
		    "v1"));
	if (n == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0) {
		r = json_array();
		json_array_append_new(r, resource("pods", "Pod", 1, "get list",
		    "po"));
		return reply_json(c, 200, json_pack("{s:s,s:s,s:o}", "kind",
		    "APIResourceList", "groupVersion", "v1", "resources", r));
	}
	if (n == 3 && strcmp(seg[0], "apis") == 0 &&
	    strcmp(seg[1], "apps") == 0 && strcmp(seg[2], "v1") == 0) {
		r = json_array();
		json_array_append_new(r, resource("deployments", "Deployment", 1,
		    "get list", "deploy"));
		scale = resource("deployments/scale", "Scale", 1,
		    "get patch update", NULL);
		json_object_set_new(scale, "group", json_string("autoscaling"));
		json_object_set_new(scale, "version", json_string("v1"));
		json_array_append_new(r, scale);
		return reply_json(c, 200, json_pack("{s:s,s:s,s:s,s:o}", "kind",
		    "APIResourceList", "apiVersion", "v1", "groupVersion",
		    "apps/v1", "resources", r));
	}
	return reply_status(c, 404, "the server could not find the requested "
	    "resource");
}

static enum MHD_Result
metrics(struct qs_simserve *s, struct MHD_Connection *c)
{
	char *text = NULL, a[QS_NUM_MAX], b[QS_NUM_MAX];
	size_t size = 0;
	FILE *fp = open_memstream(&text, &size);
	long i, ready = s->sim.ready < s->npods ? s->sim.ready : s->npods;

	if (fp == NULL)
		return reply_status(c, 500, "out of memory");
	fputs("# HELP http_server_requests_total Requests the pod served.\n"
	    "# TYPE http_server_requests_total counter\n", fp);
	for (i = 0; i < ready; i++) {
		qs_num_format(a, s->pods[i].requests);
		fprintf(fp, "http_server_requests_total{path=\"/test\",pod=\"%s\"}"
		    " %s\n", s->pods[i].name, a);
	}
	fputs("# HELP http_server_request_duration_seconds Time the pod took "
	    "to serve requests.\n"
	    "# TYPE http_server_request_duration_seconds summary\n", fp);
	for (i = 0; i < ready; i++) {
		qs_num_format(a, s->pods[i].seconds);
		qs_num_format(b, s->pods[i].requests);
		fprintf(fp, "http_server_request_duration_seconds_sum{path="
		    "\"/test\",pod=\"%s\"} %s\n"
		    "http_server_request_duration_seconds_count{path=\"/test\","
		    "pod=\"%s\"} %s\n", s->pods[i].name, a, s->pods[i].name, b);
	}
	if (fclose(fp) != 0) {
		free(text);
		return reply_status(c, 500, "out of memory");
	}
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    size);
}

static enum MHD_Result
state(struct qs_simserve *s, struct MHD_Connection *c)
{
	double total = 0, rate = qs_sim_rate(&s->sim);
	long i;

	for (i = 0; i < s->npods; i++)
		total += s->pods[i].requests;
	return reply_json(c, 200, json_pack("{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,"
	    "s:f,s:I}", "deployment", s->deployment, "namespace", s->namespace,
	    "replicas", (json_int_t)s->sim.replicas, "ready",
	    (json_int_t)s->sim.ready, "rate", rate, "latency",
	    qs_sim_latency(&s->sim.p, s->sim.ready, rate), "time", s->sim.now,
	    "uptime", s->last - s->t0, "requests", total, "resourceVersion",
	    (json_int_t)s->version));
}

/*
 * POST /qs-sim/fail?status=S&count=N[&method=M] and
 * POST /qs-sim/delay?seconds=D&count=N: the next N API calls (with method
 * M) fail with status S, or are answered D seconds late.
 */
static enum MHD_Result
hook(struct qs_simserve *s, struct MHD_Connection *c, const char *what)
{
	const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "status");
	const char *cn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "count");
	const char *sec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "seconds");
	const char *m = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "method");
	long status = 0, count = 1;
	double d = 0;

	if (cn != NULL && qs_num_parse_long(cn, 0, 1000000, &count) != 0)
		return reply_status(c, 400, "invalid count: %s", cn);
	if (strcmp(what, "fail") == 0) {
		if (st == NULL || qs_num_parse_long(st, 400, 599, &status) != 0)
			return reply_status(c, 400, "invalid status: %s (an "
			    "HTTP error status from 400 to 599)", st ? st : "none");
		if (m != NULL && (strlen(m) >= sizeof(s->fail_method) ||
		    strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(m)))
			return reply_status(c, 400, "invalid method: %s", m);
		s->fail_status = (int)status;
		s->fail_count = count;
		snprintf(s->fail_method, sizeof(s->fail_method), "%s",
		    m ? m : "");
	} else {
		if (sec == NULL || qs_num_parse(sec, &d) != 0 || d < 0 || d > 3600)
			return reply_status(c, 400, "invalid seconds: %s (a number "
			    "from 0 to 3600)", sec ? sec : "none");
		s->delay = d;
		s->delay_count = count;
	}
	return reply_json(c, 200, json_pack("{s:i,s:I,s:s,s:f,s:I}", "status",
	    s->fail_status, "count", (json_int_t)s->fail_count, "method",
	    s->fail_method, "delay", s->delay, "delay_count",
	    (json_int_t)s->delay_count));
}

static int
authorized(struct qs_simserve *s, struct MHD_Connection *c)
{
	const char *h;

	if (s->token == NULL)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	return h != NULL && strncmp(h, "Bearer ", 7) == 0 &&
	    strcmp(h + 7, s->token) == 0;
}

/* Route a Kubernetes API call; the lock is held. */
static enum MHD_Result
kube(struct qs_simserve *s, struct MHD_Connection *c, const char *method,
    char **seg, int n, const struct req *rq)
{
	int get = strcmp(method, "GET") == 0;
	int apps = n >= 3 && strcmp(seg[0], "apis") == 0 &&
	    strcmp(seg[1], "apps") == 0 && strcmp(seg[2], "v1") == 0;
	int core = n >= 2 && strcmp(seg[0], "api") == 0 &&
	    strcmp(seg[1], "v1") == 0;
	int mine;

	if (get && (n == 1 || (n == 2 && (core || (strcmp(seg[0], "apis") ==
	    0 && strcmp(seg[1], "apps") == 0))) || (n == 3 && apps)))
		return discovery(s, c, seg, n);
	if (core && n == 3 && strcmp(seg[2], "pods") == 0 && get)
		return list_pods(s, c, 1);
	if (apps && n == 4 && strcmp(seg[3], "deployments") == 0 && get)
		return list_deployments(s, c, 1);
	if ((core || apps) && n >= 5 && strcmp(seg[core ? 2 : 3],
	    "namespaces") == 0) {
		int i = core ? 3 : 4;	/* the namespace's segment */

		mine = strcmp(seg[i], s->namespace) == 0;
		if (core && n == 5 && strcmp(seg[4], "pods") == 0 && get)
			return list_pods(s, c, mine);
		if (core && n == 6 && strcmp(seg[4], "pods") == 0 && get)
			return mine ? get_pod(s, c, seg[5]) :
			    reply_status(c, 404, "pods \"%s\" not found", seg[5]);
		if (apps && n >= 6 && strcmp(seg[5], "deployments") == 0) {
			if (n == 6 && get)
				return list_deployments(s, c, mine);
			if (n == 6)
				goto method;
			if (!mine || strcmp(seg[6], s->deployment) != 0)
				return reply_status(c, 404, "deployments.apps "
				    "\"%s\" not found", seg[6]);
			if (n == 7 && get)
				return get_deployment(s, c);
			if (n == 7)
				goto method;
			if (n == 8 && strcmp(seg[7], "scale") == 0) {
				if (get)
					return reply_json(c, 200, scale_json(s));
				if (strcmp(method, "PATCH") == 0)
					return change_scale(s, c, 0, rq);
				if (strcmp(method, "PUT") == 0)
					return change_scale(s, c, 1, rq);
				goto method;
			}
		}
	}
	return reply_status(c, 404, "the server could not find the requested "
	    "resource");
method:
	return reply_status(c, 405, "the server does not allow this method on "
	    "the requested resource");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct qs_simserve *s = cls;
	struct req *rq = *con_cls;
	char path[1024], *seg[16], *p, *save = NULL;
	enum MHD_Result ret;
	double delay = 0, until;
	int n = 0, isapi, hooked, fail = 0;

	(void)version;
	if (rq == NULL) {
		*con_cls = xcalloc(1, sizeof(struct req));
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->len + *upload_size > MAX_BODY) {
			rq->toolong = 1;
		} else {
			rq->body = xreallocarray(rq->body, rq->len + *upload_size + 1, 1);
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}

	snprintf(path, sizeof(path), "%s", url);
	for (p = strtok_r(path, "/", &save); p && n < 16;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	/*
	 * The hooks act on the API's resources only: kubectl's dispatcher
	 * asks for /version first, to pick a client matching the server.
	 */
	hooked = n >= 1 && (strcmp(seg[0], "api") == 0 ||
	    strcmp(seg[0], "apis") == 0);
	isapi = hooked || (n >= 1 && strcmp(seg[0], "version") == 0);

	pthread_mutex_lock(&s->mu);
	advance(s);
	if (hooked && s->delay_count > 0) {
		s->delay_count--;
		delay = s->delay;
	}
	pthread_mutex_unlock(&s->mu);
	/* Hold the answer back, waking up to notice a shutdown. */
	for (until = mono() + delay; delay > 0 && mono() < until; ) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		pthread_mutex_lock(&s->mu);
		if (s->stopping)
			delay = 0;
		pthread_mutex_unlock(&s->mu);
		nanosleep(&ts, NULL);
	}

	pthread_mutex_lock(&s->mu);
	advance(s);
	if (isapi && !authorized(s, c)) {
		ret = reply_status(c, 401, "Unauthorized");
		goto out;
	}
	if (hooked && s->fail_count > 0 && (s->fail_method[0] == '\0' ||
	    strcmp(method, s->fail_method) == 0)) {
		s->fail_count--;
		fail = s->fail_status;
	}
	if (fail != 0) {
		ret = reply_status(c, (unsigned)fail, "qs-sim: failure %d "
		    "injected by /qs-sim/fail", fail);
	} else if (n == 1 && strcmp(seg[0], "metrics") == 0 &&
	    strcmp(method, "GET") == 0) {
		ret = metrics(s, c);
	} else if (n == 1 && (strcmp(seg[0], "healthz") == 0 ||
	    strcmp(seg[0], "readyz") == 0 || strcmp(seg[0], "livez") == 0)) {
		ret = reply(c, 200, "text/plain", xstrdup("ok"), 2);
	} else if (n == 1 && strcmp(seg[0], "version") == 0) {
		ret = reply_json(c, 200, json_pack("{s:s,s:s,s:s,s:s}", "major",
		    "1", "minor", "32", "gitVersion", "v1.32.0-qs-sim",
		    "platform", "linux/amd64"));
	} else if (n == 2 && strcmp(seg[0], "qs-sim") == 0 &&
	    strcmp(seg[1], "state") == 0 && strcmp(method, "GET") == 0) {
		ret = state(s, c);
	} else if (n == 2 && strcmp(seg[0], "qs-sim") == 0 &&
	    (strcmp(seg[1], "fail") == 0 || strcmp(seg[1], "delay") == 0)) {
		ret = strcmp(method, "POST") == 0 ? hook(s, c, seg[1]) :
		    reply_status(c, 405, "use POST");
	} else if (isapi) {
		ret = kube(s, c, method, seg, n, rq);
	} else {
		ret = reply_status(c, 404, "the server could not find the "
		    "requested resource");
	}
out:
	pthread_mutex_unlock(&s->mu);
	return ret;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* Parse "1.2.3.4:port" or "[::1]:port". */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    struct qs_err *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *colon;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 1), s + 1);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	if (qs_num_parse_long(colon + 1, 0, 65535, &port) != 0)
		goto bad;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
	} else {
		goto bad;
	}
	return 0;
bad:
	return qs_err_set(err, EX_USAGE, "invalid listen address %s: not "
	    "ADDRESS:PORT with a numeric address", s);
}

struct qs_simserve *
qs_simserve_start(const struct qs_simserve_opts *o, struct qs_err *err)
{
	struct qs_simserve *s;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct qs_sim_params p = o->p;
	socklen_t len;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION;
	char host[INET6_ADDRSTRLEN];

	if (parse_listen(o->listen, &ss, &len, err) != 0)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			qs_err_set(err, EX_UNAVAILABLE, "this libmicrohttpd "
			    "cannot serve TLS");
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->deployment = o->deployment;
	s->namespace = o->namespace;
	s->token = o->token;
	s->tick = o->tick > 0 ? o->tick : p.interval;
	s->created = time(NULL);
	qs_rand_seed(&s->names, o->seed ^ 0x9e3779b97f4a7c15ULL);
	random_chars(&s->names, s->hash, 10);
	snprintf(s->uid, sizeof(s->uid), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffffffULL));
	/* The model counts simulated seconds; the option counts wall ones. */
	p.startup_delay = o->p.startup_delay * p.interval / s->tick;
	qs_sim_init(&s->sim, &p, o->trace, o->n, o->rate, o->replicas, o->seed);
	pods_resize(s, o->replicas);
	s->ready = s->sim.ready;
	s->version = 1;
	s->generation = 1;
	s->t0 = s->last = mono();

	if (o->tls_cert != NULL)
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
		    MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert,
		    MHD_OPTION_HTTPS_MEM_KEY, o->tls_key,
		    MHD_OPTION_END);
	else
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		    MHD_OPTION_CONNECTION_TIMEOUT, 60u,
		    MHD_OPTION_END);
	if (s->d == NULL) {
		qs_err_set(err, EX_UNAVAILABLE, "cannot listen on %s%s",
		    o->listen, o->tls_cert ? " (or the TLS certificate or key "
		    "is invalid)" : ": address in use or not available");
		qs_sim_free(&s->sim);
		free(s->pods);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "[%s]:%u", host, s->port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		    sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "%s:%u", host, s->port);
	}
	return s;
}

unsigned
qs_simserve_port(const struct qs_simserve *s)
{
	return s->port;
}

const char *
qs_simserve_addr(const struct qs_simserve *s)
{
	return s->addr;
}

void
qs_simserve_stop(struct qs_simserve *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_mutex_unlock(&s->mu);
	MHD_stop_daemon(s->d);
	qs_sim_free(&s->sim);
	free(s->pods);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
