/* See LICENSE file for copyright and license details. */
#ifndef QS_KUBE_H
#define QS_KUBE_H

#include "qs/err.h"

/*
 * A small Kubernetes client for one deployment: read its desired and
 * ready replicas, and set its replica count through the scale
 * subresource.  Two backends: the REST API over libcurl, authenticated as
 * a pod is (the service account) or with an explicit server, token and
 * CA; or the kubectl program, so that a user's kubeconfig just works.
 * The bearer token is kept in memory only and never appears in a message.
 */
enum qs_kube_backend {
	QS_KUBE_AUTO,
	QS_KUBE_API,
	QS_KUBE_KUBECTL
};

/* Where the service account's token, ca.crt and namespace are mounted. */
#define QS_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct qs_kube_opts {
	enum qs_kube_backend backend;
	const char *server;	/* https://host:port, or NULL for in-cluster */
	const char *token_file;	/* NULL: the service account's, if any */
	const char *cacert;	/* NULL: the service account's, if any */
	int insecure;		/* do not verify the server's certificate */
	double timeout;		/* seconds per call, > 0 */
	const char *kubectl;	/* the kubectl program ("kubectl") */
	const char *sa_dir;	/* NULL: QS_KUBE_SA_DIR */
};

/* What a deployment's scale subresource says. */
struct qs_kube_scale {
	long replicas;		/* spec.replicas, the desired count */
	long current;		/* status.replicas */
	long ready;		/* the deployment's status.readyReplicas */
	char version[64];	/* metadata.resourceVersion, "" if unknown */
	char uid[64];		/* metadata.uid, "" if unknown */
	char namespace[64];	/* metadata.namespace, "" if unknown */
};

struct qs_kube;

/*
 * Fill what the environment gives and the options did not: the server from
 * QS_KUBE_SERVER (unless the backend is kubectl) and the service account's
 * directory from QS_SERVICEACCOUNT_DIR.
 */
void qs_kube_opts_env(struct qs_kube_opts *o);

/* Parse "api", "kubectl" or "auto"; returns -1 for anything else. */
int qs_kube_backend_parse(const char *s, enum qs_kube_backend *b);

/*
 * Make a client.  QS_KUBE_AUTO picks the API when --server is given or
 * the process runs in a cluster (KUBERNETES_SERVICE_HOST is set and the
 * service account's token exists), else kubectl when it is on the PATH.
 * Returns NULL with err (EX_USAGE, EX_NOINPUT for an unreadable token or
 * CA, EX_UNAVAILABLE when no backend applies).
 */
struct qs_kube *qs_kube_new(const struct qs_kube_opts *o, struct qs_err *err);
void qs_kube_free(struct qs_kube *k);

/* The backend qs_kube_new chose: QS_KUBE_API or QS_KUBE_KUBECTL. */
enum qs_kube_backend qs_kube_backend(const struct qs_kube *k);

/*
 * The namespace of the service account when running in a cluster, else
 * NULL.  The string belongs to k.
 */
const char *qs_kube_default_namespace(const struct qs_kube *k);

/*
 * The namespace to use: ns when given, else QS_NAMESPACE, else the service
 * account's, else "default" for the API and NULL (the context's) for
 * kubectl.  The string is ns, the environment's, or belongs to k.
 */
const char *qs_kube_namespace(const struct qs_kube *k, const char *ns);

/*
 * Read deployment name in namespace ns (NULL: kubectl's current context's
 * namespace, or "default" for the API): its desired replicas, status
 * replicas, ready replicas and resource version.  Returns 0, or -1 with
 * err: EX_UNAVAILABLE for a server that answers an error (the message
 * names the HTTP status, as "HTTP 404 Not Found"), cannot be reached or
 * times out; *http is set to the HTTP status when there was one, else 0.
 */
int qs_kube_get_scale(struct qs_kube *k, const char *ns, const char *name,
    struct qs_kube_scale *out, int *http, struct qs_err *err);

/*
 * Set the desired replicas of deployment name by patching its scale
 * subresource.  A non-empty version makes it a precondition: the server
 * answers 409 Conflict when the deployment changed since it was read.
 * Errors as for qs_kube_get_scale.
 */
int qs_kube_set_replicas(struct qs_kube *k, const char *ns, const char *name,
    long replicas, const char *version, int *http, struct qs_err *err);

/*
 * Parse a Deployment object, len bytes of JSON (need not be
 * NUL-terminated), as the API server or kubectl print it.  Returns 0 with
 * out filled, or -1 with err (EX_UNAVAILABLE: the answer is not one, or
 * has no spec.replicas, which the API server always sets).
 */
int qs_kube_parse_deployment(const char *body, size_t len,
    struct qs_kube_scale *out, struct qs_err *err);

/*
 * Fill err (EX_UNAVAILABLE) for an HTTP error answer: the status, its
 * reason, and the message of a Kubernetes Status object when body (len
 * bytes, may be NULL) is one.  Returns -1.
 */
int qs_kube_http_error(int code, const char *body, size_t len,
    struct qs_err *err);

/* The reason phrase of an HTTP status: "Not Found", or "" if unknown. */
const char *qs_kube_reason(int status);

/* A core/v1 Event about a deployment, as qs_kube_post_event posts it. */
struct qs_kube_event {
	const char *type;	/* "Normal" or "Warning" */
	const char *reason;	/* one CamelCase word: "Scaled", "ScaleHeld" */
	const char *message;	/* one line, for people */
	const char *uid;	/* the deployment's metadata.uid, or "" */
};

/*
 * Post ev about deployment name in namespace ns (NULL: as for
 * qs_kube_get_scale), reported by component "qscale": POST
 * /api/v1/namespaces/NS/events, or kubectl create -f - with the same
 * object.  Errors as for qs_kube_get_scale.
 */
int qs_kube_post_event(struct qs_kube *k, const char *ns, const char *name,
    const struct qs_kube_event *ev, int *http, struct qs_err *err);

#endif
