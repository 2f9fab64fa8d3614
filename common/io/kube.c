/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qs/buf.h"
#include "qs/err.h"
#include "qs/http.h"
#include "qs/kube.h"
#include "qs/name.h"
#include "qs/opt.h"
#include "qs/url.h"
#include "qs/xalloc.h"

extern char **environ;

/*
 * Longest answer we accept from the API server or kubectl.  etcd stores
 * objects of at most 1.5 MiB; parsing takes some 17 times the answer's
 * size, so this keeps qs-observe within the CronJob's 64Mi (4 MiB took
 * 71 MB).
 */
#define BODY_MAX (2 * 1024 * 1024)

struct qs_kube {
	enum qs_kube_backend backend;
	char *server;		/* without a trailing slash */
	char *shown;		/* the same without user information, for messages */
	char *token;		/* NULL: no Authorization header */
	char *cacert;
	int insecure;
	double timeout;
	char *kubectl;
	char *sa_namespace;
	CURL *curl;
};

const char *
qs_kube_reason(int status)
{
	return qs_http_reason(status);
}

int
qs_kube_backend_parse(const char *s, enum qs_kube_backend *b)
{
	if (strcmp(s, "api") == 0)
		*b = QS_KUBE_API;
	else if (strcmp(s, "kubectl") == 0)
		*b = QS_KUBE_KUBECTL;
	else if (strcmp(s, "auto") == 0)
		*b = QS_KUBE_AUTO;
	else
		return -1;
	return 0;
}

/* Copy a text for a one-line message: no control characters, bounded. */
static void
oneline(char *dst, size_t size, const char *src, size_t len)
{
	size_t i, j = 0;

	while (len > 0 && isspace((unsigned char)src[len - 1]))
		len--;
	for (i = 0; i < len && j + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[j++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[j] = '\0';
}

/*
 * Read a small secret or path file whole, without its trailing newline.
 * Returns a new string or NULL with err.  The contents never go into err.
 */
static char *
slurp(const char *path, const char *what, struct qs_err *err)
{
	char *s;
	size_t len = 0, cap = 4096, n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		qs_err_sys(err, EX_NOINPUT, "cannot open %s %s", what, path);
		return NULL;
	}
	s = xmalloc(cap);
	while ((n = fread(s + len, 1, cap - len - 1, fp)) > 0) {
		len += n;
		if (len + 1 == cap) {
			if (cap >= 1024 * 1024) {
				fclose(fp);
				free(s);
				qs_err_set(err, EX_DATAERR, "%s %s is too long",
				    what, path);
				return NULL;
			}
			cap *= 2;
			s = xreallocarray(s, cap, 1);
		}
	}
	if (ferror(fp)) {
		qs_err_sys(err, EX_IOERR, "cannot read %s %s", what, path);
		fclose(fp);
		free(s);
		return NULL;
	}
	fclose(fp);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	s[len] = '\0';
	return s;
}

static int
on_path(const char *prog)
{
	const char *path, *p, *e;
	char buf[4096];
	size_t n;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	if ((path = getenv("PATH")) == NULL)
		return 0;
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		n = e ? (size_t)(e - p) : strlen(p);
		if ((size_t)snprintf(buf, sizeof(buf), "%.*s/%s",
		    n ? (int)n : 1, n ? p : ".", prog) < sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return 1;
		if (e == NULL)
			return 0;
	}
}

struct qs_kube *
qs_kube_new(const struct qs_kube_opts *o, struct qs_err *err)
{
	struct qs_kube *k = xcalloc(1, sizeof(*k));
	const char *sa = o->sa_dir ? o->sa_dir : QS_KUBE_SA_DIR;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char tok[4096], ca[4096], ns[4096];
	int incluster;

	snprintf(tok, sizeof(tok), "%s/token", sa);
	snprintf(ca, sizeof(ca), "%s/ca.crt", sa);
	snprintf(ns, sizeof(ns), "%s/namespace", sa);
	incluster = host != NULL && *host != '\0' && access(tok, R_OK) == 0;
	k->timeout = o->timeout > 0 ? o->timeout : 10;
	k->insecure = o->insecure;
	k->kubectl = xstrdup(o->kubectl ? o->kubectl : "kubectl");
	k->backend = o->backend;
	if (k->backend == QS_KUBE_AUTO) {
		if (o->server != NULL || incluster) {
			k->backend = QS_KUBE_API;
		} else if (on_path(k->kubectl)) {
			k->backend = QS_KUBE_KUBECTL;
		} else {
			qs_err_set(err, EX_UNAVAILABLE, "no Kubernetes API: "
			    "not in a cluster, no --server, and no %s on the PATH",
			    k->kubectl);
			goto fail;
		}
	}
	if (k->backend == QS_KUBE_KUBECTL)
		return k;

	if (incluster && access(ns, R_OK) == 0)
		k->sa_namespace = slurp(ns, "namespace file", NULL);
	if (o->server != NULL) {
		k->server = xstrdup(o->server);
	} else if (host != NULL && *host != '\0') {
		size_t n = strlen(host) + 32;

		k->server = xmalloc(n);
		/* An IPv6 service address needs brackets in a URL. */
		snprintf(k->server, n, strchr(host, ':') ? "https://[%s]:%s" :
		    "https://%s:%s", host, port && *port ? port : "443");
	} else {
		qs_err_set(err, EX_USAGE, "no Kubernetes API server: "
		    "KUBERNETES_SERVICE_HOST is not set and no --server given");
		goto fail;
	}
	if (strncmp(k->server, "http://", 7) != 0 &&
	    strncmp(k->server, "https://", 8) != 0) {
		k->shown = qs_url_shown(k->server);
		qs_err_set(err, EX_USAGE, "invalid server %s: not an http or "
		    "https URL", k->shown);
		goto fail;
	}
	while (k->server[0] && k->server[strlen(k->server) - 1] == '/')
		k->server[strlen(k->server) - 1] = '\0';
	k->shown = qs_url_shown(k->server);
	if (o->token_file != NULL) {
		if ((k->token = slurp(o->token_file, "token file", err)) == NULL)
			goto fail;
	} else if (o->server == NULL && access(tok, R_OK) == 0) {
		if ((k->token = slurp(tok, "token file", err)) == NULL)
			goto fail;
	}
	if (k->token != NULL && strpbrk(k->token, "\r\n") != NULL) {
		qs_err_set(err, EX_DATAERR, "invalid token file: more than one line");
		goto fail;
	}
	if (o->cacert != NULL) {
		if (access(o->cacert, R_OK) != 0) {
			qs_err_sys(err, EX_NOINPUT, "cannot open CA file %s",
			    o->cacert);
			goto fail;
		}
		k->cacert = xstrdup(o->cacert);
	} else if (o->server == NULL && access(ca, R_OK) == 0) {
		k->cacert = xstrdup(ca);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (k->curl = curl_easy_init()) == NULL) {
		qs_err_set(err, EX_SOFTWARE, "cannot initialise libcurl");
		goto fail;
	}
	return k;
fail:
	qs_kube_free(k);
	return NULL;
}

void
qs_kube_free(struct qs_kube *k)
{
	if (k == NULL)
		return;
	if (k->curl != NULL) {
		curl_easy_cleanup(k->curl);
		curl_global_cleanup();
	}
	if (k->token != NULL) {
		/* Do not leave the secret in freed memory. */
		memset(k->token, 0, strlen(k->token));
		free(k->token);
	}
	free(k->server);
	free(k->shown);
	free(k->cacert);
	free(k->kubectl);
	free(k->sa_namespace);
	free(k);
}

enum qs_kube_backend
qs_kube_backend(const struct qs_kube *k)
{
	return k->backend;
}

const char *
qs_kube_default_namespace(const struct qs_kube *k)
{
	return k->sa_namespace;
}

/* Names go into URLs and argv: allow only what Kubernetes allows. */
static int
check_names(const char *ns, const char *name, struct qs_err *err)
{
	return qs_name_check_namespace(ns, "namespace", err) != 0 ||
	    qs_name_check_deployment(name, "deployment name", err) != 0 ? -1 : 0;
}

int
qs_kube_http_error(int code, const char *body, size_t len, struct qs_err *err)
{
	char msg[256] = "";
	const char *m;
	json_t *j;

	if (body != NULL && (j = json_loadb(body, len, 0, NULL)) != NULL) {
		if ((m = json_string_value(json_object_get(j, "message"))) != NULL)
			oneline(msg, sizeof(msg), m, strlen(m));
		json_decref(j);
	}
	return qs_err_set(err, EX_UNAVAILABLE, "HTTP %d%s%s%s%s", code,
	    *qs_kube_reason(code) ? " " : "", qs_kube_reason(code),
	    *msg ? ": " : "", msg);
}

/*
 * One REST call.  body (may be NULL) is sent with content type ctype.
 * On success *out is a new reference to the parsed answer.
 */
static int
api_call(struct qs_kube *k, const char *method, const char *path,
    const char *body, const char *ctype, json_t **out, int *http,
    struct qs_err *err)
{
	struct curl_slist *hdr = NULL;
	struct qs_buf b = { .max = BODY_MAX };
	char url[8192], ebuf[CURL_ERROR_SIZE] = "", line[4200];
	json_error_t jerr;
	long code = 0;
	CURLcode rc;
	CURL *c = k->curl;
	int ret = -1;

	*http = 0;
	*out = NULL;
	snprintf(url, sizeof(url), "%s%s", k->server, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ceil(k->timeout * 1000));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, qs_buf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "qscale/" QS_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, k->cacert);
	if (k->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (k->token != NULL && *k->token != '\0') {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", k->token);
		hdr = curl_slist_append(hdr, line);
		memset(line, 0, sizeof(line));
	}
	if (body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		hdr = curl_slist_append(hdr, line);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		qs_err_set(err, EX_TEMPFAIL, "%s timed out after %g s",
		    k->shown, k->timeout);
		goto out;
	}
	if (rc == CURLE_WRITE_ERROR && b.toobig) {
		qs_err_set(err, EX_UNAVAILABLE, "%s: answer longer than %d bytes",
		    k->shown, BODY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		qs_err_set(err, EX_UNAVAILABLE, "%s: %s", k->shown,
		    *ebuf ? ebuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	*http = (int)code;
	if (code < 200 || code > 299) {
		qs_kube_http_error((int)code, b.p, b.len, err);
		goto out;
	}
	if (b.p == NULL || (*out = json_loadb(b.p, b.len, 0, &jerr)) == NULL ||
	    !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		qs_err_set(err, EX_UNAVAILABLE, "%s: HTTP %ld with an answer "
		    "that is not a JSON object", k->shown, code);
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdr);
	free(b.p);
	return ret;
}

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Run kubectl with args (NULL-terminated, without the program name),
 * at most k->timeout seconds.  On success *out (may be NULL) is its
 * standard output as a new string.  On failure, err holds kubectl's last
 * line of standard error and *http the status its reason names.
 */
static int
kubectl_run_in(struct qs_kube *k, const char *const *args, const char *input,
    char **out, int *http, struct qs_err *err);

static int
kubectl_run(struct qs_kube *k, const char *const *args, char **out, int *http,
    struct qs_err *err)
{
	return kubectl_run_in(k, args, NULL, out, http, err);
}

/* The same, with input (NULL: none) as kubectl's standard input. */
static int
kubectl_run_in(struct qs_kube *k, const char *const *args, const char *input,
    char **out, int *http, struct qs_err *err)
{
	posix_spawn_file_actions_t fa;
	FILE *in = NULL;
	const char *argv[32];
	char tmo[64], line[400] = "", *p, *q;
	struct qs_buf b = { .max = BODY_MAX }, e = { .max = BODY_MAX };
	struct pollfd pfd;
	double deadline;
	FILE *ef;
	pid_t pid;
	int pfds[2], status, n, i, rc, timedout = 0;
	ssize_t r;
	char chunk[8192];

	*http = 0;
	if (out != NULL)
		*out = NULL;
	snprintf(tmo, sizeof(tmo), "--request-timeout=%gs", k->timeout);
	/* A global option first, so that args may end with "--" and operands. */
	argv[0] = k->kubectl;
	argv[1] = tmo;
	for (n = 2; args[n - 2] != NULL && n < 31; n++)
		argv[n] = args[n - 2];
	argv[n] = NULL;
	if ((ef = tmpfile()) == NULL)
		return qs_err_sys(err, EX_OSERR, "cannot create a temporary file");
	if (input != NULL && ((in = tmpfile()) == NULL ||
	    fputs(input, in) == EOF || fflush(in) != 0 ||
	    fseek(in, 0, SEEK_SET) != 0)) {
		if (in != NULL)
			fclose(in);
		fclose(ef);
		return qs_err_sys(err, EX_OSERR, "cannot create a temporary file");
	}
	if (pipe(pfds) != 0) {
		if (in != NULL)
			fclose(in);
		fclose(ef);
		return qs_err_sys(err, EX_OSERR, "cannot create a pipe");
	}
	fcntl(pfds[0], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfds[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fileno(ef), STDERR_FILENO);
	if (in != NULL)
		posix_spawn_file_actions_adddup2(&fa, fileno(in), STDIN_FILENO);
	posix_spawn_file_actions_addclose(&fa, pfds[1]);
	rc = posix_spawnp(&pid, k->kubectl, &fa, NULL, (char *const *)argv,
	    environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfds[1]);
	if (in != NULL)
		fclose(in);
	if (rc != 0) {
		close(pfds[0]);
		fclose(ef);
		errno = rc;
		return qs_err_sys(err, EX_UNAVAILABLE, "cannot run %s", k->kubectl);
	}
	deadline = now_mono() + k->timeout + 1;
	pfd.fd = pfds[0];
	pfd.events = POLLIN;
	for (;;) {
		double left = deadline - now_mono();

		if (left <= 0) {
			timedout = 1;
			break;
		}
		if ((i = poll(&pfd, 1, (int)ceil(left * 1000))) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (i == 0)
			continue;
		if ((r = read(pfds[0], chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0)
			break;
		/* Past the limit, keep reading so that kubectl can finish. */
		qs_buf_append(&b, chunk, (size_t)r);
	}
	close(pfds[0]);
	if (timedout)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timedout) {
		rc = qs_err_set(err, EX_TEMPFAIL, "%s timed out after %g s",
		    k->kubectl, k->timeout);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* kubectl's last line of standard error says what failed. */
		rewind(ef);
		while ((n = fread(chunk, 1, sizeof(chunk), ef)) > 0)
			qs_buf_append(&e, chunk, (size_t)n);
		if (e.p != NULL) {
			while (e.len > 0 && isspace((unsigned char)e.p[e.len - 1]))
				e.p[--e.len] = '\0';
			p = strrchr(e.p, '\n');
			p = p ? p + 1 : e.p;
			oneline(line, sizeof(line), p, strlen(p));
			if ((p = strstr(line, "(")) != NULL &&
			    (q = strchr(p, ')')) != NULL)
				*http = qs_http_k8s_code(p + 1, (size_t)(q - p - 1));
			/*
			 * kubectl checks --resource-version itself; a stale
			 * one is the conflict the server would have answered.
			 */
			if (*http == 0 && strstr(line, "Expected resource "
			    "version to be") != NULL)
				*http = 409;
		}
		if (*http == 0 && (strstr(line, "deadline exceeded") ||
		    strstr(line, "Client.Timeout") || strstr(line, "i/o timeout")))
			rc = qs_err_set(err, EX_TEMPFAIL, "%s timed out after "
			    "%g s: %s", k->kubectl, k->timeout, line);
		else if (*http != 0)
			rc = qs_err_set(err, EX_UNAVAILABLE, "HTTP %d %s: %s: %s",
			    *http, qs_kube_reason(*http), k->kubectl, line);
		else if (WIFEXITED(status))
			rc = qs_err_set(err, EX_UNAVAILABLE, "%s exited with "
			    "status %d%s%s", k->kubectl, WEXITSTATUS(status),
			    *line ? ": " : "", line);
		else
			rc = qs_err_set(err, EX_UNAVAILABLE, "%s was killed by "
			    "signal %d", k->kubectl, WTERMSIG(status));
		goto out;
	}
	if (b.toobig) {
		rc = qs_err_set(err, EX_UNAVAILABLE, "%s: output longer than %d "
		    "bytes", k->kubectl, BODY_MAX);
		goto out;
	}
	rc = 0;
	if (out != NULL) {
		*out = b.p ? b.p : xstrdup("");
		b.p = NULL;
	}
out:
	fclose(ef);
	free(b.p);
	free(e.p);
	return rc;
}

/* Read the fields we need from a Deployment object (borrowed). */
static int
parse_deployment(json_t *d, struct qs_kube_scale *out, struct qs_err *err)
{
	json_t *spec = json_object_get(d, "spec");
	json_t *status = json_object_get(d, "status");
	json_t *v;
	const char *rv, *kind;

	memset(out, 0, sizeof(*out));
	/* A List or an empty object would otherwise read as 1 replica, 0 ready. */
	if ((kind = json_string_value(json_object_get(d, "kind"))) == NULL)
		return qs_err_set(err, EX_UNAVAILABLE, "invalid deployment: "
		    "the answer has no kind, not a Deployment");
	if (strcmp(kind, "Deployment") != 0) {
		char shown[40];

		oneline(shown, sizeof(shown), kind, strlen(kind));
		return qs_err_set(err, EX_UNAVAILABLE, "invalid deployment: "
		    "the answer is a %s, not a Deployment", shown);
	}
	/*
	 * The API server defaults spec.replicas when the object is created,
	 * so a Deployment without it is not one it sent: reading 1 would
	 * report, and scale from, a count nobody set.
	 */
	if (!json_is_object(spec))
		return qs_err_set(err, EX_UNAVAILABLE, "invalid deployment: "
		    "the answer has no spec");
	v = json_object_get(spec, "replicas");
	if (v == NULL)
		return qs_err_set(err, EX_UNAVAILABLE, "invalid deployment: "
		    "the answer has no spec.replicas");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		out->replicas = (long)json_integer_value(v);
	else
		return qs_err_set(err, EX_UNAVAILABLE, "invalid deployment: "
		    "spec.replicas is not a count");
	v = json_object_get(status, "replicas");
	out->current = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	v = json_object_get(status, "readyReplicas");
	out->ready = json_is_integer(v) ? (long)json_integer_value(v) : 0;
	rv = json_string_value(json_object_get(json_object_get(d, "metadata"),
	    "resourceVersion"));
	if (rv != NULL && strlen(rv) < sizeof(out->version))
		strcpy(out->version, rv);
	rv = json_string_value(json_object_get(json_object_get(d, "metadata"),
	    "uid"));
	if (rv != NULL && strlen(rv) < sizeof(out->uid))
		strcpy(out->uid, rv);
	rv = json_string_value(json_object_get(json_object_get(d, "metadata"),
	    "namespace"));
	if (rv != NULL && strlen(rv) < sizeof(out->namespace))
		strcpy(out->namespace, rv);
	return 0;
}

int
qs_kube_parse_deployment(const char *body, size_t len,
    struct qs_kube_scale *out, struct qs_err *err)
{
	json_t *d = json_loadb(body, len, 0, NULL);
	int rc;

	if (!json_is_object(d)) {
		json_decref(d);
		return qs_err_set(err, EX_UNAVAILABLE, "the answer is not a JSON "
		    "object");
	}
	rc = parse_deployment(d, out, err);
	json_decref(d);
	return rc;
}

/*
 * End kubectl's arguments args (n used, room for five more) with the
 * namespace and the deployment, the operands after "--" so that a name is
 * never read as an option.
 */
static void
kubectl_target(const char **args, int n, const char *ns, const char *name)
{
	if (ns != NULL) {
		args[n++] = "--namespace";
		args[n++] = ns;
	}
	args[n++] = "--";
	args[n++] = "deployment";
	args[n++] = name;
	args[n] = NULL;
}

int
qs_kube_get_scale(struct qs_kube *k, const char *ns, const char *name,
    struct qs_kube_scale *out, int *http, struct qs_err *err)
{
	char path[1024], *text;
	json_t *d;
	int rc;

	*http = 0;
	if (check_names(ns, name, err) != 0)
		return -1;
	if (k->backend == QS_KUBE_KUBECTL) {
		const char *args[9] = { "get", "--output", "json" };
		int n = 3;

		kubectl_target(args, n, ns, name);

		if (kubectl_run(k, args, &text, http, err) != 0)
			return -1;
		rc = qs_kube_parse_deployment(text, strlen(text), out, err);
		free(text);
		if (rc != 0)
			return qs_err_wrap(err, "%s get deployment %s", k->kubectl,
			    name);
		return 0;
	} else {
		snprintf(path, sizeof(path),
		    "/apis/apps/v1/namespaces/%s/deployments/%s",
		    ns ? ns : "default", name);
		if (api_call(k, "GET", path, NULL, NULL, &d, http, err) != 0)
			return -1;
	}
	rc = parse_deployment(d, out, err);
	json_decref(d);
	return rc;
}

int
qs_kube_set_replicas(struct qs_kube *k, const char *ns, const char *name,
    long replicas, const char *version, int *http, struct qs_err *err)
{
	char path[1024], num[64], rv[128];
	json_t *patch, *d;
	char *body;
	int rc;

	*http = 0;
	if (check_names(ns, name, err) != 0)
		return -1;
	if (k->backend == QS_KUBE_KUBECTL) {
		const char *args[10] = { "scale", num };
		int n = 2;

		snprintf(num, sizeof(num), "--replicas=%ld", replicas);
		if (version != NULL && *version != '\0') {
			snprintf(rv, sizeof(rv), "--resource-version=%s", version);
			args[n++] = rv;
		}
		kubectl_target(args, n, ns, name);
		return kubectl_run(k, args, NULL, http, err);
	}
	patch = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)replicas);
	if (version != NULL && *version != '\0')
		json_object_set_new(patch, "metadata",
		    json_pack("{s:s}", "resourceVersion", version));
	body = json_dumps(patch, JSON_COMPACT);
	json_decref(patch);
	snprintf(path, sizeof(path),
	    "/apis/apps/v1/namespaces/%s/deployments/%s/scale",
	    ns ? ns : "default", name);
	rc = api_call(k, "PATCH", path, body, "application/merge-patch+json",
	    &d, http, err);
	free(body);
	json_decref(d);
	return rc;
}

void
qs_kube_opts_env(struct qs_kube_opts *o)
{
	if (o->server == NULL && o->backend != QS_KUBE_KUBECTL)
		o->server = qs_env("QS_KUBE_SERVER", NULL);
	if (o->sa_dir == NULL)
		o->sa_dir = qs_env("QS_SERVICEACCOUNT_DIR", NULL);
}

const char *
qs_kube_namespace(const struct qs_kube *k, const char *ns)
{
	if (ns == NULL)
		ns = qs_env("QS_NAMESPACE", NULL);
	if (ns == NULL)
		ns = qs_kube_default_namespace(k);
	/* kubectl without a namespace uses its context's. */
	if (ns == NULL && qs_kube_backend(k) == QS_KUBE_API)
		ns = "default";
	return ns;
}

/*
 * The Event object for ev about deployment name in ns (may be NULL: then
 * the object names none, and kubectl puts its context's): a new
 * reference.  Its name is the deployment's and the time in nanoseconds,
 * in hexadecimal, as client-go names the Events it records.
 */
static json_t *
event_json(const char *ns, const char *name, const struct qs_kube_event *ev)
{
	struct timespec ts;
	char ename[256], when[32];
	json_t *o, *inv;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(ename, sizeof(ename), "%.200s.%llx", name,
	    (unsigned long long)ts.tv_sec * 1000000000ULL +
	    (unsigned long long)ts.tv_nsec);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&ts.tv_sec));
	inv = json_pack("{s:s,s:s,s:s}", "apiVersion", "apps/v1", "kind",
	    "Deployment", "name", name);
	if (ev->uid != NULL && *ev->uid != '\0')
		json_object_set_new(inv, "uid", json_string(ev->uid));
	o = json_pack("{s:s,s:s,s:{s:s},s:o,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:i,"
	    "s:s}", "apiVersion", "v1", "kind", "Event", "metadata", "name",
	    ename, "involvedObject", inv, "type", ev->type, "reason", ev->reason,
	    "message", ev->message, "source", "component", "qscale",
	    "firstTimestamp", when, "lastTimestamp", when, "count", 1,
	    "reportingComponent", "qscale");
	if (ns != NULL) {
		json_object_set_new(json_object_get(o, "metadata"), "namespace",
		    json_string(ns));
		json_object_set_new(inv, "namespace", json_string(ns));
	}
	return o;
}

int
qs_kube_post_event(struct qs_kube *k, const char *ns, const char *name,
    const struct qs_kube_event *ev, int *http, struct qs_err *err)
{
	char path[1024], *body;
	json_t *o, *d;
	int rc;

	*http = 0;
	if (check_names(ns, name, err) != 0)
		return -1;
	if (k->backend == QS_KUBE_API && ns == NULL)
		ns = "default";
	o = event_json(ns, name, ev);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body == NULL)
		return qs_err_set(err, EX_SOFTWARE, "cannot encode an Event");
	if (k->backend == QS_KUBE_KUBECTL) {
		/*
		 * The server checks the object; kubectl's own check needs the
		 * OpenAPI document, which qs-sim serve does not serve.
		 */
		const char *args[9] = { "create", "--validate=false", "--output",
		    "name", "-f", "-" };
		int n = 6;

		if (ns != NULL) {
			args[n++] = "--namespace";
			args[n++] = ns;
		}
		args[n] = NULL;
		rc = kubectl_run_in(k, args, body, NULL, http, err);
		free(body);
		return rc;
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
	rc = api_call(k, "POST", path, body, "application/json", &d, http, err);
	free(body);
	json_decref(d);
	return rc;
}
