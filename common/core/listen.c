/* See LICENSE file for copyright and license details. */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "qs/err.h"
#include "qs/listen.h"
#include "qs/num.h"

int
qs_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    struct qs_err *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[128];
	const char *colon;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s - 1), s + 1);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	}
	if (qs_num_parse_long(colon + 1, 0, 65535, &port) != 0)
		goto bad;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		*len = sizeof(*in);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof(*in6);
	} else {
		goto bad;
	}
	return 0;
bad:
	return qs_err_set(err, EX_USAGE, "invalid listen address %s: not "
	    "ADDRESS:PORT with a numeric address", s);
}
