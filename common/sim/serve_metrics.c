/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the pods' counters and histograms on /metrics. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "qs/num.h"
#include "serve_int.h"

/* The ready pods of s, those that serve and are scraped. */
static long
ready_pods(const struct qs_simserve *s)
{
	return s->sim.ready < s->npods ? s->sim.ready : s->npods;
}

/* A series' labels: its pod's, its deployment's and --label's. */
static void
put_labels(FILE *fp, const struct qs_simserve *s, long i)
{
	fprintf(fp, "path=\"/test\",pod=\"%s\",namespace=\"%s\","
	    "deployment=\"%s\"%s", s->pods[i].name, s->namespace,
	    s->deployment, s->labels != NULL ? s->labels : "");
}

/*
 * The families of one metric prefix, for every deployment that has it:
 * the exposition format wants each family's samples together.
 */
static void
put_families(FILE *fp, struct qs_simserve *root, const char *prefix)
{
	struct qs_simserve *s;
	char a[QS_NUM_MAX];
	long i, k;
	int b;

	fprintf(fp, "# HELP %s_requests_total Requests the pod served.\n"
	    "# TYPE %s_requests_total counter\n", prefix, prefix);
	for (k = 0; k < root->ndeps; k++) {
		s = root->deps[k];
		for (i = 0; strcmp(s->prefix, prefix) == 0 && i < ready_pods(s);
		    i++) {
			qs_num_format(a, s->pods[i].requests);
			fprintf(fp, "%s_requests_total{", prefix);
			put_labels(fp, s, i);
			fprintf(fp, "} %s\n", a);
		}
	}
	fprintf(fp, "# HELP %s_request_duration_seconds Time the pod took "
	    "to serve requests.\n"
	    "# TYPE %s_request_duration_seconds histogram\n", prefix, prefix);
	for (k = 0; k < root->ndeps; k++) {
		s = root->deps[k];
		for (i = 0; strcmp(s->prefix, prefix) == 0 && i < ready_pods(s);
		    i++) {
			for (b = 0; b <= SERVE_NBUCKETS; b++) {
				fprintf(fp, "%s_request_duration_seconds_bucket{",
				    prefix);
				put_labels(fp, s, i);
				if (b < SERVE_NBUCKETS) {
					qs_num_format(a, serve_buckets[b]);
					fprintf(fp, ",le=\"%s\"} ", a);
					/* Never above the count, whatever rounding. */
					qs_num_format(a, s->pods[i].le[b] <
					    s->pods[i].requests ? s->pods[i].le[b] :
					    s->pods[i].requests);
				} else {
					fputs(",le=\"+Inf\"} ", fp);
					qs_num_format(a, s->pods[i].requests);
				}
				fprintf(fp, "%s\n", a);
			}
			qs_num_format(a, s->pods[i].seconds);
			fprintf(fp, "%s_request_duration_seconds_sum{", prefix);
			put_labels(fp, s, i);
			fprintf(fp, "} %s\n", a);
			qs_num_format(a, s->pods[i].requests);
			fprintf(fp, "%s_request_duration_seconds_count{", prefix);
			put_labels(fp, s, i);
			fprintf(fp, "} %s\n", a);
		}
	}
}

enum MHD_Result
serve_metrics(struct qs_simserve *s, struct MHD_Connection *c)
{
	char *text = NULL;
	size_t size = 0;
	FILE *fp = open_memstream(&text, &size);
	long k, j;

	if (fp == NULL)
		return serve_reply_status(c, 500, "out of memory");
	for (k = 0; k < s->ndeps; k++) {
		/* Each prefix once, where it first appears. */
		for (j = 0; j < k; j++)
			if (strcmp(s->deps[j]->prefix, s->deps[k]->prefix) == 0)
				break;
		if (j == k)
			put_families(fp, s, s->deps[k]->prefix);
	}
	if (fclose(fp) != 0) {
		free(text);
		return serve_reply_status(c, 500, "out of memory");
	}
	return serve_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", text,
	    size);
}
