/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the pods' counters on /metrics. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <microhttpd.h>

#include "qs/num.h"
#include "serve_int.h"

enum MHD_Result
serve_metrics(struct qs_simserve *s, struct MHD_Connection *c)
{
	char *text = NULL, a[QS_NUM_MAX], b[QS_NUM_MAX];
	size_t size = 0;
	FILE *fp = open_memstream(&text, &size);
	long i, ready = s->sim.ready < s->npods ? s->sim.ready : s->npods;

	if (fp == NULL)
		return serve_reply_status(c, 500, "out of memory");
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
		return serve_reply_status(c, 500, "out of memory");
	}
	return serve_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    size);
}
