/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the Kubernetes objects, and kubectl's tables of them. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve_int.h"

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

char *
serve_version_str(const struct qs_simserve *s, char *buf, size_t size)
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
json_t *
serve_deployment_json(struct qs_simserve *s)
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
	    "uid", s->uid, "resourceVersion", serve_version_str(s, rv, sizeof(rv)),
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
json_t *
serve_scale_json(struct qs_simserve *s)
{
	char ts[32], rv[32], sel[300];

	rfc3339(ts, sizeof(ts), s->created);
	snprintf(sel, sizeof(sel), "app=%s", s->deployment);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s},s:{s:I},s:{s:I,s:s}}",
	    "kind", "Scale", "apiVersion", "autoscaling/v1",
	    "metadata", "name", s->deployment, "namespace", s->namespace,
	    "uid", s->uid, "resourceVersion", serve_version_str(s, rv, sizeof(rv)),
	    "creationTimestamp", ts,
	    "spec", "replicas", (json_int_t)s->sim.replicas,
	    "status", "replicas", (json_int_t)s->sim.replicas, "selector", sel);
}

/* Pod i: a new reference. */
json_t *
serve_pod_json(struct qs_simserve *s, long i)
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
	    "uid", p->name, "resourceVersion", serve_version_str(s, rv, sizeof(rv)),
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
json_t *
serve_table_json(struct qs_simserve *s, const char *const *cols, json_t *rows)
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
	    serve_version_str(s, rv, sizeof(rv)), "columnDefinitions", defs,
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
json_t *
serve_deployment_row(struct qs_simserve *s, json_t *d)
{
	char ready[64], a[32];

	snprintf(ready, sizeof(ready), "%ld/%ld", s->sim.ready, s->sim.replicas);
	age(a, sizeof(a), s->created);
	return table_row(json_pack("[s,s,I,I,s]", s->deployment, ready,
	    (json_int_t)s->sim.replicas, (json_int_t)s->sim.ready, a), d);
}

/* Pod i's table row, from p (borrowed): a new reference. */
json_t *
serve_pod_row(struct qs_simserve *s, long i, json_t *p)
{
	char a[32];
	int ready = i < s->sim.ready;

	age(a, sizeof(a), s->pods[i].created);
	return table_row(json_pack("[s,s,s,i,s]", s->pods[i].name,
	    ready ? "1/1" : "0/1", ready ? "Running" : "ContainerCreating", 0,
	    a), p);
}

const char *const serve_deployment_cols[] = { "Name:string", "Ready:string",
	"Up-to-date:integer", "Available:integer", "Age:string", NULL };
const char *const serve_pod_cols[] = { "Name:string", "Ready:string",
	"Status:string", "Restarts:integer", "Age:string", NULL };

int
serve_wants_table(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);

	return a != NULL && strstr(a, "as=Table") != NULL;
}
