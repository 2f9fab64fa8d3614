/* See LICENSE file for copyright and license details. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/xalloc.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		qs_die(EX_OSERR, "out of memory:");
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		qs_die(EX_OSERR, "out of memory:");
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		qs_die(EX_OSERR, "out of memory: allocation overflow");
	p = realloc(p, nmemb * size > 0 ? nmemb * size : 1);
	if (p == NULL)
		qs_die(EX_OSERR, "out of memory:");
	return p;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static void *
json_xmalloc(size_t n)
{
	return xmalloc(n);
}

void
qs_xalloc_json(void)
{
	json_set_alloc_funcs(json_xmalloc, free);
}
