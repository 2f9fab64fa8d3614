/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the Kubernetes API calls, routed and answered. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve_int.h"

/*
 * A list's resourceVersion: the sum of its deployments' versions, which
 * grows whenever one of them changes.  Sets it in the list v and returns
 * v: the caller's reference passes through.
 */
static json_t *
list_version(struct qs_simserve *root, json_t *v)
{
	unsigned long long sum = 0;
	char rv[32];
	long i;

	for (i = 0; i < root->ndeps; i++)
		sum += root->deps[i]->version;
	snprintf(rv, sizeof(rv), "%llu", sum);
	json_object_set_new(json_object_get(v, "metadata"), "resourceVersion",
	    json_string(rv));
	return v;
}

/* Whether deployment d is in namespace ns (NULL: in all). */
static int
in_ns(const struct qs_simserve *d, const char *ns)
{
	return ns == NULL || strcmp(d->namespace, ns) == 0;
}

/* A list of the deployments in namespace ns (NULL: in all). */
static enum MHD_Result
list_deployments(struct qs_simserve *root, struct MHD_Connection *c,
    const char *ns)
{
	struct qs_simserve *s;
	json_t *items, *d;
	int table = serve_wants_table(c), m;
	long i;

	items = json_array();
	for (i = 0; i < root->ndeps; i++) {
		s = root->deps[i];
		if ((m = serve_selected(s, c, s->deployment, NULL)) < 0) {
			json_decref(items);
			return serve_reply_status(c, 400, "unable to parse the "
			    "selector, or a field label not supported");
		}
		if (!m || !in_ns(s, ns))
			continue;
		d = serve_deployment_json(s);
		if (table) {
			json_array_append_new(items, serve_deployment_row(s, d));
			json_decref(d);
		} else {
			json_array_append_new(items, d);
		}
	}
	if (table)
		return serve_reply_json(c, 200, list_version(root,
		    serve_table_json(root, serve_deployment_cols, items)));
	return serve_reply_json(c, 200, list_version(root,
	    json_pack("{s:s,s:s,s:{},s:o}", "kind", "DeploymentList",
	    "apiVersion", "apps/v1", "metadata", "items", items)));
}

/* A list of the pods of the deployments in namespace ns (NULL: all). */
static enum MHD_Result
list_pods(struct qs_simserve *root, struct MHD_Connection *c, const char *ns)
{
	struct qs_simserve *s;
	json_t *items, *p;
	int table = serve_wants_table(c), m;
	long i, k;

	if (serve_selected(root, c, "", "Running") < 0)
		return serve_reply_status(c, 400, "unable to parse the selector, or "
		    "a field label not supported");
	items = json_array();
	for (k = 0; k < root->ndeps; k++) {
		s = root->deps[k];
		for (i = 0; in_ns(s, ns) && i < s->npods; i++) {
			m = serve_selected(s, c, s->pods[i].name, i < s->sim.ready ?
			    "Running" : "Pending");
			if (m != 1)
				continue;
			p = serve_pod_json(s, i);
			if (table) {
				json_array_append_new(items, serve_pod_row(s, i, p));
				json_decref(p);
			} else {
				json_array_append_new(items, p);
			}
		}
	}
	if (table)
		return serve_reply_json(c, 200, list_version(root,
		    serve_table_json(root, serve_pod_cols, items)));
	return serve_reply_json(c, 200, list_version(root,
	    json_pack("{s:s,s:s,s:{},s:o}", "kind", "PodList", "apiVersion", "v1",
	    "metadata", "items", items)));
}

static enum MHD_Result
get_deployment(struct qs_simserve *s, struct MHD_Connection *c)
{
	json_t *d = serve_deployment_json(s), *rows;

	if (!serve_wants_table(c))
		return serve_reply_json(c, 200, d);
	rows = json_pack("[o]", serve_deployment_row(s, d));
	json_decref(d);
	return serve_reply_json(c, 200, serve_table_json(s,
	    serve_deployment_cols, rows));
}

static enum MHD_Result
get_pod(struct qs_simserve *root, struct MHD_Connection *c, const char *ns,
    const char *name)
{
	struct qs_simserve *s = NULL;
	json_t *p, *rows;
	long i = 0, k;

	for (k = 0; s == NULL && k < root->ndeps; k++) {
		if (!in_ns(root->deps[k], ns))
			continue;
		for (i = 0; i < root->deps[k]->npods; i++)
			if (strcmp(root->deps[k]->pods[i].name, name) == 0) {
				s = root->deps[k];
				break;
			}
	}
	if (s == NULL)
		return serve_reply_status(c, 404, "pods \"%s\" not found", name);
	p = serve_pod_json(s, i);
	if (!serve_wants_table(c))
		return serve_reply_json(c, 200, p);
	rows = json_pack("[o]", serve_pod_row(s, i, p));
	json_decref(p);
	return serve_reply_json(c, 200, serve_table_json(s, serve_pod_cols, rows));
}

/*
 * Whether the Content-Type ct names the media type want: exactly, but
 * for case and parameters (RFC 9110, 8.3.1), so that
 * "application/merge-patch+json; charset=utf-8" is a merge patch and
 * "application/merge-patch+jsonx" is not.
 */
static int
media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL)
		return 0;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
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

	if (!put && !media_type_is(ct, "application/merge-patch+json") &&
	    !media_type_is(ct, "application/strategic-merge-patch+json"))
		return serve_reply_status(c, 415, "the body of the request was in "
		    "an unknown format - accepted media types include: "
		    "application/merge-patch+json, "
		    "application/strategic-merge-patch+json");
	if (rq->toolong)
		return serve_reply_status(c, 413, "request entity too large");
	body = rq->body ? json_loadb(rq->body, rq->len, 0, NULL) : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		return serve_reply_status(c, 400, "the request body is not a JSON "
		    "object");
	}
	rv = json_string_value(json_object_get(json_object_get(body,
	    "metadata"), "resourceVersion"));
	if (rv != NULL && *rv != '\0' &&
	    strcmp(rv, serve_version_str(s, cur, sizeof(cur))) != 0) {
		json_decref(body);
		return serve_reply_status(c, 409, "Operation cannot be fulfilled on "
		    "deployments.apps \"%s\": the object has been modified; "
		    "please apply your changes to the latest version and try "
		    "again", s->deployment);
	}
	v = json_object_get(json_object_get(body, "spec"), "replicas");
	if (v == NULL && !put) {
		json_decref(body);
		return serve_reply_json(c, 200, serve_scale_json(s));
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0 ||
	    n > MAX_REPLICAS) {
		json_decref(body);
		return serve_reply_status(c, 422, "Scale.autoscaling \"%s\" is invalid: "
		    "spec.replicas: Invalid value: must be an integer from 0 to "
		    "%d", s->deployment, MAX_REPLICAS);
	}
	json_decref(body);
	serve_set_replicas(s, (long)n);
	return serve_reply_json(c, 200, serve_scale_json(s));
}

/* Route a Kubernetes API call to its deployment; the lock is held. */
enum MHD_Result
serve_kube(struct qs_simserve *root, struct MHD_Connection *c,
    const char *method, char **seg, int n, const struct req *rq)
{
	int get = strcmp(method, "GET") == 0;
	int apps = n >= 3 && strcmp(seg[0], "apis") == 0 &&
	    strcmp(seg[1], "apps") == 0 && strcmp(seg[2], "v1") == 0;
	int core = n >= 2 && strcmp(seg[0], "api") == 0 &&
	    strcmp(seg[1], "v1") == 0;
	struct qs_simserve *s;

	if (serve_events_path(seg, n))
		return serve_events(root, c, method, seg, n, rq);
	if (get && (n == 1 || (n == 2 && (core || (strcmp(seg[0], "apis") ==
	    0 && strcmp(seg[1], "apps") == 0))) || (n == 3 && apps)))
		return serve_discovery(root, c, seg, n);
	if (core && n == 3 && strcmp(seg[2], "pods") == 0 && get)
		return list_pods(root, c, NULL);
	if (apps && n == 4 && strcmp(seg[3], "deployments") == 0 && get)
		return list_deployments(root, c, NULL);
	if ((core || apps) && n >= 5 && strcmp(seg[core ? 2 : 3],
	    "namespaces") == 0) {
		const char *ns = seg[core ? 3 : 4];

		if (core && n == 5 && strcmp(seg[4], "pods") == 0 && get)
			return list_pods(root, c, ns);
		if (core && n == 6 && strcmp(seg[4], "pods") == 0 && get)
			return get_pod(root, c, ns, seg[5]);
		if (apps && n >= 6 && strcmp(seg[5], "deployments") == 0) {
			if (n == 6 && get)
				return list_deployments(root, c, ns);
			if (n == 6)
				goto method;
			if ((s = serve_find(root, ns, seg[6])) == NULL)
				return serve_reply_status(c, 404, "deployments.apps "
				    "\"%s\" not found", seg[6]);
			if (n == 7 && get)
				return get_deployment(s, c);
			if (n == 7)
				goto method;
			if (n == 8 && strcmp(seg[7], "scale") == 0) {
				if (get)
					return serve_reply_json(c, 200, serve_scale_json(s));
				if (strcmp(method, "PATCH") == 0)
					return change_scale(s, c, 0, rq);
				if (strcmp(method, "PUT") == 0)
					return change_scale(s, c, 1, rq);
				goto method;
			}
		}
	}
	return serve_reply_status(c, 404, "the server could not find the requested "
	    "resource");
method:
	return serve_reply_status(c, 405, "the server does not allow this method on "
	    "the requested resource");
}
