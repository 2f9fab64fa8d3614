/* See LICENSE file for copyright and license details. */
#ifndef QS_NAME_H
#define QS_NAME_H

#include "qs/err.h"

/*
 * Kubernetes object names as the API server accepts them.  Names reach
 * URLs and kubectl's argv, so anything else (a leading '-', '/', "..") is
 * refused before it gets there.
 */

/* Whether s is a DNS-1123 subdomain: what a Deployment's name must be. */
int qs_name_is_subdomain(const char *s);

/* Whether s is a DNS-1123 label: what a namespace's name must be. */
int qs_name_is_label(const char *s);

/*
 * Check a deployment name (a DNS-1123 subdomain) and a namespace (a
 * DNS-1123 label; NULL is not checked).  src names where they came from
 * in the message ("--deployment", "QS_NAMESPACE").  Returns 0, or -1 with
 * err (EX_USAGE).
 */
int qs_name_check_deployment(const char *s, const char *src,
    struct qs_err *err);
int qs_name_check_namespace(const char *s, const char *src,
    struct qs_err *err);

#endif
