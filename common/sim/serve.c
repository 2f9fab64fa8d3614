/* See LICENSE file for copyright and license details. */
/* qs-sim serve: start, route requests to the parts, stop. */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "qs/err.h"
#include "qs/listen.h"
#include "qs/num.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simserve.h"
#include "qs/xalloc.h"
#include "serve_int.h"

/* Bring every deployment up to its clock. */
static void
advance_all(struct qs_simserve *s)
{
	long i;

	for (i = 0; i < s->ndeps; i++)
		serve_advance(s->deps[i]);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct qs_simserve *s = cls;
	struct req *rq = *con_cls;
	char path[1024], *seg[16], *p, *save = NULL;
	enum MHD_Result ret;
	double delay = 0, until;
	int n = 0, isapi, hooked, fail = 0;

	(void)version;
	if (rq == NULL) {
		*con_cls = xcalloc(1, sizeof(struct req));
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (rq->len + *upload_size > MAX_BODY) {
			rq->toolong = 1;
		} else {
			rq->body = xreallocarray(rq->body, rq->len + *upload_size + 1, 1);
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}

	snprintf(path, sizeof(path), "%s", url);
	for (p = strtok_r(path, "/", &save); p && n < 16;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	/*
	 * The hooks act on the API's resources only: kubectl's dispatcher
	 * asks for /version first, to pick a client matching the server.
	 */
	hooked = n >= 1 && (strcmp(seg[0], "api") == 0 ||
	    strcmp(seg[0], "apis") == 0);
	isapi = hooked || (n >= 1 && strcmp(seg[0], "version") == 0);

	pthread_mutex_lock(&s->mu);
	advance_all(s);
	if (hooked && s->delay_count > 0) {
		s->delay_count--;
		delay = s->delay;
	}
	pthread_mutex_unlock(&s->mu);
	/* Hold the answer back, waking up to notice a shutdown. */
	for (until = serve_mono() + delay; delay > 0 && serve_mono() < until; ) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		pthread_mutex_lock(&s->mu);
		if (s->stopping)
			delay = 0;
		pthread_mutex_unlock(&s->mu);
		nanosleep(&ts, NULL);
	}

	pthread_mutex_lock(&s->mu);
	advance_all(s);
	if (isapi && !serve_authorized(s, c)) {
		ret = serve_reply_status(c, 401, "Unauthorized");
		goto out;
	}
	if (hooked && s->fail_count > 0 && (s->fail_method[0] == '\0' ||
	    strcmp(method, s->fail_method) == 0)) {
		s->fail_count--;
		fail = s->fail_status;
	}
	if (fail != 0) {
		ret = serve_reply_status(c, (unsigned)fail, "qs-sim: failure %d "
		    "injected by /qs-sim/fail", fail);
	} else if (n == 1 && strcmp(seg[0], "metrics") == 0 &&
	    strcmp(method, "GET") == 0) {
		ret = serve_metrics(s, c);
	} else if (n == 1 && (strcmp(seg[0], "healthz") == 0 ||
	    strcmp(seg[0], "readyz") == 0 || strcmp(seg[0], "livez") == 0)) {
		ret = serve_reply(c, 200, "text/plain", xstrdup("ok"), 2);
	} else if (n == 1 && strcmp(seg[0], "version") == 0) {
		ret = serve_reply_json(c, 200, json_pack("{s:s,s:s,s:s,s:s}", "major",
		    "1", "minor", "32", "gitVersion", "v1.32.0-qs-sim",
		    "platform", "linux/amd64"));
	} else if (n == 2 && strcmp(seg[0], "qs-sim") == 0 &&
	    strcmp(seg[1], "state") == 0 && strcmp(method, "GET") == 0) {
		ret = serve_state(s, c);
	} else if (n == 2 && strcmp(seg[0], "qs-sim") == 0 &&
	    strcmp(seg[1], "advance") == 0) {
		ret = strcmp(method, "POST") == 0 ? serve_hook_advance(s, c) :
		    serve_reply_status(c, 405, "use POST");
	} else if (n == 2 && strcmp(seg[0], "qs-sim") == 0 &&
	    (strcmp(seg[1], "fail") == 0 || strcmp(seg[1], "delay") == 0)) {
		ret = strcmp(method, "POST") == 0 ? serve_hook(s, c, seg[1]) :
		    serve_reply_status(c, 405, "use POST");
	} else if (isapi) {
		ret = serve_kube(s, c, method, seg, n, rq);
	} else {
		ret = serve_reply_status(c, 404, "the server could not find the "
		    "requested resource");
	}
out:
	pthread_mutex_unlock(&s->mu);
	return ret;
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/*
 * How many connections the server takes: as many as its descriptors
 * allow, less a reserve for the files it opens, and at most
 * SERVE_MAX_CONNECTIONS.  The soft limit on descriptors is raised first,
 * as far as the hard one and the connections allow.  A connection past
 * the limit is closed at once, instead of taking a descriptor the server
 * needs.
 */
static unsigned
connection_limit(void)
{
	struct rlimit rl;
	rlim_t want = SERVE_MAX_CONNECTIONS + SERVE_FD_RESERVE, n;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 16;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > want ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	n = rl.rlim_cur == RLIM_INFINITY ? want : rl.rlim_cur;
	n = n > SERVE_FD_RESERVE + 16 ? n - SERVE_FD_RESERVE : 16;
	return n < SERVE_MAX_CONNECTIONS ? (unsigned)n : SERVE_MAX_CONNECTIONS;
}

/*
 * A fixed pool of threads polls all connections, so that a connection
 * costs a descriptor and a little memory, not a thread; a connection idle
 * for SERVE_IDLE_TIMEOUT seconds is closed, and one address may hold at
 * most three quarters of the connections.  A delayed answer (the delay
 * hook) holds one of the threads.
 */
static struct MHD_Daemon *
start_daemon(struct qs_simserve *s, unsigned flags,
    struct sockaddr_storage *ss, const struct qs_simserve_opts *o)
{
	unsigned limit = connection_limit();
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key },
		{ MHD_OPTION_END, 0, NULL }
	};

	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
	    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVE_THREADS,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, limit - limit / 4,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT,
	    MHD_OPTION_ARRAY, o->tls_cert != NULL ? tls : tls + 2,
	    MHD_OPTION_END);
}

/* A deployment's state, before any daemon serves it. */
static struct qs_simserve *
dep_new(const struct qs_simserve_opts *o, size_t i, char *labels)
{
	struct qs_simserve *s = xcalloc(1, sizeof(*s));
	struct qs_sim_params p = o->p;

	pthread_mutex_init(&s->mu, NULL);
	s->deployment = o->deployment;
	s->namespace = o->namespace;
	s->token = o->token;
	s->prefix = o->metric_prefix != NULL ? o->metric_prefix : "http_server";
	s->labels = labels;
	/* A manual clock runs as fast as the model, when it runs. */
	s->manual = o->tick == 0;
	s->tick = s->manual ? p.interval : o->tick;
	s->created = time(NULL);
	/* The i-th deployment's names differ from the others' of its seed. */
	qs_rand_seed(&s->names, (o->seed ^ 0x9e3779b97f4a7c15ULL) +
	    (unsigned long long)i * 0xbf58476d1ce4e5b9ULL);
	serve_random_chars(&s->names, s->hash, 10);
	snprintf(s->uid, sizeof(s->uid), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xfffULL),
	    (unsigned long long)(qs_rand_next(&s->names) & 0xffffffffffffULL));
	/* The model counts simulated seconds; the option counts wall ones. */
	p.startup_delay = o->p.startup_delay * p.interval / s->tick;
	qs_sim_init(&s->sim, &p, o->trace, o->n, o->rate, o->replicas, o->seed);
	serve_pods_resize(s, o->replicas);
	s->ready = s->sim.ready;
	s->version = 1;
	s->generation = 1;
	s->t0 = serve_mono();
	return s;
}

static void
dep_free(struct qs_simserve *s)
{
	serve_events_free(s);
	qs_sim_free(&s->sim);
	free(s->pods);
	free(s->labels);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

struct qs_simserve *
qs_simserve_start(const struct qs_simserve_opts *o, struct qs_err *err)
{
	return qs_simserve_start_many(o, 1, err);
}

struct qs_simserve *
qs_simserve_start_many(const struct qs_simserve_opts *o, size_t n,
    struct qs_err *err)
{
	struct qs_simserve *s, **deps;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	socklen_t len;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
	char host[INET6_ADDRSTRLEN], *labels;
	size_t i, j;

	if (n == 0 || n > SERVE_MAX_DEPLOYMENTS) {
		qs_err_set(err, EX_USAGE, "a server runs 1 to %d deployments, "
		    "not %zu", SERVE_MAX_DEPLOYMENTS, n);
		return NULL;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(o[i].deployment, o[j].deployment) == 0 &&
			    strcmp(o[i].namespace, o[j].namespace) == 0) {
				qs_err_set(err, EX_USAGE, "deployment %s is given "
				    "twice in namespace %s", o[i].deployment,
				    o[i].namespace);
				return NULL;
			}
	for (i = 0; i < n; i++) {
		if (serve_metric_prefix_check(o[i].metric_prefix, err) != 0)
			return NULL;
		/* Only checked here; rendered again below. */
		if ((labels = serve_labels_render(o[i].labels, o[i].nlabels,
		    err)) == NULL)
			return NULL;
		free(labels);
	}
	if (qs_listen_parse(o->listen, &ss, &len, err) != 0)
		return NULL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o->tls_cert != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			qs_err_set(err, EX_UNAVAILABLE, "this libmicrohttpd "
			    "cannot serve TLS");
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	deps = xcalloc(n, sizeof(*deps));
	for (i = 0; i < n; i++)
		deps[i] = dep_new(&o[i], i, serve_labels_render(o[i].labels,
		    o[i].nlabels, err));
	s = deps[0];
	s->deps = deps;
	s->ndeps = (long)n;

	s->d = start_daemon(s, flags, &ss, o);
	if (s->d == NULL) {
		qs_err_set(err, EX_UNAVAILABLE, "cannot listen on %s%s",
		    o->listen, o->tls_cert ? " (or the TLS certificate or key "
		    "is invalid)" : ": address in use or not available");
		for (i = 0; i < n; i++)
			dep_free(deps[i]);
		free(deps);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    host, sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "[%s]:%u", host, s->port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		    sizeof(host));
		snprintf(s->addr, sizeof(s->addr), "%s:%u", host, s->port);
	}
	return s;
}

unsigned
qs_simserve_port(const struct qs_simserve *s)
{
	return s->port;
}

const char *
qs_simserve_addr(const struct qs_simserve *s)
{
	return s->addr;
}

void
qs_simserve_stop(struct qs_simserve *s)
{
	struct qs_simserve **deps;
	long i;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_mutex_unlock(&s->mu);
	MHD_stop_daemon(s->d);
	deps = s->deps;
	for (i = s->ndeps; i-- > 0; )
		dep_free(deps[i]);
	free(deps);
}

struct qs_simserve *
serve_find(struct qs_simserve *root, const char *ns, const char *name)
{
	long i;

	for (i = 0; i < root->ndeps; i++)
		if (strcmp(root->deps[i]->deployment, name) == 0 &&
		    (ns == NULL || strcmp(root->deps[i]->namespace, ns) == 0))
			return root->deps[i];
	return NULL;
}

/*
 * The deployment a hook names with ?deployment=NAME[&namespace=NS], NULL
 * when none has that name; without one, the first deployment and *all
 * set, for the hooks that act on every deployment.
 */
struct qs_simserve *
serve_hook_target(struct qs_simserve *root, struct MHD_Connection *c,
    int *all)
{
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "deployment");
	const char *ns = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "namespace");

	*all = name == NULL;
	return name == NULL ? root : serve_find(root, ns, name);
}

/* Whether s is a metric name (NULL is the default's). */
int
serve_metric_prefix_check(const char *s, struct qs_err *err)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
	size_t k;

	if (s == NULL)
		return 0;
	for (k = 0; s[k] != '\0'; k++)
		if (strchr(first, s[k]) == NULL &&
		    (k == 0 || !(s[k] >= '0' && s[k] <= '9')))
			break;
	if (k == 0 || s[k] != '\0' || k > 200)
		return qs_err_set(err, EX_USAGE, "invalid metric prefix %s: "
		    "letters, digits, _ and :, not first a digit", s);
	return 0;
}

/*
 * The --label strings "key=value" as the text put after a series' own
 * labels, `,key="value"...`: a new string, or NULL with err for a bad
 * or reserved name.
 */
char *
serve_labels_render(const char *const *labels, size_t n,
    struct qs_err *err)
{
	static const char *const reserved[] = { "path", "namespace",
	    "deployment", "pod", "le", "job", "instance", NULL };
	static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_";
	char *text = NULL;
	size_t size = 0, i, k, klen;
	const char *eq, *v;
	FILE *fp;

	if ((fp = open_memstream(&text, &size)) == NULL) {
		qs_err_sys(err, EX_OSERR, "cannot render the labels");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		eq = strchr(labels[i], '=');
		klen = eq != NULL ? (size_t)(eq - labels[i]) : 0;
		for (k = 0; k < klen; k++)
			if (strchr(letters, labels[i][k]) == NULL &&
			    (k == 0 || !(labels[i][k] >= '0' &&
			    labels[i][k] <= '9')))
				break;
		if (eq == NULL || klen == 0 || k < klen || klen > 100) {
			qs_err_set(err, EX_USAGE, "invalid label %s: not "
			    "NAME=VALUE with a Prometheus label name", labels[i]);
			goto bad;
		}
		for (k = 0; reserved[k] != NULL; k++)
			if (strlen(reserved[k]) == klen &&
			    strncmp(reserved[k], labels[i], klen) == 0)
				break;
		if (reserved[k] != NULL || strncmp(labels[i], "__", 2) == 0) {
			qs_err_set(err, EX_USAGE, "invalid label %s: %.*s is a "
			    "name qs-sim serve or Prometheus sets", labels[i],
			    (int)klen, labels[i]);
			goto bad;
		}
		fprintf(fp, ",%.*s=\"", (int)klen, labels[i]);
		for (v = eq + 1; *v != '\0'; v++) {
			if (*v == '\\' || *v == '"')
				fprintf(fp, "\\%c", *v);
			else if (*v == '\n')
				fputs("\\n", fp);
			else
				fputc(*v, fp);
		}
		fputc('"', fp);
	}
	if (fclose(fp) != 0) {
		free(text);
		qs_err_sys(err, EX_OSERR, "cannot render the labels");
		return NULL;
	}
	return text;
bad:
	fclose(fp);
	free(text);
	return NULL;
}
