/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/meta.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/xalloc.h"

/* Larger is not a metadata file: refused rather than read into memory. */
#define META_MAX (64 * 1024)

/* The keys checked, and the variables that give them, in one order. */
static const char *const keys[QS_META_NSET] = {
	"window", "period", "ideal_latency", "min_replicas", "max_replicas"
};
static const char *const vars[QS_META_NSET] = {
	"QS_WINDOW", "QS_PERIOD", "QS_IDEAL_LATENCY", "QS_MIN_REPLICAS",
	"QS_MAX_REPLICAS"
};

char *
qs_meta_path(const char *table)
{
	return qs_file_beside(table, ".meta");
}

/* The length of line's key, when it is a key=value line; else 0. */
static size_t
key_len(const char *line)
{
	size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_");

	return n > 0 && line[n] == '=' ? n : 0;
}

static int
is_blank_or_comment(const char *line)
{
	line += strspn(line, " \t");
	return *line == '\0' || *line == '#';
}

/* The index of key's line in m, or -1. */
static long
find(const struct qs_meta *m, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < m->n; i++)
		if (key_len(m->lines[i]) == n && strncmp(m->lines[i], key, n) == 0)
			return (long)i;
	return -1;
}

static void
append(struct qs_meta *m, char *line)
{
	m->lines = xreallocarray(m->lines, m->n + 1, sizeof(*m->lines));
	m->lines[m->n++] = line;
}

int
qs_meta_load(struct qs_meta *m, const char *table, struct qs_err *err)
{
	char *path = qs_meta_path(table), *line = NULL;
	size_t cap = 0, total = 0, k;
	ssize_t len;
	long lineno = 0;
	FILE *fp;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	/* A FIFO would block the reader: only a regular file is opened. */
	if (qs_file_regular(path, EX_NOINPUT, err) != 0)
		goto out;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			rc = 0;
		else
			qs_err_sys(err, EX_NOINPUT, "cannot open %s", path);
		goto out;
	}
	m->exists = 1;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if ((total += (size_t)len) > META_MAX) {
			qs_err_set(err, EX_DATAERR, "invalid %s: longer than %d "
			    "bytes", path, META_MAX);
			goto close;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			qs_err_set(err, EX_DATAERR, "invalid %s: line %ld: a NUL "
			    "byte", path, lineno);
			goto close;
		}
		if (!is_blank_or_comment(line)) {
			if ((k = key_len(line)) == 0) {
				qs_err_set(err, EX_DATAERR, "invalid %s: line %ld: "
				    "expected key=value", path, lineno);
				goto close;
			}
			line[k] = '\0';
			if (find(m, line) >= 0) {
				qs_err_set(err, EX_DATAERR, "invalid %s: line %ld: "
				    "%s given twice", path, lineno, line);
				goto close;
			}
			line[k] = '=';
		}
		append(m, xstrdup(line));
	}
	if (ferror(fp))
		qs_err_sys(err, EX_IOERR, "cannot read %s", path);
	else
		rc = 0;
close:
	fclose(fp);
out:
	if (rc != 0)
		qs_meta_free(m);
	free(line);
	free(path);
	return rc;
}

const char *
qs_meta_get(const struct qs_meta *m, const char *key)
{
	long i = find(m, key);

	return i < 0 ? NULL : m->lines[i] + strlen(key) + 1;
}

void
qs_meta_set(struct qs_meta *m, const char *key, const char *value)
{
	size_t n = strlen(key) + strlen(value) + 2;
	char *line = xmalloc(n);
	long i;

	snprintf(line, n, "%s=%s", key, value);
	if ((i = find(m, key)) >= 0) {
		free(m->lines[i]);
		m->lines[i] = line;
	} else
		append(m, line);
}

void
qs_meta_set_num(struct qs_meta *m, const char *key, double v)
{
	char buf[QS_NUM_MAX];

	qs_num_format(buf, v);
	qs_meta_set(m, key, buf);
}

void
qs_meta_describe(struct qs_meta *m, long min_replicas, long max_replicas,
    double window, double period, double ideal, const char *learner)
{
	char buf[QS_NUM_MAX], units[64];

	if (m->n == 0)
		append(m, xstrdup("# What this table was built for: see "
		    "qs-init-table(1)."));
	qs_meta_set_num(m, "window", window);
	if (period > 0)
		qs_meta_set_num(m, "period", period);
	qs_meta_set_num(m, "ideal_latency", ideal);
	qs_meta_set_num(m, "min_replicas", (double)min_replicas);
	qs_meta_set_num(m, "max_replicas", (double)max_replicas);
	qs_meta_set(m, "learner", learner);
	qs_num_format(buf, window);
	snprintf(units, sizeof(units), "requests in %s s window", buf);
	qs_meta_set(m, "requests", units);
}

int
qs_meta_save_prepare(const struct qs_meta *m, const char *table,
    struct qs_atomic *a, struct qs_err *err)
{
	char *path = qs_meta_path(table);
	size_t i;
	int rc = -1;

	if (qs_atomic_open(a, path, err) != 0)
		goto out;
	for (i = 0; i < m->n; i++)
		fprintf(a->fp, "%s\n", m->lines[i]);
	if (ferror(a->fp)) {
		qs_err_sys(err, EX_IOERR, "cannot write %s", path);
		qs_atomic_abort(a);
		goto out;
	}
	rc = qs_atomic_sync(a, err);
out:
	free(path);
	return rc;
}

int
qs_meta_save(const struct qs_meta *m, const char *table, struct qs_err *err)
{
	struct qs_atomic a;

	if (qs_meta_save_prepare(m, table, &a, err) != 0)
		return -1;
	return qs_atomic_commit(&a, err);
}

void
qs_meta_free(struct qs_meta *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->lines[i]);
	free(m->lines);
	m->lines = NULL;
	m->n = 0;
}

void
qs_meta_given_env(struct qs_meta_setting s[QS_META_NSET])
{
	size_t i;

	for (i = 0; i < QS_META_NSET; i++) {
		s[i].key = keys[i];
		s[i].name = vars[i];
		s[i].value = qs_env(vars[i], NULL);
	}
}

void
qs_meta_given_opt(struct qs_meta_setting s[QS_META_NSET], const char *key,
    const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < QS_META_NSET; i++)
		if (strcmp(s[i].key, key) == 0) {
			s[i].name = name;
			s[i].value = value;
		}
}

int
qs_meta_check(const char *table, const struct qs_meta_setting *s, size_t n,
    struct qs_err *err)
{
	struct qs_meta m;
	const char *have;
	char *path;
	double a, b;
	size_t i;
	int rc = 0;

	if (qs_meta_load(&m, table, err) != 0)
		return -1;
	path = qs_meta_path(table);
	for (i = 0; i < n && rc == 0; i++) {
		if (s[i].value == NULL || (have = qs_meta_get(&m, s[i].key)) == NULL)
			continue;
		if (qs_num_parse(have, &a) != 0)
			rc = qs_err_set(err, EX_DATAERR, "invalid %s: %s is %s, "
			    "not a number", path, s[i].key, have);
		else if (qs_num_parse(s[i].value, &b) != 0)
			rc = qs_err_set(err, EX_USAGE, "invalid %s: %s (a number)",
			    s[i].name, s[i].value);
		else if (a != b)
			rc = qs_err_set(err, EX_CONFIG, "%s: %s is %s, but %s is %s",
			    path, s[i].key, have, s[i].name, s[i].value);
	}
	free(path);
	qs_meta_free(&m);
	return rc;
}
