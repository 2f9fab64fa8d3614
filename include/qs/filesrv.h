/* See LICENSE file for copyright and license details. */
#ifndef QS_FILESRV_H
#define QS_FILESRV_H

#include "qs/err.h"

/*
 * A small HTTP server for one file: GET (or HEAD) of a path answers the
 * file as it is at that moment, read whole on each request, so that a
 * file replaced by a rename is served old or new, never mixed.  qs-metrics
 * serves STATE/metrics.prom with it, as /metrics for Prometheus.  It runs
 * in a thread of libmicrohttpd's own until qs_filesrv_stop.
 */
struct qs_filesrv_opts {
	const char *listen;	/* "ADDR:PORT", IPv4 or [IPv6]; port 0 picks */
	const char *file;	/* the file served */
	const char *path;	/* the URL path it is served on ("/metrics") */
	const char *ctype;	/* its Content-Type */
};

struct qs_filesrv;

/*
 * Start serving.  The options' strings are borrowed and must outlive the
 * server.  Returns NULL with err: EX_USAGE for a listen address that is
 * not ADDR:PORT with a numeric address, EX_UNAVAILABLE when it cannot
 * listen there.
 */
struct qs_filesrv *qs_filesrv_start(const struct qs_filesrv_opts *o,
    struct qs_err *err);

/* Where it listens, "127.0.0.1:9100" or "[::1]:9100"; belongs to s. */
const char *qs_filesrv_addr(const struct qs_filesrv *s);

void qs_filesrv_stop(struct qs_filesrv *s);

#endif
