/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the discovery documents kubectl reads first. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve_int.h"

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
	/* As on a real API server, Events are not in kubectl get all. */
	if (strchr(name, '/') == NULL && strcmp(name, "events") != 0)
		json_object_set_new(r, "categories", json_pack("[s]", "all"));
	return r;
}

enum MHD_Result
serve_discovery(struct qs_simserve *s, struct MHD_Connection *c, char **seg,
    int n)
{
	json_t *r, *scale;

	if (n == 1 && strcmp(seg[0], "api") == 0)
		return serve_reply_json(c, 200, json_pack("{s:s,s:[s],s:[{s:s,s:s}]}",
		    "kind", "APIVersions", "versions", "v1",
		    "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0",
		    "serverAddress", s->addr));
	if (n == 1)
		return serve_reply_json(c, 200, json_pack("{s:s,s:s,s:[{s:s,"
		    "s:[{s:s,s:s}],s:{s:s,s:s}}]}", "kind", "APIGroupList",
		    "apiVersion", "v1", "groups", "name", "apps", "versions",
		    "groupVersion", "apps/v1", "version", "v1",
		    "preferredVersion", "groupVersion", "apps/v1", "version",
		    "v1"));
	if (n == 2 && strcmp(seg[0], "apis") == 0 && strcmp(seg[1], "apps") == 0)
		return serve_reply_json(c, 200, json_pack("{s:s,s:s,s:s,"
		    "s:[{s:s,s:s}],s:{s:s,s:s}}", "kind", "APIGroup",
		    "apiVersion", "v1", "name", "apps", "versions",
		    "groupVersion", "apps/v1", "version", "v1",
		    "preferredVersion", "groupVersion", "apps/v1", "version",
		    "v1"));
	if (n == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0) {
		r = json_array();
		json_array_append_new(r, resource("pods", "Pod", 1, "get list",
		    "po"));
		json_array_append_new(r, resource("events", "Event", 1,
		    "create get list", "ev"));
		return serve_reply_json(c, 200, json_pack("{s:s,s:s,s:o}", "kind",
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
		return serve_reply_json(c, 200, json_pack("{s:s,s:s,s:s,s:o}", "kind",
		    "APIResourceList", "apiVersion", "v1", "groupVersion",
		    "apps/v1", "resources", r));
	}
	return serve_reply_status(c, 404, "the server could not find the requested "
	    "resource");
}
