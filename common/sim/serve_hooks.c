/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the /qs-sim/ hooks a test drives the server with. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/num.h"
#include "serve_int.h"

static enum MHD_Result
state_of(struct qs_simserve *s, struct MHD_Connection *c)
{
	double total = 0, rate = qs_sim_rate(&s->sim);
	long i;

	for (i = 0; i < s->npods; i++)
		total += s->pods[i].requests;
	return serve_reply_json(c, 200, json_pack(
	    "{s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:I}", "deployment",
	    s->deployment, "namespace", s->namespace,
	    "replicas", (json_int_t)s->sim.replicas, "ready",
	    (json_int_t)s->sim.ready, "rate", rate, "latency",
	    qs_sim_latency(&s->sim.p, s->sim.ready, rate), "time", s->sim.now,
	    "uptime", s->last, "requests", total, "resourceVersion",
	    (json_int_t)s->version));
}

/* A hook naming a deployment the server does not run. */
static enum MHD_Result
no_such(struct MHD_Connection *c)
{
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "deployment");

	return serve_reply_status(c, 404, "deployments.apps \"%s\" not found",
	    name != NULL ? name : "");
}

/*
 * GET /qs-sim/state[?deployment=NAME[&namespace=NS]]: the state of that
 * deployment, or of the first.
 */
enum MHD_Result
serve_state(struct qs_simserve *s, struct MHD_Connection *c)
{
	struct qs_simserve *d;
	int all;

	if ((d = serve_hook_target(s, c, &all)) == NULL)
		return no_such(c);
	return state_of(d, c);
}

/*
 * POST /qs-sim/fail?status=S&count=N[&method=M] and
 * POST /qs-sim/delay?seconds=D&count=N: the next N API calls (with method
 * M) fail with status S, or are answered D seconds late.
 */
enum MHD_Result
serve_hook(struct qs_simserve *s, struct MHD_Connection *c, const char *what)
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
		return serve_reply_status(c, 400, "invalid count: %s", cn);
	if (strcmp(what, "fail") == 0) {
		if (st == NULL || qs_num_parse_long(st, 400, 599, &status) != 0)
			return serve_reply_status(c, 400, "invalid status: %s (an "
			    "HTTP error status from 400 to 599)", st ? st : "none");
		if (m != NULL && (strlen(m) >= sizeof(s->fail_method) ||
		    strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(m)))
			return serve_reply_status(c, 400, "invalid method: %s", m);
		s->fail_status = (int)status;
		s->fail_count = count;
		snprintf(s->fail_method, sizeof(s->fail_method), "%s",
		    m ? m : "");
	} else {
		if (sec == NULL || qs_num_parse(sec, &d) != 0 || d < 0 || d > 3600)
			return serve_reply_status(c, 400, "invalid seconds: %s (a number "
			    "from 0 to 3600)", sec ? sec : "none");
		s->delay = d;
		s->delay_count = count;
	}
	return serve_reply_json(c, 200, json_pack("{s:i,s:I,s:s,s:f,s:I}", "status",
	    s->fail_status, "count", (json_int_t)s->fail_count, "method",
	    s->fail_method, "delay", s->delay, "delay_count",
	    (json_int_t)s->delay_count));
}

/*
 * POST /qs-sim/advance?seconds=D: move the server's clock D seconds on,
 * as if that much wall time had passed, and answer the state after it.
 * With &deployment=NAME[&namespace=NS] only that deployment's clock moves
 * and its state is answered; without, every deployment's, and the
 * first's state.
 * With --tick 0 it is the only thing that moves the clock, so that a test
 * sees the model where it put it, without sleeping.
 */
enum MHD_Result
serve_hook_advance(struct qs_simserve *s, struct MHD_Connection *c)
{
	const char *sec = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "seconds");
	struct qs_simserve *t;
	double d = 0;
	long i;
	int all;

	if (sec == NULL || qs_num_parse(sec, &d) != 0 || d < 0 ||
	    d > SERVE_ADVANCE_MAX)
		return serve_reply_status(c, 400, "invalid seconds: %s (a number "
		    "from 0 to %d)", sec ? sec : "none", SERVE_ADVANCE_MAX);
	if ((t = serve_hook_target(s, c, &all)) == NULL)
		return no_such(c);
	for (i = 0; i < s->ndeps; i++)
		if (all || s->deps[i] == t) {
			s->deps[i]->skipped += d;
			serve_advance(s->deps[i]);
		}
	return state_of(t, c);
}
