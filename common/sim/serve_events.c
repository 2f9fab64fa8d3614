/* See LICENSE file for copyright and license details. */
/*
 * qs-sim serve: core/v1 Events, as qs-scale posts them and kubectl lists
 * them (kubectl get events, kubectl describe's fieldSelector on
 * involvedObject).  They are kept in memory, in any namespace, the
 * oldest dropped past SERVE_EVENTS_MAX.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/rand.h"
#include "serve_int.h"

/* Most Events kept: a long run posts one a tick. */
#define SERVE_EVENTS_MAX 1000

/* The fields a fieldSelector may name, as the API server allows them. */
static const char *const fields[] = { "metadata.name", "metadata.namespace",
	"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
	"involvedObject.uid", "involvedObject.apiVersion",
	"involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
	"reportingComponent", "source", "type", NULL };

/* The string at a dotted path of ev (borrowed), or "" (as the server). */
static const char *
field_of(json_t *ev, const char *path)
{
	char buf[64], *k, *save = NULL;
	json_t *v = ev;

	snprintf(buf, sizeof(buf), "%s", strcmp(path, "source") == 0 ?
	    "source.component" : path);
	for (k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
	    k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	return json_is_string(v) ? json_string_value(v) : "";
}

/*
 * Whether ev (borrowed) matches the request's fieldSelector (terms
 * key=value, key==value or key!=value joined by commas) and lies in
 * namespace ns (NULL: any).  Returns 1, 0, or -1 for a selector that
 * cannot be parsed or names a field Events do not have.
 */
static int
matches(json_t *ev, const char *ns, const char *sel)
{
	char buf[1024], *t, *op, *val, *save = NULL;
	int neg, i, known;

	if (ns != NULL && strcmp(field_of(ev, "metadata.namespace"), ns) != 0)
		return 0;
	if (sel == NULL || *sel == '\0')
		return 1;
	if (strlen(sel) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", sel);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		neg = 0;
		if ((op = strstr(t, "!=")) != NULL) {
			neg = 1;
			val = op + 2;
		} else if ((op = strstr(t, "==")) != NULL) {
			val = op + 2;
		} else if ((op = strchr(t, '=')) != NULL) {
			val = op + 1;
		} else {
			return -1;
		}
		*op = '\0';
		for (known = 0, i = 0; fields[i] != NULL; i++)
			known |= strcmp(fields[i], t) == 0;
		if (!known)
			return -1;
		if ((strcmp(field_of(ev, t), val) == 0) == neg)
			return 0;
	}
	return 1;
}

/* How long ago an RFC 3339 UTC time was, as kubectl shows an age. */
static void
ago(char *buf, size_t size, const char *when)
{
	struct tm tm = { 0 };
	long s;

	if (sscanf(when, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
		snprintf(buf, size, "<unknown>");
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon--;
	s = (long)(time(NULL) - timegm(&tm));
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%lds", s);
	else if (s < 3 * 3600)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, size, "%ldh", s / 3600);
	else
		snprintf(buf, size, "%ldd", s / 86400);
}

/* An Event's row in kubectl's table, from ev (borrowed): a new reference. */
static json_t *
event_row(json_t *ev)
{
	char last[32], object[600];
	const char *when = field_of(ev, "lastTimestamp");

	ago(last, sizeof(last), *when ? when : field_of(ev,
	    "metadata.creationTimestamp"));
	snprintf(object, sizeof(object), "%s/%s",
	    field_of(ev, "involvedObject.kind"), field_of(ev, "involvedObject.name"));
	/* As the API server's: the kind in lower case. */
	for (char *p = object; *p != '/' && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return json_pack("{s:[s,s,s,s,s],s:{s:s,s:s,s:O}}", "cells", last,
	    field_of(ev, "type"), field_of(ev, "reason"), object,
	    field_of(ev, "message"), "object", "kind", "PartialObjectMetadata",
	    "apiVersion", "meta.k8s.io/v1", "metadata",
	    json_object_get(ev, "metadata"));
}

static const char *const event_cols[] = { "Last Seen:string", "Type:string",
	"Reason:string", "Object:string", "Message:string", NULL };

/* GET of the Events in ns (NULL: all namespaces). */
static enum MHD_Result
list_events(struct qs_simserve *s, struct MHD_Connection *c, const char *ns)
{
	const char *sel = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "fieldSelector");
	int table = serve_wants_table(c), m;
	json_t *items = json_array(), *ev;
	char rv[32];
	size_t i;

	json_array_foreach(s->events, i, ev) {
		if ((m = matches(ev, ns, sel)) < 0) {
			json_decref(items);
			return serve_reply_status(c, 400, "\"%s\" is not a known "
			    "field selector: only \"involvedObject.*\", "
			    "\"metadata.*\", \"reason\", \"source\", \"type\"", sel);
		}
		if (m)
			json_array_append_new(items, table ? event_row(ev) :
			    json_incref(ev));
	}
	if (table)
		return serve_reply_json(c, 200, serve_table_json(s, event_cols,
		    items));
	return serve_reply_json(c, 200, json_pack("{s:s,s:s,s:{s:s},s:o}", "kind",
	    "EventList", "apiVersion", "v1", "metadata", "resourceVersion",
	    serve_version_str(s, rv, sizeof(rv)), "items", items));
}

/* POST of an Event into namespace ns: checked, named, kept. */
static enum MHD_Result
create_event(struct qs_simserve *s, struct MHD_Connection *c, const char *ns,
    const struct req *rq)
{
	json_t *ev, *md, *old;
	const char *name, *gen, *kind, *bns;
	char buf[320], suffix[6], now[32], uid[40];
	time_t t = time(NULL);
	size_t i;

	if (rq->toolong)
		return serve_reply_status(c, 413, "request entity too large");
	ev = rq->body ? json_loadb(rq->body, rq->len, 0, NULL) : NULL;
	if (!json_is_object(ev)) {
		json_decref(ev);
		return serve_reply_status(c, 400, "the request body is not a JSON "
		    "object");
	}
	kind = json_string_value(json_object_get(ev, "kind"));
	if (kind != NULL && strcmp(kind, "Event") != 0) {
		snprintf(buf, sizeof(buf), "%.64s", kind);
		json_decref(ev);
		return serve_reply_status(c, 400, "the object is a %s, not an "
		    "Event", buf);
	}
	if (!json_is_object(md = json_object_get(ev, "metadata")))
		json_object_set_new(ev, "metadata", md = json_object());
	bns = json_string_value(json_object_get(md, "namespace"));
	if (bns != NULL && strcmp(bns, ns) != 0) {
		json_decref(ev);
		return serve_reply_status(c, 400, "the namespace of the provided "
		    "object does not match the namespace sent on the request");
	}
	if (!json_is_object(json_object_get(ev, "involvedObject")) ||
	    strcmp(field_of(ev, "involvedObject.namespace"), ns) != 0) {
		snprintf(buf, sizeof(buf), "%s", field_of(ev, "metadata.name"));
		json_decref(ev);
		return serve_reply_status(c, 422, "Event \"%.250s\" is invalid: "
		    "involvedObject.namespace: Invalid value: does not match "
		    "event.namespace", buf);
	}
	name = json_string_value(json_object_get(md, "name"));
	gen = json_string_value(json_object_get(md, "generateName"));
	if ((name == NULL || *name == '\0') && gen != NULL && *gen != '\0') {
		serve_random_chars(&s->names, suffix, 5);
		snprintf(buf, sizeof(buf), "%.250s%s", gen, suffix);
		json_object_set_new(md, "name", json_string(buf));
		name = json_string_value(json_object_get(md, "name"));
	}
	if (name == NULL || *name == '\0') {
		json_decref(ev);
		return serve_reply_status(c, 422, "Event \"\" is invalid: "
		    "metadata.name: Required value: name or generateName is "
		    "required");
	}
	json_array_foreach(s->events, i, old)
		if (strcmp(field_of(old, "metadata.name"), name) == 0 &&
		    strcmp(field_of(old, "metadata.namespace"), ns) == 0) {
			snprintf(buf, sizeof(buf), "%s", name);
			json_decref(ev);
			return serve_reply_status(c, 409, "events \"%.250s\" already "
			    "exists", buf);
		}
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(uid, sizeof(uid), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffffffULL));
	json_object_set_new(md, "namespace", json_string(ns));
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(now));
	/* The server's version, not moved: the Deployment's is the same. */
	json_object_set_new(md, "resourceVersion",
	    json_string(serve_version_str(s, buf, sizeof(buf))));
	if (s->events == NULL)
		s->events = json_array();
	if (json_array_size(s->events) >= SERVE_EVENTS_MAX)
		json_array_remove(s->events, 0);
	json_array_append(s->events, ev);
	return serve_reply_json(c, 201, ev);
}

/* GET of one Event by name in ns. */
static enum MHD_Result
get_event(struct qs_simserve *s, struct MHD_Connection *c, const char *ns,
    const char *name)
{
	json_t *ev;
	size_t i;

	json_array_foreach(s->events, i, ev)
		if (strcmp(field_of(ev, "metadata.name"), name) == 0 &&
		    strcmp(field_of(ev, "metadata.namespace"), ns) == 0)
			return serve_reply_json(c, 200, json_incref(ev));
	return serve_reply_status(c, 404, "events \"%s\" not found", name);
}

int
serve_events_path(char **seg, int n)
{
	if (n < 3 || strcmp(seg[0], "api") != 0 || strcmp(seg[1], "v1") != 0)
		return 0;
	if (n == 3)
		return strcmp(seg[2], "events") == 0;
	return (n == 5 || n == 6) && strcmp(seg[2], "namespaces") == 0 &&
	    strcmp(seg[4], "events") == 0;
}

enum MHD_Result
serve_events(struct qs_simserve *s, struct MHD_Connection *c,
    const char *method, char **seg, int n, const struct req *rq)
{
	int get = strcmp(method, "GET") == 0;

	if (n == 3 && get)
		return list_events(s, c, NULL);
	if (n == 5 && get)
		return list_events(s, c, seg[3]);
	if (n == 5 && strcmp(method, "POST") == 0)
		return create_event(s, c, seg[3], rq);
	if (n == 6 && get)
		return get_event(s, c, seg[3], seg[5]);
	return serve_reply_status(c, 405, "the server does not allow this method "
	    "on the requested resource");
}

void
serve_events_free(struct qs_simserve *s)
{
	json_decref(s->events);
	s->events = NULL;
}
