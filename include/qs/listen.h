/* See LICENSE file for copyright and license details. */
#ifndef QS_LISTEN_H
#define QS_LISTEN_H

#include <sys/socket.h>

#include "qs/err.h"

/*
 * Parse a listen address, "1.2.3.4:port" or "[::1]:port" (port 0: the
 * kernel picks), into *ss and its length *len, for qs-sim serve and
 * qs-metrics.  Host names are refused: a server binds what it is told.
 * Returns 0, or -1 with err (EX_USAGE).
 */
int qs_listen_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, struct qs_err *err);

#endif
