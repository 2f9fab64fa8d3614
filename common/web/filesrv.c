/* See LICENSE file for copyright and license details. */
/* A small HTTP server for one file, on libmicrohttpd. */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "qs/err.h"
#include "qs/filesrv.h"
#include "qs/listen.h"
#include "qs/num.h"
#include "qs/xalloc.h"

/* The largest file served: a metrics file is a few kilobytes. */
#define FILESRV_MAX (4 * 1024 * 1024)
/* Threads, connections, and seconds a connection may stay idle. */
#define FILESRV_THREADS 2
#define FILESRV_CONNECTIONS 64
#define FILESRV_IDLE 10

struct qs_filesrv {
	struct MHD_Daemon *d;
	struct qs_filesrv_opts o;
	char addr[128];
};

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *ctype, char *body,
    size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned code, const char *text)
{
	return reply(c, code, "text/plain; charset=utf-8", xstrdup(text),
	    strlen(text));
}

/* The file whole, as a new string in *body; -1 with errno if it cannot. */
static int
slurp(const char *path, char **body, size_t *len)
{
	size_t cap = 8192, n = 0, r;
	char *b;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	b = xmalloc(cap);
	while ((r = fread(b + n, 1, cap - n, fp)) > 0) {
		n += r;
		if (n == cap) {
			if (cap >= FILESRV_MAX) {
				fclose(fp);
				free(b);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			b = xreallocarray(b, cap, 1);
		}
	}
	if (ferror(fp)) {
		fclose(fp);
		free(b);
		return -1;
	}
	fclose(fp);
	*body = b;
	*len = n;
	return 0;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct qs_filesrv *s = cls;
	char msg[256], *body;
	size_t len;

	(void)version, (void)upload;
	/* The first call only announces the request. */
	if (*con_cls == NULL) {
		*con_cls = s;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_text(c, 405, "use GET\n");
	if (strcmp(url, "/") == 0) {
		snprintf(msg, sizeof(msg), "qscale's metrics are on %s\n",
		    s->o.path);
		return reply_text(c, 200, msg);
	}
	if (strcmp(url, s->o.path) != 0)
		return reply_text(c, 404, "not found\n");
	if (slurp(s->o.file, &body, &len) != 0) {
		/* Before the first tick, or a file gone: no metrics, said so. */
		snprintf(msg, sizeof(msg), "cannot read %s: %s\n", s->o.file,
		    strerror(errno));
		return reply_text(c, 503, msg);
	}
	return reply(c, 200, s->o.ctype, body, len);
}

struct qs_filesrv *
qs_filesrv_start(const struct qs_filesrv_opts *o, struct qs_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD, port;
	char host[INET6_ADDRSTRLEN];
	struct qs_filesrv *s;

	if (qs_listen_parse(o->listen, &ss, &sslen, err) != 0)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = xcalloc(1, sizeof(*s));
	s->o = *o;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)FILESRV_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)FILESRV_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)FILESRV_IDLE,
	    MHD_OPTION_END);
	if (s->d == NULL) {
		qs_err_set(err, EX_UNAVAILABLE, "cannot listen on %s: address in "
		    "use or not available", o->listen);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : 0;
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "[%s]:%u", host, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		    sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "%s:%u", host, port);
	}
	return s;
}

const char *
qs_filesrv_addr(const struct qs_filesrv *s)
{
	return s->addr;
}

void
qs_filesrv_stop(struct qs_filesrv *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->d);
	free(s);
}
