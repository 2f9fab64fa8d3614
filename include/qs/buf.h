/* See LICENSE file for copyright and license details. */
#ifndef QS_BUF_H
#define QS_BUF_H

#include <stddef.h>

/*
 * A growing byte buffer for the answers of HTTP servers and programs,
 * always NUL-terminated, refusing to grow past max bytes.
 */
struct qs_buf {
	char *p;
	size_t len, cap;
	size_t max;		/* 0: no limit */
	int toobig;		/* an append would have passed max */
};

/* Append n bytes; returns 0, or -1 and sets toobig when max is passed. */
int qs_buf_append(struct qs_buf *b, const void *data, size_t n);

/* A CURLOPT_WRITEFUNCTION appending to the struct qs_buf in arg. */
size_t qs_buf_curl_write(char *data, size_t size, size_t nmemb, void *arg);

#endif
