/* See LICENSE file for copyright and license details. */
#ifndef QS_XALLOC_H
#define QS_XALLOC_H

#include <stddef.h>

/* Allocation wrappers: on failure they print why and exit with EX_OSERR. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);

/*
 * Make jansson allocate with xmalloc: it does not survive running out of
 * memory (2.14 crashes in json_loadb), so that is exit 71 instead.
 */
void qs_xalloc_json(void);

#endif
