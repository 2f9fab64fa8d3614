/* See LICENSE file for copyright and license details. */
#ifndef QS_META_H
#define QS_META_H

#include <stddef.h>

#include "qs/err.h"
#include "qs/file.h"

/*
 * A table's metadata: the file TABLE.meta beside it, lines key=value (no
 * spaces around '='), '#' comments.  It records what the table was built
 * for: window (seconds the requests field counts), period (seconds
 * between decisions), ideal_latency (ms), min_replicas, max_replicas,
 * learner (q or model) and requests (free text: the request units).
 * Unknown keys and comments are kept as they are when the file is
 * rewritten, and ignored otherwise.  A table without the file is checked
 * against nothing.
 */
struct qs_meta {
	char **lines;		/* the file's lines, in order, without '\n' */
	size_t n;
	int exists;		/* whether the file was there to load */
};

/* The settings the metadata is checked against: one per key. */
#define QS_META_NSET 5

/*
 * A setting given explicitly: the metadata's key, the option or variable
 * that gave it (for messages) and its value as given, or NULL when it was
 * not given.
 */
struct qs_meta_setting {
	const char *key, *name, *value;
};

/* TABLE.meta for table; the caller frees it. */
char *qs_meta_path(const char *table);

/*
 * Load table's metadata into m: an absent file is an empty m with exists
 * 0, not an error.  Returns 0, or -1 with err (EX_DATAERR for a line that
 * is not key=value or a key given twice; EX_NOINPUT, EX_IOERR).
 */
int qs_meta_load(struct qs_meta *m, const char *table, struct qs_err *err);
/* The value of key (a pointer into m), or NULL when it has none. */
const char *qs_meta_get(const struct qs_meta *m, const char *key);
/* Set key to value, in the line that holds it, else in a new last line. */
void qs_meta_set(struct qs_meta *m, const char *key, const char *value);
/* As qs_meta_set, for a number, as its shortest decimal. */
void qs_meta_set_num(struct qs_meta *m, const char *key, double v);
/*
 * Record what a table was built for: the replica range, window and
 * ideal_latency, period when above 0, learner and the request units.
 */
void qs_meta_describe(struct qs_meta *m, long min_replicas, long max_replicas,
    double window, double period, double ideal, const char *learner);
/* Write m as table's metadata, crash-safely.  Returns 0 or -1 with err. */
int qs_meta_save(const struct qs_meta *m, const char *table,
    struct qs_err *err);
/*
 * The first half of qs_meta_save: m written and synced to a temporary
 * file in a, which qs_atomic_commit renames over TABLE.meta.
 */
int qs_meta_save_prepare(const struct qs_meta *m, const char *table,
    struct qs_atomic *a, struct qs_err *err);
void qs_meta_free(struct qs_meta *m);

/*
 * The settings of the QS_ variables that are set and not empty:
 * QS_WINDOW, QS_PERIOD, QS_IDEAL_LATENCY, QS_MIN_REPLICAS and
 * QS_MAX_REPLICAS, for window, period, ideal_latency, min_replicas and
 * max_replicas, in that order.
 */
void qs_meta_given_env(struct qs_meta_setting s[QS_META_NSET]);
/* Record that option name gave key the value value; it wins over QS_. */
void qs_meta_given_opt(struct qs_meta_setting s[QS_META_NSET], const char *key,
    const char *name, const char *value);

/*
 * Check the settings given against table's metadata: each key the file
 * has and a setting gives must be the same number.  Returns 0, or -1 with
 * err: EX_CONFIG for a contradiction ("table.csv.meta: window is 30, but
 * --window is 60"), EX_DATAERR for a value in the file that is not a
 * number, or what qs_meta_load fails with.
 */
int qs_meta_check(const char *table, const struct qs_meta_setting *s,
    size_t n, struct qs_err *err);

#endif
