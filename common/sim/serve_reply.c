/* See LICENSE file for copyright and license details. */
/* qs-sim serve: answers, and the Status objects of errors. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/http.h"
#include "qs/xalloc.h"
#include "serve_int.h"

enum MHD_Result
serve_reply(struct MHD_Connection *c, unsigned code, const char *ctype,
    char *body, size_t len)
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
enum MHD_Result
serve_reply_json(struct MHD_Connection *c, unsigned code, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);

	json_decref(v);
	if (s == NULL)
		s = xstrdup("{}");
	return serve_reply(c, code, "application/json", s, strlen(s));
}

/* The Status reason of code, from the table the client shares. */
static const char *
reason_of(unsigned code)
{
	const char *r = qs_http_k8s_reason((int)code);

	if (r != NULL)
		return r;
	return code >= 500 ? "InternalError" : "BadRequest";
}

/* A Kubernetes Status object for an error. */
enum MHD_Result
serve_reply_status(struct MHD_Connection *c, unsigned code, const char *fmt,
    ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return serve_reply_json(c, code, json_pack(
	    "{s:s,s:s,s:{},s:s,s:s,s:s,s:i}",
	    "kind", "Status", "apiVersion", "v1", "metadata", "status",
	    "Failure", "message", msg, "reason", reason_of(code), "code",
	    (int)code));
}
