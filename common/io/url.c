/* See LICENSE file for copyright and license details. */
#include <string.h>

#include "qs/url.h"
#include "qs/xalloc.h"

char *
qs_url_shown(const char *url)
{
	const char *host, *at, *end;
	char *s;

	/* Without a scheme, what comes before the first '/' is the authority. */
	if ((host = strstr(url, "://")) != NULL)
		host += 3;
	else
		host = url;
	end = host + strcspn(host, "/?#");
	/* The last '@' of the authority: a password may hold one too. */
	for (at = NULL; host < end; host++)
		if (*host == '@')
			at = host;
	if (at == NULL)
		return xstrdup(url);
	host = strstr(url, "://") != NULL ? strstr(url, "://") + 3 : url;
	s = xmalloc(strlen(url) + 1);
	memcpy(s, url, (size_t)(host - url));
	strcpy(s + (host - url), at + 1);
	return s;
}
