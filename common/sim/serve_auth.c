/* See LICENSE file for copyright and license details. */
/* qs-sim serve: the bearer token the API may require. */
#include <pthread.h>
#include <string.h>

#include <microhttpd.h>

#include "serve_int.h"

int
serve_authorized(struct qs_simserve *s, struct MHD_Connection *c)
{
	const char *h;

	if (s->token == NULL)
		return 1;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	return h != NULL && strncmp(h, "Bearer ", 7) == 0 &&
	    strcmp(h + 7, s->token) == 0;
}
