/* See LICENSE file for copyright and license details. */
#include <string.h>

#include "qs/buf.h"
#include "qs/xalloc.h"

int
qs_buf_append(struct qs_buf *b, const void *data, size_t n)
{
	if (b->max > 0 && b->len + n + 1 > b->max) {
		b->toobig = 1;
		return -1;
	}
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

size_t
qs_buf_curl_write(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;

	/* A short count makes curl stop with CURLE_WRITE_ERROR. */
	return qs_buf_append(arg, data, n) == 0 ? n : 0;
}
