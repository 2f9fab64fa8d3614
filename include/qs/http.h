/* See LICENSE file for copyright and license details. */
#ifndef QS_HTTP_H
#define QS_HTTP_H

#include <stddef.h>

/*
 * One table of the HTTP statuses qscale meets, shared by the Kubernetes
 * client (which names them in messages) and qs-sim serve (which answers
 * with them): the standard reason phrase and the reason a Kubernetes
 * Status object gives.
 */

/* The reason phrase of code ("Not Found"), or "" when the table lacks it. */
const char *qs_http_reason(int code);

/*
 * The reason a Kubernetes Status object gives for code ("NotFound"), or
 * NULL when the table lacks it.
 */
const char *qs_http_k8s_reason(int code);

/*
 * The status a Kubernetes reason of len bytes names ("NotFound" is 404),
 * or 0 when it names none we know.
 */
int qs_http_k8s_code(const char *reason, size_t len);

#endif
