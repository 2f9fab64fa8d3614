/* See LICENSE file for copyright and license details. */
#include <string.h>

#include "qs/http.h"

static const struct {
	int code;
	const char *reason;
	const char *k8s;	/* the Status reason Kubernetes gives */
} statuses[] = {
	{ 400, "Bad Request", "BadRequest" },
	{ 401, "Unauthorized", "Unauthorized" },
	{ 403, "Forbidden", "Forbidden" },
	{ 404, "Not Found", "NotFound" },
	{ 405, "Method Not Allowed", "MethodNotAllowed" },
	{ 406, "Not Acceptable", "NotAcceptable" },
	{ 409, "Conflict", "Conflict" },
	{ 410, "Gone", "Gone" },
	{ 413, "Payload Too Large", "RequestEntityTooLarge" },
	{ 415, "Unsupported Media Type", "UnsupportedMediaType" },
	{ 422, "Unprocessable Entity", "Invalid" },
	{ 429, "Too Many Requests", "TooManyRequests" },
	{ 500, "Internal Server Error", "InternalError" },
	{ 501, "Not Implemented", "NotImplemented" },
	{ 502, "Bad Gateway", "BadGateway" },
	{ 503, "Service Unavailable", "ServiceUnavailable" },
	{ 504, "Gateway Timeout", "Timeout" },
};

#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

const char *
qs_http_reason(int code)
{
	size_t i;

	for (i = 0; i < NSTATUSES; i++)
		if (statuses[i].code == code)
			return statuses[i].reason;
	return "";
}

const char *
qs_http_k8s_reason(int code)
{
	size_t i;

	for (i = 0; i < NSTATUSES; i++)
		if (statuses[i].code == code)
			return statuses[i].k8s;
	return NULL;
}

int
qs_http_k8s_code(const char *reason, size_t len)
{
	size_t i;

	for (i = 0; i < NSTATUSES; i++)
		if (strlen(statuses[i].k8s) == len &&
		    strncmp(statuses[i].k8s, reason, len) == 0)
			return statuses[i].code;
	return 0;
}
