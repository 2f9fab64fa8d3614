/* See LICENSE file for copyright and license details. */
/* qs-sim serve: label and field selectors. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "serve_int.h"

/*
 * Selectors, as kubectl sends them in labelSelector and fieldSelector:
 * terms joined by commas, each key=value, key==value, key!=value, and for
 * labels also key and !key.  Our objects have one label, app.  Returns 1
 * when the object matches, 0 when not, -1 when a term cannot be parsed or
 * names a field we do not have.
 */
static int
select_term(char *t, const char *const *keys, const char *const *vals,
    int labels)
{
	const char *val = NULL, *have = NULL;
	char *op, *key = t;
	int neg = 0, i;

	while (*key == ' ')
		key++;
	if ((op = strstr(key, "!=")) != NULL) {
		*op = '\0';
		val = op + 2;
		neg = 1;
	} else if ((op = strstr(key, "==")) != NULL) {
		*op = '\0';
		val = op + 2;
	} else if ((op = strchr(key, '=')) != NULL) {
		*op = '\0';
		val = op + 1;
	} else if (!labels) {
		return -1;
	} else if (*key == '!') {
		key++;
		neg = 1;
	}
	if (strpbrk(key, " ()") != NULL || *key == '\0')
		return -1;
	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(keys[i], key) == 0)
			have = vals[i];
	if (have == NULL && !labels)
		return -1;
	if (val == NULL)
		return neg ? have == NULL : have != NULL;
	return neg ? have == NULL || strcmp(have, val) != 0 :
	    have != NULL && strcmp(have, val) == 0;
}

static int
select_match(const char *sel, const char *const *keys,
    const char *const *vals, int labels)
{
	char buf[1024], *t, *save = NULL;
	int m;

	if (sel == NULL || *sel == '\0')
		return 1;
	if (strlen(sel) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", sel);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if ((m = select_term(t, keys, vals, labels)) != 1)
			return m;
	return 1;
}

/* Whether an object with these fields matches the request's selectors. */
int
serve_selected(struct qs_simserve *s, struct MHD_Connection *c,
    const char *name, const char *phase)
{
	const char *lkeys[] = { "app", NULL }, *lvals[] = { s->deployment };
	const char *fkeys[] = { "metadata.name", "metadata.namespace",
	    phase ? "status.phase" : NULL, NULL };
	const char *fvals[] = { name, s->namespace, phase };
	int l, f;

	l = select_match(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "labelSelector"), lkeys, lvals, 1);
	f = select_match(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "fieldSelector"), fkeys, fvals, 0);
	return l < 0 || f < 0 ? -1 : l && f;
}
