/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <string.h>

#include "qs/err.h"
#include "qs/name.h"

#define SUBDOMAIN_MAX 253
#define LABEL_MAX 63

static int
alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? of n bytes. */
static int
label(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return 0;
	for (i = 1; i + 1 < n; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
qs_name_is_label(const char *s)
{
	size_t n = strlen(s);

	return n <= LABEL_MAX && label(s, n);
}

int
qs_name_is_subdomain(const char *s)
{
	size_t n = strlen(s), k;

	if (n > SUBDOMAIN_MAX)
		return 0;
	/* Labels joined by single dots, as Kubernetes' own regular expression. */
	for (;;) {
		k = strcspn(s, ".");
		if (!label(s, k))
			return 0;
		if (s[k] == '\0')
			return 1;
		s += k + 1;
	}
}

/* Show a refused name on one line, bounded, whatever it holds. */
static void
shown(char *dst, size_t size, const char *s)
{
	size_t j = 0;

	for (; *s != '\0' && j + 4 < size; s++)
		dst[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s != '\0')
		dst[j++] = '.', dst[j++] = '.', dst[j++] = '.';
	dst[j] = '\0';
}

int
qs_name_check_deployment(const char *s, const char *src, struct qs_err *err)
{
	char buf[80];

	if (qs_name_is_subdomain(s))
		return 0;
	shown(buf, sizeof(buf), s);
	return qs_err_set(err, EX_USAGE, "invalid %s: \"%s\" is not a "
	    "deployment name (a DNS-1123 subdomain: lowercase letters, digits, "
	    "'-' and '.', at most 253 characters)", src, buf);
}

int
qs_name_check_namespace(const char *s, const char *src, struct qs_err *err)
{
	char buf[80];

	if (s == NULL || qs_name_is_label(s))
		return 0;
	shown(buf, sizeof(buf), s);
	return qs_err_set(err, EX_USAGE, "invalid %s: \"%s\" is not a "
	    "namespace (a DNS-1123 label: lowercase letters, digits and '-', "
	    "at most 63 characters)", src, buf);
}
