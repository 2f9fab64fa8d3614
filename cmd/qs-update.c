/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/history.h"
#include "qs/learn.h"
#include "qs/meta.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/plan.h"
#include "qs/ready.h"
#include "qs/record.h"
#include "qs/table.h"
#include "qs/xalloc.h"

#define USAGE "usage: qs-update [--alpha a] [--compat notebook] [--drops file]\n" \
	"       [--format json|csv] [--gamma g] [--history file] [--lock-wait seconds]\n" \
	"       [--max-age s] [--min-age s] [--model file | --no-model] --table file\n" \
	"       [--unbuffered]\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EX_USAGE);
}

static void
help(void)
{
	fputs(USAGE "\n"
	    "Read complete transitions, update Q(s, a) in the table, add q_value\n"
	    "and epoch, and append them to the history.  All records are one\n"
	    "load and one crash-safe save of the table.\n\n"
	    "      --alpha a           learning rate (0.1, QS_ALPHA)\n"
	    "      --compat notebook   the notebook's arithmetic, to replay its history\n"
	    "      --drops file        write the count of dropped transitions by\n"
	    "                          reason to file\n"
	    "      --format f          output json or csv (default: as the input)\n"
	    "      --gamma g           discount factor (0.6, QS_GAMMA)\n"
	    "      --history file      append the transitions to file (QS_HISTORY)\n"
	    "      --lock-wait s       wait up to s seconds for the table's lock (10)\n"
	    "      --max-age s         drop a transition begun more than s seconds\n"
	    "                          ago (0: keep all, QS_MAX_AGE)\n"
	    "      --min-age s         drop a transition that lasted less than s\n"
	    "                          seconds (0: keep all, QS_MIN_AGE)\n"
	    "      --model file        learn into this model and plan the table\n"
	    "                          from it (TABLE.model when it exists)\n"
	    "      --no-model          Q-learning even when TABLE.model exists\n"
	    "      --table file        the Q-table (QS_TABLE)\n"
	    "      --unbuffered        commit and write each record on its own\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/*
 * A transition outside the table is named once per run, by the state
 * that was out, and the others are counted: a stream of them would
 * otherwise bury every other warning.
 */
static long edge_more;

static void
edge_note(const struct qs_table *t, const struct qs_transition *tr,
    const struct qs_learn_result *res, long epoch)
{
	char name[128];
	int before = 0;

	if (edge_more++ > 0)
		return;
	qs_table_state(t, tr->before.pod, tr->before.latency,
	    tr->before.requests, &before);
	qs_table_state_name(t, before ? res->s : res->s2, name, sizeof(name));
	qs_warn("transition %ld is partly outside the table; using the edge "
	    "buckets (%s state: %s)", epoch, before ? "before" : "after", name);
}

static void
edge_report(void)
{
	if (edge_more > 1)
		qs_warn("... (and %ld more transitions partly outside the table)",
		    edge_more - 1);
}

/* Apply one transition to the table and add q_value and epoch to rec. */
static int
update(struct qs_table *t, json_t *rec, long epoch,
    const struct qs_learn_params *lp, struct qs_err *err)
{
	struct qs_transition tr;
	struct qs_learn_result res;

	/*
	 * The count applied is what is learned, not the one chosen.  The
	 * notebook's history has no new_pod: the action is what was set.
	 */
	if (qs_rec_obs(rec, "", -1, &tr.before, err) != 0 ||
	    qs_rec_applied(rec, &tr.action, err) != 0 ||
	    qs_rec_obs(rec, "new_", tr.action, &tr.after, err) != 0 ||
	    qs_rec_double(rec, "reward", -1e12, 1e12, &tr.reward, err) != 0 ||
	    qs_learn_transition(t, &tr, lp, &res, err) != 0)
		return -1;
	if (res.clamped)
		edge_note(t, &tr, &res, epoch);
	qs_rec_set(rec, "q_value", json_real(res.q));
	qs_rec_set(rec, "epoch", json_integer(epoch));
	return 0;
}

/* A table cell: the one a record's transition updates. */
struct cell {
	const struct qs_table *t;
	size_t s;
	int col;		/* -1: the record names no cell */
};

static void
cell_of(struct cell *c, const struct qs_table *t, json_t *rec)
{
	struct qs_err err = { 0 };
	struct qs_obs o;
	long applied;
	int clamped = 0;

	c->t = t;
	c->col = -1;
	if (qs_rec_obs(rec, "", -1, &o, &err) == 0 &&
	    qs_rec_applied(rec, &applied, &err) == 0 &&
	    (c->col = qs_table_action(t, applied)) >= 0)
		c->s = qs_table_state(t, o.pod, o.latency, o.requests, &clamped);
}

/* Whether a history row's fields (borrowed) name the cell arg. */
static int
same_cell(json_t *pod, json_t *latency, json_t *requests, json_t *applied,
    void *arg)
{
	const struct cell *c = arg;
	int clamped = 0;

	if (c->col < 0 || !json_is_integer(pod) || !json_is_number(latency) ||
	    !json_is_number(requests) || !json_is_integer(applied))
		return 0;
	return qs_table_action(c->t, (long)json_integer_value(applied)) ==
	    c->col && qs_table_state(c->t, (long)json_integer_value(pod),
	    json_number_value(latency), json_number_value(requests),
	    &clamped) == c->s;
}

/*
 * For a transition already in the history: 1 when the table is behind it
 * (its row is the last to update the cell and the cell does not hold its
 * Q-value: an update killed between the history's append and the table's
 * rename), after setting the cell from the row; else 0.  The history is
 * the record of what was learned, so the table is rolled forward to it
 * rather than learning the transition again from another after-state.
 * A cell this run has updated (touched) is ahead of any row of the file.
 */
static int
behind(struct qs_table *t, const struct cell *c,
    const struct qs_history_match *m, const unsigned char *touched)
{
	if (!m->have_q || m->later || c->col < 0 ||
	    (touched != NULL && touched[c->s * (size_t)t->nact +
	    (size_t)c->col]) ||
	    qs_table_values(t, c->s)[c->col] == m->q)
		return 0;
	qs_table_set(t, c->s, c->col, m->q);
	return 1;
}

/* What exit undoes, also after an exit 71 from out of memory. */
static struct qs_history *undo_h;
static struct qs_atomic *undo_save, *undo_model;

static void
undo(void)
{
	if (undo_model != NULL)
		qs_atomic_abort(undo_model);
	if (undo_save != NULL)
		qs_atomic_abort(undo_save);
	if (undo_h != NULL)
		qs_history_rollback(undo_h);
}

/* Undo what was done so far, then exit: a failed update changes nothing. */
static void
fail(const struct qs_err *err, struct qs_history *h, struct qs_atomic *save)
{
	undo_h = h;
	undo_save = save;
	qs_die_err(err);
}

/* The bounds of --min-age and --max-age, in seconds; 0 is off. */
struct ages {
	double min, max;
};

static int dropped(const struct qs_table *t, json_t *rec, long line,
    const struct ages *a, struct qs_err *err);
static const char *where(char *buf, size_t n, json_t *rec, long line);
static int shadow_outside(const struct qs_table *t, json_t *rec, long line);
static int drops_save(const char *path, struct qs_err *err);
/* --drops: the transitions not learned, by reason, in drop_names' order. */
enum { DROP_STALE, DROP_INSTANT, DROP_FOREIGN, DROP_DUPLICATE, DROP_N };
static long drop_count[DROP_N];
static const char *drops_path;
static int stream(struct qs_table *t, const char *table, const char *history,
    double lockwait, const struct qs_learn_params *lp, const struct ages *a,
    enum qs_format fmt);

/* The model learner's part: see model_learn and model_plan below. */
static const char *model_path;
static struct qs_plan model;
static int model_learn(struct qs_table *t, json_t *rec, struct qs_err *err);
static void model_plan(struct qs_table *t, json_t *recs, long epoch0);
static long model_catch_up(struct qs_table *t, struct qs_history *h,
    struct qs_err *err);
/* The model as loaded, when it has no "learned" row yet (see main). */
static struct qs_plan model0;

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, 'a' },
		{ "compat", required_argument, NULL, 'c' },
		{ "drops", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "gamma", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "history", required_argument, NULL, 'H' },
		{ "lock-wait", required_argument, NULL, 'l' },
		{ "max-age", required_argument, NULL, 'M' },
		{ "min-age", required_argument, NULL, 'm' },
		{ "model", required_argument, NULL, 'D' },
		{ "no-model", no_argument, NULL, 'N' },
		{ "table", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_history hist;
	struct qs_atomic save;
	struct qs_reader *r;
	struct qs_writer *w = NULL;
	struct qs_table *t;
	enum qs_format fmt = QS_FMT_AUTO;
	enum qs_compat compat = QS_COMPAT_NONE;
	const char *table = qs_env("QS_TABLE", NULL);
	const char *history = qs_env("QS_HISTORY", NULL), *s;
	double alpha = QS_ALPHA, gamma = QS_GAMMA, lockwait = 10;
	struct ages ages = { 0, 0 };
	json_t *recs, *rec;
	size_t i;
	struct cell cell = { NULL, 0, -1 };
	struct qs_history_match m = { same_cell, &cell, 0, 0, 0 };
	long epoch0 = 0, replayed = 0;
	char at[96];
	unsigned char *touched = NULL;
	int c, rc, lock, dup, restored = 0, nomodel = 0, changed, mark = 0;
	struct qs_atomic msave;
	char *mdefault;
	struct qs_meta_setting given[QS_META_NSET];

	qs_setprogname(argv[0]);
	if ((s = qs_env("QS_ALPHA", NULL)) != NULL)
		alpha = qs_opt_double("QS_ALPHA", s, 0, 1);
	if ((s = qs_env("QS_GAMMA", NULL)) != NULL)
		gamma = qs_opt_double("QS_GAMMA", s, 0, 1);
	if ((s = qs_env("QS_MIN_AGE", NULL)) != NULL)
		ages.min = qs_opt_double("QS_MIN_AGE", s, 0, 1e9);
	if ((s = qs_env("QS_MAX_AGE", NULL)) != NULL)
		ages.max = qs_opt_double("QS_MAX_AGE", s, 0, 1e9);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			alpha = qs_opt_double("--alpha", optarg, 0, 1);
			break;
		case 'c':
			if (strcmp(optarg, "notebook") == 0)
				compat = QS_COMPAT_NOTEBOOK;
			else if (strcmp(optarg, "none") == 0)
				compat = QS_COMPAT_NONE;
			else
				qs_die(EX_USAGE, "invalid --compat: %s (notebook or none)",
				    optarg);
			break;
		case 'd':
			drops_path = optarg;
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			break;
		case 'g':
			gamma = qs_opt_double("--gamma", optarg, 0, 1);
			break;
		case 'h':
			help();
			break;
		case 'H':
			history = optarg;
			break;
		case 'l':
			lockwait = qs_opt_double("--lock-wait", optarg, 0, 86400);
			break;
		case 'M':
			ages.max = qs_opt_double("--max-age", optarg, 0, 1e9);
			break;
		case 'm':
			ages.min = qs_opt_double("--min-age", optarg, 0, 1e9);
			break;
		case 'D':
			model_path = optarg;
			break;
		case 'N':
			nomodel = 1;
			break;
		case 'o':
			qs_records_set_unbuffered(1);
			break;
		case 't':
			table = optarg;
			break;
		case 'V':
			qs_print_version();
			return qs_fshut_stdout();
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc != 0) {
		qs_warn("unexpected operand: %s", argv[optind]);
		usage();
	}
	if (table == NULL)
		qs_die(EX_USAGE, "no table: give --table or set QS_TABLE");
	if (history != NULL && strcmp(history, table) == 0)
		qs_die(EX_USAGE, "the history and the table must be different files");
	if (nomodel && model_path != NULL)
		qs_die(EX_USAGE, "--model and --no-model exclude each other");
	/* TABLE.model, when it exists, makes the table a planned one. */
	mdefault = qs_plan_path(table);
	if (!nomodel && model_path == NULL && access(mdefault, F_OK) == 0)
		model_path = mdefault;
	if (model_path != NULL && (strcmp(model_path, table) == 0 ||
	    (history != NULL && strcmp(model_path, history) == 0)))
		qs_die(EX_USAGE, "the model, the table and the history must be "
		    "different files");
	if (model_path != NULL && qs_file_regular(model_path, EX_NOINPUT,
	    &err) != 0)
		qs_die_err(&err);

	/*
	 * The files are checked before the lock is made, so that a missing,
	 * invalid or special table (a FIFO would block the reader) leaves no
	 * FILE.lock behind.  Hold the lock from load to save, so that no
	 * update is lost: a table replaced before the lock is loaded again.
	 * qs-update takes none of the settings a table is built for, but the
	 * configuration's QS_ variables say what its transitions are: they
	 * are checked against the table's metadata first.
	 */
	qs_meta_given_env(given);
	if (qs_meta_check(table, given, QS_META_NSET, &err) != 0 ||
	    (t = qs_table_load_regular(table, &err)) == NULL ||
	    (history != NULL && qs_file_regular(history, EX_CANTCREAT, &err) != 0))
		qs_die_err(&err);
	/* The stream commits one record at a time, by Q-learning only. */
	if (qs_records_unbuffered() && model_path != NULL)
		qs_die(EX_USAGE, "--unbuffered does not learn into a model: %s "
		    "(run without --unbuffered, or give --no-model)", model_path);
	if (qs_records_unbuffered()) {
		free(mdefault);
		return stream(t, table, history, lockwait,
		    &(struct qs_learn_params){ alpha, gamma, compat }, &ages, fmt);
	}
	if ((lock = qs_lock(table, lockwait, &err)) < 0)
		qs_die_err(&err);
	if (!qs_table_is_current(t, table)) {
		qs_table_free(t);
		if ((t = qs_table_load_regular(table, &err)) == NULL)
			qs_die_err(&err);
	}
	/* The model is read under the table's lock: it changes with it. */
	if (model_path != NULL && qs_plan_load(&model, model_path, &err) != 0)
		qs_die_err(&err);
	if (history != NULL) {
		if (qs_history_open(&hist, history, lockwait, &err) != 0)
			qs_die_err(&err);
		epoch0 = hist.rows;
		undo_h = &hist;
	}
	atexit(undo);
	if (history != NULL)
		touched = xcalloc(t->nrows * (size_t)t->nact, 1);
	/*
	 * The model counts the history's rows it has learned.  One without
	 * the count is given it, as loaded, before the history grows (mark),
	 * so that a kill after the append finds it behind; one behind learns
	 * the rows it has not, before any new record.
	 */
	if (model_path != NULL && history != NULL && model.learned < 0) {
		model0 = model;
		mark = 1;
	} else if (model_path != NULL && history != NULL &&
	    (replayed = model_catch_up(t, &hist, &err)) < 0) {
		fail(&err, &hist, NULL);
	}

	/* Read and apply everything first: a bad record changes nothing. */
	recs = json_array();
	r = qs_reader_new(stdin, "<stdin>");
	while ((rc = qs_reader_next(r, &rec, &err)) == 1) {
		if ((dup = dropped(t, rec, qs_reader_line(r), &ages, &err)) != 0) {
			json_decref(rec);
			if (dup < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		/* A transition finished twice (a killed qs-run) counts once. */
		if (history != NULL)
			cell_of(&cell, t, rec);
		if (history != NULL &&
		    (dup = qs_history_seen(&hist, rec, &m, &err)) != 0) {
			if (dup > 0 && model_path == NULL &&
			    behind(t, &cell, &m, touched)) {
				restored++;
				qs_warn("%s: this transition is in %s but not in "
				    "the table (an update killed before its end); "
				    "its Q-value restored from the history",
				    where(at, sizeof(at), rec, qs_reader_line(r)),
				    history);
			} else if (dup > 0)
				qs_warn("%s: this transition is already in %s; "
				    "not applied again", where(at, sizeof(at), rec,
				    qs_reader_line(r)), history);
			drop_count[DROP_DUPLICATE] += dup > 0;
			json_decref(rec);
			if (dup < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		if (json_array_append_new(recs, rec) != 0) {
			errno = ENOMEM;
			rc = qs_err_sys(&err, EX_OSERR, "cannot read <stdin>");
			break;
		}
		if ((model_path != NULL ? model_learn(t, rec, &err) : update(t,
		    rec, epoch0 + (long)json_array_size(recs) - 1,
		    &(struct qs_learn_params){ alpha, gamma, compat }, &err)) != 0) {
			qs_err_wrap(&err, "invalid record in <stdin>: line %ld",
			    qs_reader_line(r));
			rc = -1;
			break;
		}
		if (history != NULL && cell.col >= 0)
			touched[cell.s * (size_t)t->nact + (size_t)cell.col] = 1;
	}
	if (rc < 0)
		fail(&err, history ? &hist : NULL, NULL);
	changed = json_array_size(recs) > 0 || restored > 0 || replayed > 0;
	/* Planned once for all the records, then saved beside the table. */
	if (model_path != NULL && changed) {
		model_plan(t, recs, epoch0);
		if (history != NULL)
			model.learned = hist.rows + (long)json_array_size(recs);
		if (qs_plan_save_prepare(&model, model_path, &msave, &err) != 0)
			fail(&err, history ? &hist : NULL, NULL);
		undo_model = &msave;
	}

	/*
	 * The new table is written and synced before anything shows; then
	 * stdout, the history, and last the rename that makes it all count.
	 */
	if (changed && qs_table_save_prepare(t, table, &save, &err) != 0)
		fail(&err, history ? &hist : NULL, NULL);
	if (changed)
		undo_save = &save;
	w = qs_writer_new(stdout, fmt != QS_FMT_AUTO ? fmt : qs_reader_format(r));
	json_array_foreach(recs, i, rec)
		if (qs_writer_put(w, rec, &err) != 0)
			break;
	if (err.status == 0 && (fflush(stdout) != 0 || ferror(stdout)))
		qs_err_sys(&err, EX_IOERR, "cannot write standard output");
	/*
	 * Closed before the commit: a failure after it could not be undone.
	 * /dev/null keeps its number taken, as in qs_setprogname.
	 */
	if (fclose(stdout) != 0 && err.status == 0)
		qs_err_sys(&err, EX_IOERR, "cannot write standard output");
	(void)open("/dev/null", O_RDONLY);
	if (err.status != 0)
		fail(&err, history ? &hist : NULL, changed ? &save : NULL);
	if (drops_save(drops_path, &err) != 0)
		fail(&err, history ? &hist : NULL, changed ? &save : NULL);
	if (changed) {
		if (mark) {
			model0.learned = hist.rows;
			if (qs_plan_save(&model0, model_path, &err) != 0)
				fail(&err, &hist, &save);
		}
		if (history != NULL && qs_history_append(&hist, recs, &err) != 0)
			fail(&err, &hist, &save);
		if (qs_atomic_commit(&save, &err) != 0)
			fail(&err, history ? &hist : NULL, NULL);
		undo_save = NULL;
		/*
		 * The model last, the history kept whatever happens now: a
		 * model not renamed counts fewer rows than the history has,
		 * and the next update learns them into it and plans again.
		 */
		undo_h = NULL;
		if (undo_model != NULL && qs_atomic_commit(&msave, &err) != 0) {
			undo_model = NULL;
			qs_die_err(&err);
		}
		undo_model = NULL;
	} else if (history != NULL && hist.created) {
		qs_history_rollback(&hist);
	}
	undo_h = NULL;
	undo_save = NULL;
	if (history != NULL)
		qs_history_close(&hist);
	qs_unlock(lock);
	json_decref(recs);
	qs_reader_free(r);
	qs_writer_free(w);
	qs_table_free(t);
	free(touched);
	free(mdefault);
	edge_report();
	return 0;
}

/* Seconds as a message shows them: to the millisecond, no trailing zeros. */
static const char *
secs(char *buf, double v)
{
	qs_num_format(buf, round(v * 1000) / 1000);
	return buf;
}

/*
 * Whether the transition rec (borrowed), read on line, is one not to
 * learn from, saying why on standard error: instant (it lasted less than
 * a->min), stale (it began more than a->max ago), or foreign or not ready
 * (the replicas observed after it are not those applied, so what followed
 * is not the action's effect), or foreign at a count outside t's actions
 * (shadow_outside).  Returns 1, 0, or -1 with err (EX_DATAERR, naming the
 * line) when a field it reads is malformed.
 */
static int
dropped(const struct qs_table *t, json_t *rec, long line, const struct ages *a,
    struct qs_err *err)
{
	char b1[QS_NUM_MAX], b2[QS_NUM_MAX], at[96];
	struct qs_ready rd;
	double t0, t1, age;
	int not_ready;

	if ((a->min > 0 || a->max > 0) && qs_rec_has(rec, "time")) {
		if (qs_rec_time(rec, "time", &t0, err) != 0)
			goto bad;
		if (a->max > 0 && (age = (double)time(NULL) - t0) > a->max) {
			qs_warn("%s: dropped: stale transition (age %s s > max "
			    "%s s)", where(at, sizeof(at), rec, line), secs(b1, age),
			    secs(b2, a->max));
			drop_count[DROP_STALE]++;
			return 1;
		}
		if (a->min > 0 && qs_rec_has(rec, "new_time")) {
			if (qs_rec_time(rec, "new_time", &t1, err) != 0)
				goto bad;
			/*
			 * In microseconds: two times near 1.8e9 s differ by
			 * some 1e-7 s from what they say, and a transition
			 * that lasted the minimum to the millisecond would be
			 * dropped as shorter.
			 */
			if (llround((t1 - t0) * 1e6) < llround(a->min * 1e6)) {
				qs_warn("%s: dropped: instant transition (lasted "
				    "%s s < min %s s)", where(at, sizeof(at), rec,
				    line), secs(b1, t1 - t0), secs(b2, a->min));
				drop_count[DROP_INSTANT]++;
				return 1;
			}
		}
	}
	if ((not_ready = qs_ready_check(rec, &rd, err)) < 0)
		goto bad;
	if (not_ready) {
		qs_warn("%s: dropped: foreign or not ready (new_pod %ld, %s %ld)",
		    where(at, sizeof(at), rec, line), rd.new_pod, rd.key,
		    rd.expected);
		drop_count[DROP_FOREIGN]++;
		return 1;
	}
	return shadow_outside(t, rec, line);
bad:
	return qs_err_wrap(err, "invalid record in <stdin>: line %ld", line);
}

/*
 * --unbuffered: each record is a run of its own, with the lock taken,
 * the table loaded again when another process replaced it, the update
 * saved and the history appended before the record is written, so that
 * a long-lived qs-update (a co-process) holds no lock between records and
 * never shows a record that is not committed.  t is the table loaded
 * from table, unlocked; a->* are the drop rules.  Returns the exit status.
 */
static int
stream(struct qs_table *t, const char *table, const char *history,
    double lockwait, const struct qs_learn_params *lp, const struct ages *a,
    enum qs_format fmt)
{
	struct qs_err err = { 0 };
	struct qs_history hist;
	struct qs_atomic save, msave;
	struct qs_reader *r = qs_reader_new(stdin, "<stdin>");
	struct qs_writer *w = NULL;
	struct qs_history *h = history != NULL ? &hist : NULL;
	json_t *one = json_array(), *rec;
	struct cell cell = { NULL, 0, -1 };
	struct qs_history_match m = { same_cell, &cell, 0, 0, 0 };
	char at[96];
	long line, epoch = 0;
	int rc, lock, skip;

	atexit(undo);
	while ((rc = qs_reader_next(r, &rec, &err)) == 1) {
		line = qs_reader_line(r);
		if ((skip = dropped(t, rec, line, a, &err)) != 0) {
			json_decref(rec);
			if (skip < 0)
				fail(&err, NULL, NULL);
			continue;
		}
		if ((lock = qs_lock(table, lockwait, &err)) < 0)
			fail(&err, NULL, NULL);
		if (!qs_table_is_current(t, table)) {
			qs_table_free(t);
			if ((t = qs_table_load_regular(table, &err)) == NULL)
				fail(&err, NULL, NULL);
		}
		if (model_path != NULL && qs_plan_load(&model, model_path,
		    &err) != 0)
			fail(&err, NULL, NULL);
		if (h != NULL) {
			if (qs_history_open(h, history, lockwait, &err) != 0)
				fail(&err, NULL, NULL);
			undo_h = h;
			epoch = h->rows;
			cell_of(&cell, t, rec);
			if ((skip = qs_history_seen(h, rec, &m, &err)) < 0)
				fail(&err, h, NULL);
			if (skip && model_path == NULL &&
			    behind(t, &cell, &m, NULL)) {
				qs_warn("%s: this transition is in %s but not in "
				    "the table (an update killed before its end); "
				    "its Q-value restored from the history",
				    where(at, sizeof(at), rec, line), history);
				if (qs_table_save_prepare(t, table, &save, &err) != 0)
					fail(&err, NULL, NULL);
				if (qs_atomic_commit(&save, &err) != 0)
					fail(&err, NULL, NULL);
			} else if (skip)
				qs_warn("%s: this transition is already in %s; "
				    "not applied again", where(at, sizeof(at), rec,
				    line), history);
			if (skip) {
				drop_count[DROP_DUPLICATE]++;
				undo_h = NULL;
				qs_history_close(h);
				qs_unlock(lock);
				json_decref(rec);
				continue;
			}
		}
		if ((model_path != NULL ? model_learn(t, rec, &err) : update(t, rec,
		    epoch, lp, &err)) != 0) {
			qs_err_wrap(&err, "invalid record in <stdin>: line %ld", line);
			fail(&err, h, NULL);
		}
		if (json_array_append(one, rec) != 0)
			qs_die(EX_OSERR, "out of memory");
		if (model_path != NULL) {
			model_plan(t, one, epoch);
			if (qs_plan_save_prepare(&model, model_path, &msave,
			    &err) != 0)
				fail(&err, h, NULL);
			undo_model = &msave;
		}
		if (qs_table_save_prepare(t, table, &save, &err) != 0)
			fail(&err, h, NULL);
		undo_save = &save;
		if (h != NULL && qs_history_append(h, one, &err) != 0)
			fail(&err, h, &save);
		if (undo_model != NULL && qs_atomic_commit(&msave, &err) != 0)
			fail(&err, h, &save);
		undo_model = NULL;
		if (qs_atomic_commit(&save, &err) != 0)
			fail(&err, h, NULL);
		undo_h = NULL;
		undo_save = NULL;
		json_array_clear(one);
		if (h != NULL)
			qs_history_close(h);
		qs_unlock(lock);
		epoch++;
		/* Committed: now it may show. */
		if (w == NULL)
			w = qs_writer_new(stdout, fmt != QS_FMT_AUTO ? fmt :
			    qs_reader_format(r));
		if (qs_writer_put(w, rec, &err) != 0)
			qs_die_err(&err);
		json_decref(rec);
	}
	if (rc < 0 || drops_save(drops_path, &err) != 0)
		qs_die_err(&err);
	json_decref(one);
	qs_reader_free(r);
	qs_writer_free(w);
	qs_table_free(t);
	edge_report();
	return qs_fshut_stdout();
}

/*
 * The model learner's update of one transition rec (borrowed): its state
 * before and the state after, at the replicas applied, join the model
 * (qs_plan_observe); nothing of the table changes until model_plan.
 * The action must be a column of t, as for Q-learning.  Returns 0, or
 * -1 with err (EX_DATAERR).
 */
static int
model_learn(struct qs_table *t, json_t *rec, struct qs_err *err)
{
	struct qs_obs before, after;
	json_t *lv = json_object_get(rec, "level");
	long applied;

	/* qs-decide's level, when it decided on one, is the ratio's base. */
	if (lv != NULL && !json_is_null(lv) && !(json_is_number(lv) &&
	    json_number_value(lv) >= 0))
		return qs_err_set(err, EX_DATAERR, "%s", "level is not a "
		    "number of requests");
	if (qs_rec_obs(rec, "", -1, &before, err) != 0 ||
	    qs_rec_applied(rec, &applied, err) != 0 ||
	    qs_rec_obs(rec, "new_", applied, &after, err) != 0)
		return -1;
	if (qs_table_action(t, applied) < 0)
		return qs_err_set(err, EX_DATAERR, "action %ld is not a column "
		    "of the table", applied);
	qs_plan_observe_level(&model, &before, &after, json_is_number(lv) ?
	    json_number_value(lv) : 0);
	return 0;
}

/*
 * Plan t from the model and give each record of recs (borrowed) its
 * planned Q(s, a) as q_value, and its epoch from epoch0 on.
 */
static void
model_plan(struct qs_table *t, json_t *recs, long epoch0)
{
	struct cell c;
	json_t *rec;
	size_t i;

	qs_plan_fill(&model, t);
	json_array_foreach(recs, i, rec) {
		cell_of(&c, t, rec);
		if (c.col >= 0)
			qs_rec_set(rec, "q_value",
			    json_real(qs_table_values(t, c.s)[c.col]));
		qs_rec_set(rec, "epoch", json_integer(epoch0 + (long)i));
	}
}

/*
 * --drops: replace path (NULL: none) crash-safely with one line per
 * reason, "reason count", every reason given, so that qs-run counts the
 * dropped transitions without reading the warnings.
 */
static int
drops_save(const char *path, struct qs_err *err)
{
	static const char *const names[DROP_N] = { "stale", "instant",
	    "foreign", "duplicate" };
	struct qs_atomic a;
	int i;

	if (path == NULL)
		return 0;
	if (qs_atomic_open(&a, path, err) != 0)
		return -1;
	for (i = 0; i < DROP_N; i++)
		fprintf(a.fp, "%s %ld\n", names[i], drop_count[i]);
	return qs_atomic_commit(&a, err);
}

/*
 * A model that counts fewer of h's rows than h has (an update killed
 * after the history's append, before the model's rename) learns the
 * rows after those it counts, so that every transition of the history
 * is in it once; a model counting more (another history) takes h as new,
 * its count set at the save.  Returns the rows learned, or -1 with err.
 */
static long
model_catch_up(struct qs_table *t, struct qs_history *h, struct qs_err *err)
{
	json_t *rows, *row;
	size_t i;
	long n;

	if (model.learned > h->rows) {
		if (h->rows > 0)
			qs_warn("%s has %ld rows, fewer than the %ld its model "
			    "learned: taken as a new history", h->path, h->rows,
			    model.learned);
		return 0;
	}
	if (model.learned == h->rows)
		return 0;
	if ((rows = qs_history_rows(h, model.learned, err)) == NULL)
		return -1;
	json_array_foreach(rows, i, row)
		if (model_learn(t, row, err) != 0) {
			qs_err_wrap(err, "invalid history %s: line %ld", h->path,
			    model.learned + 2 + (long)i);
			json_decref(rows);
			return -1;
		}
	n = (long)json_array_size(rows);
	json_decref(rows);
	qs_warn("%s: %ld transition%s in the history but not in the model (an "
	    "update killed before its end); learned from the history", h->path,
	    n, n == 1 ? " is" : "s are");
	return n;
}

/*
 * Whether rec (borrowed), a shadow run's transition (qs-scale --shadow's,
 * with recommended), is at a count another scaler set outside the table's
 * actions: it cannot be learned, and it is not bad data (the count was
 * not qscale's), so it is dropped as foreign, said on line, instead of
 * failing the update, and every later one with it.  A live run's count
 * outside the table stays an error.
 */
static int
shadow_outside(const struct qs_table *t, json_t *rec, long line)
{
	struct qs_err err = { 0 };
	char at[96];
	long applied;

	if (!qs_rec_has(rec, "recommended") ||
	    qs_rec_applied(rec, &applied, &err) != 0 ||
	    qs_table_action(t, applied) >= 0)
		return 0;
	qs_warn("%s: dropped: foreign (applied %ld is not an action of the "
	    "table)", where(at, sizeof(at), rec, line), applied);
	drop_count[DROP_FOREIGN]++;
	return 1;
}

/*
 * Where a dropped record rec (borrowed) is, for its warning, into buf of
 * n bytes: "<stdin>: line N (time T)", by its line and its "time", since a caller
 * that feeds one record at a time (qs-run) sees line 1 for every one; the
 * line alone when it has no time fit for a one-line message (a string of
 * up to 40 printable characters).
 */
static const char *
where(char *buf, size_t n, json_t *rec, long line)
{
	json_t *v = json_object_get(rec, "time");
	const char *t = json_is_string(v) ? json_string_value(v) : NULL;
	size_t i, len = t != NULL ? strlen(t) : 0;

	for (i = 0; i < len && len <= 40; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e)
			break;
	if (len == 0 || len > 40 || i < len)
		snprintf(buf, n, "<stdin>: line %ld", line);
	else
		snprintf(buf, n, "<stdin>: line %ld (time %s)", line, t);
	return buf;
}
