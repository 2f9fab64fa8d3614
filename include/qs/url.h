/* See LICENSE file for copyright and license details. */
#ifndef QS_URL_H
#define QS_URL_H

/*
 * The URL without its user information ("user:password@"), so that a
 * message may show it: both clients print servers this way.  Returns a new
 * string.
 */
char *qs_url_shown(const char *url);

#endif
