/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "qs/cpa.h"
#include "qs/err.h"
#include "qs/learn.h"
#include "qs/level.h"
#include "qs/meta.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/plan.h"
#include "qs/policy.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"
#include "qs/xalloc.h"

#define RULES "           [--compat notebook] [--epsilon p | --exploit]\n" \
	"           [--explore-decay n] [--explore-k n] [--floor-margin m]\n" \
	"           [--hpa-target rate] [--ideal-latency ms] [--seed n]\n" \
	"           [--unlearned hold|hpa] [--window s]\n"
#define USAGE "usage: qs-decide [--format json|csv]\n" RULES \
	"           [--level-window s] [--no-adapt] [--recent file]\n" \
	"           --table file [--unbuffered]\n" \
	"       qs-decide --cpa\n" RULES \
	"           [--level-window s] [--recent file] --table file\n" \
	"       qs-decide --policy [--compat notebook] [--format json|csv]\n" \
	"           --table file\n"

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
	    "Read records with pod, latency and requests; add the action chosen\n"
	    "from the Q-table, whether it was random and why it was chosen.\n\n"
	    "      --compat notebook  the notebook's decision: uniform exploration\n"
	    "                         over every action, ties to the lowest\n"
	    "      --cpa              read a Custom Pod Autoscaler evaluate input\n"
	    "                         and write {\"targetReplicas\":N}, the highest\n"
	    "                         decision over its metrics\n"
	    "      --epsilon p        probability of exploring (0.1, QS_EPSILON)\n"
	    "      --exploit          never explore, for production (--epsilon 0)\n"
	    "      --explore-decay n  visits at which epsilon is halved; 0 keeps it\n"
	    "                         constant (20, QS_EXPLORE_DECAY)\n"
	    "      --explore-k n      explore within n replicas of the current\n"
	    "                         count (1, QS_EXPLORE_K)\n"
	    "      --floor-margin m   never below ceil(m x the HPA formula's answer);\n"
	    "                         needs --hpa-target (0: none, QS_FLOOR_MARGIN)\n"
	    "      --format f         output json or csv (default: as the input;\n"
	    "                         csv for --policy)\n"
	    "      --hpa-target rate  requests per second per replica, for the HPA\n"
	    "                         formula (QS_HPA_TARGET)\n"
	    "      --ideal-latency ms no exploring down above it (500,\n"
	    "                         QS_IDEAL_LATENCY)\n"
	    "      --level-window s   decide on the highest requests of the last\n"
	    "                         s seconds (the table's level_window, else 0;\n"
	    "                         QS_LEVEL_WINDOW)\n"
	    "      --no-adapt         decide from the table as it is: do not learn\n"
	    "                         the load into its model (TABLE.model)\n"
	    "      --policy           print the greedy action of every state\n"
	    "      --recent file      keep the level window's requests in file\n"
	    "                         from one run to the next (QS_RECENT)\n"
	    "      --seed n           seed the random stream, for reproducible runs\n"
	    "      --table file       the Q-table (QS_TABLE)\n"
	    "      --unbuffered       flush each record as it is written, and\n"
	    "                         load the table again when it was replaced\n"
	    "      --unlearned r      what a state with no learned value does: hold\n"
	    "                         the current count or take the HPA formula's\n"
	    "                         answer (hold, QS_UNLEARNED)\n"
	    "      --window s         seconds the requests field counts (30,\n"
	    "                         QS_WINDOW)\n"
	    "      --help             print this help\n"
	    "      --version          print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/*
 * The kinds of clamping warned about so far, and the observations clamped
 * since that were not: a co-process whose standard error nobody reads
 * blocked once a warning per record had filled the pipe.
 */
static int clamp_warned;
static long clamp_more;

static void
warn_clamped(const struct qs_table *t, const char *where, long pod, double lat,
    double req, int clamped)
{
	if ((clamped & ~clamp_warned) == 0) {
		clamp_more++;
		return;
	}
	clamped &= ~clamp_warned;
	clamp_warned |= clamped;
	if (clamped & QS_CLAMP_POD)
		qs_warn("%s: pod %ld is outside the table (%ld-%ld), "
		    "using the nearest", where, pod, t->pod_min, t->pod_max);
	if (clamped & QS_CLAMP_LATENCY)
		qs_warn("%s: latency %g is outside the table (%ld-%ld), "
		    "using the edge bucket", where, lat, t->lat_lo[0],
		    t->lat_hi[t->nlat - 1]);
	if (clamped & QS_CLAMP_REQUESTS)
		qs_warn("%s: requests %g is outside the table (%ld-%ld), "
		    "using the edge bucket", where, req, t->req_lo[0],
		    t->req_hi[t->nreq - 1]);
}

/*
 * The state of record rec (borrowed); where names it in messages.
 * Returns 0, or -1 with err when a field is missing or out of range.
 */
static int
state_of(const struct qs_table *t, json_t *rec, const char *where,
    double level, size_t *state, struct qs_err *err)
{
	struct qs_obs o;
	int clamped = 0;

	if (qs_rec_obs(rec, "", -1, &o, err) != 0)
		return -1;
	/* A planned table's request buckets are the load level's. */
	if (level >= 0)
		o.requests = level;
	*state = qs_table_state(t, o.pod, o.latency, o.requests, &clamped);
	if (clamped)
		warn_clamped(t, where, o.pod, o.latency, o.requests, clamped);
	return 0;
}

struct decider {
	struct qs_table *t;
	const struct qs_policy_opts *po;
	struct qs_rand *rng;
	/* The level window when it is on, and the file that keeps it. */
	struct qs_level *lv;
	const char *recent;
	/* The model learning the load online, when the table has one. */
	struct qs_plan_online *on;
	/*
	 * The records' clock: a record without a time is a period after the
	 * one before, not now, so that records read faster than they were
	 * observed (a file, a simulator) keep their spacing.
	 */
	double period, clock;
};

/*
 * The decision for rec (borrowed), by the policy's rules; where names it
 * in messages.  With a model learning online, the record is fed to it
 * first and the state planned again.  Returns the column, or -1 with err.
 */
static int
decide_rec(const struct decider *d, json_t *rec, const char *where,
    double level, double secs, enum qs_policy_why *why, struct qs_err *err)
{
	struct qs_obs o;
	size_t state;

	if (state_of(d->t, rec, where, level, &state, err) != 0)
		return -1;
	/* state_of has read the observation: this cannot fail. */
	(void)qs_rec_obs(rec, "", -1, &o, err);
	if (d->on != NULL)
		qs_plan_online_step(d->on, d->t, state, secs, &o,
		    level >= 0 ? level : o.requests);
	return qs_policy_decide(d->t, d->po, state, &o, d->rng, why);
}

/*
 * The time of record rec (borrowed): its time field, else a period after
 * the record before.  Returns 0, or -1 with err for a time that is not.
 */
static int
record_time(struct decider *d, json_t *rec, double *t, struct qs_err *err)
{
	json_t *v = json_object_get(rec, "time");

	if (v != NULL && !json_is_null(v)) {
		if (qs_level_time(rec, t, err) != 0)
			return -1;
	} else
		*t = d->clock + d->period;
	d->clock = *t;
	return 0;
}

/*
 * The level of rec (borrowed), its requests joining the window; with
 * --recent the window is saved for the next run.  Returns 0, or -1 with
 * err (a time or requests that are not, or the file cannot be written).
 */
static int
record_level(const struct decider *d, json_t *rec, double t, double *level,
    struct qs_err *err)
{
	struct qs_obs o;

	if (qs_rec_obs(rec, "", -1, &o, err) != 0)
		return -1;
	/* A record refused above leaves the file as it was. */
	*level = qs_level_add(d->lv, t, o.requests);
	if (d->recent != NULL && qs_level_save(d->lv, d->recent, err) != 0)
		return -1;
	return 0;
}

/* Add action, random and why to rec (borrowed); a qs_records_filter callback. */
static int
decide(json_t *rec, long line, void *arg, struct qs_err *err)
{
	struct decider *d = arg;
	enum qs_policy_why why;
	double level = -1, t;
	char where[32];
	int col;

	snprintf(where, sizeof(where), "line %ld", line);
	if (record_time(d, rec, &t, err) != 0 ||
	    (d->lv != NULL && record_level(d, rec, t, &level, err) != 0))
		return -1;
	if ((col = decide_rec(d, rec, where, level, t, &why, err)) < 0)
		return -1;
	if (d->lv != NULL)
		qs_rec_set(rec, "level", json_real(level));
	qs_rec_set(rec, "action", json_integer(d->t->act[col]));
	qs_rec_set(rec, "random", json_boolean(why == QS_POLICY_WHY_RANDOM));
	qs_rec_set(rec, "why", json_string(qs_policy_why_name(why)));
	return 0;
}

/*
 * Decide for every metric of a Custom Pod Autoscaler evaluate input and
 * write the highest action as CPA's target.  The highest is HPA's rule
 * for several metrics, and the safe one: the metric that needs the most
 * replicas wins.  With a level window each metric's record joins it in
 * turn and is looked up with its level, as the records filter's are; the
 * window is saved once, after every metric was decided, so that a bad
 * input leaves the file as it was.  Returns 0 or -1 with err; nothing is
 * written on error.
 */
static int
decide_cpa(const struct decider *d, struct qs_err *err)
{
	const struct qs_table *t = d->t;
	/* The window in memory only: saved below, once. */
	struct decider nosave = { d->t, d->po, d->rng, d->lv, NULL, NULL, 0, 0 };
	enum qs_policy_why why;
	json_t *recs, *rec;
	size_t i;
	long target = 0;
	double level, secs = 0;
	char where[32];
	int col;

	if ((recs = qs_cpa_read(stdin, "<stdin>", err)) == NULL)
		return -1;
	json_array_foreach(recs, i, rec) {
		snprintf(where, sizeof(where), "metric %zu", i + 1);
		level = -1;
		/* CPA evaluates as it observes: a metric without a time is now. */
		if ((d->lv != NULL && (qs_level_time(rec, &secs, err) != 0 ||
		    record_level(&nosave, rec, secs, &level, err) != 0)) ||
		    (col = decide_rec(d, rec, where, level, secs, &why,
		    err)) < 0) {
			qs_err_wrap(err, "invalid CPA input in <stdin>: %s", where);
			json_decref(recs);
			return -1;
		}
		if (i == 0 || t->act[col] > target)
			target = t->act[col];
	}
	json_decref(recs);
	if (d->lv != NULL && d->recent != NULL &&
	    qs_level_save(d->lv, d->recent, err) != 0)
		return -1;
	if (qs_cpa_write(stdout, target) != 0)
		return qs_err_sys(err, EX_IOERR, "cannot write <stdout>");
	return 0;
}

/*
 * Write the greedy action of every state, in the table's row order, as
 * records with the table's state columns.  Returns 0 or -1 with err.
 */
static int
print_policy(const struct qs_table *t, const struct qs_policy_opts *po,
    enum qs_format fmt, struct qs_err *err)
{
	struct qs_writer *w;
	struct qs_obs o;
	enum qs_policy_why why;
	json_t *rec;
	size_t *state_at, s, row, per_pod;
	int l, q, col, rc = 0;

	state_at = xreallocarray(NULL, t->nrows, sizeof(*state_at));
	for (s = 0; s < t->nrows; s++)
		state_at[t->row_of_state[s]] = s;
	per_pod = (size_t)t->nlat * (size_t)t->nreq;
	w = qs_writer_new(stdout, fmt != QS_FMT_AUTO ? fmt : QS_FMT_CSV);
	for (row = 0; row < t->nrows && rc == 0; row++) {
		s = state_at[row];
		l = (int)(s % per_pod / (size_t)t->nreq);
		q = (int)(s % (size_t)t->nreq);
		rec = json_object();
		qs_rec_set(rec, "pod", json_integer(t->pod_min +
		    (long)(s / per_pod)));
		qs_rec_set(rec, "initial_latency", json_integer(t->lat_lo[l]));
		qs_rec_set(rec, "end_latency", json_integer(t->lat_hi[l]));
		qs_rec_set(rec, "initial_request", json_integer(t->req_lo[q]));
		qs_rec_set(rec, "end_request", json_integer(t->req_hi[q]));
		/* The state's own replicas, at its buckets' start. */
		o.pod = t->pod_min + (long)(s / per_pod);
		o.latency = (double)t->lat_lo[l];
		o.requests = (double)t->req_lo[q];
		col = po->compat == QS_COMPAT_NOTEBOOK ? qs_table_best(t, s) :
		    qs_policy_decide(t, po, s, &o, NULL, &why);
		qs_rec_set(rec, "action", json_integer(t->act[col]));
		rc = qs_writer_put(w, rec, err);
		json_decref(rec);
	}
	qs_writer_free(w);
	free(state_at);
	return rc;
}

/* Where two rules that need another came from, an option or QS_*. */
struct rule_src {
	const char *unlearned, *floor_margin;
};

/* The rules' defaults from the environment, noting where they came from. */
static void
env_rules(struct qs_policy_opts *po, struct rule_src *src)
{
	const char *s;

	if ((s = qs_env("QS_EPSILON", NULL)) != NULL)
		po->epsilon = qs_opt_double("QS_EPSILON", s, 0, 1);
	if ((s = qs_env("QS_EXPLORE_K", NULL)) != NULL)
		po->explore_k = qs_opt_long("QS_EXPLORE_K", s, 0, 1000000000L);
	if ((s = qs_env("QS_EXPLORE_DECAY", NULL)) != NULL)
		po->explore_decay = qs_opt_double("QS_EXPLORE_DECAY", s, 0, 1e12);
	if ((s = qs_env("QS_UNLEARNED", NULL)) != NULL) {
		if (qs_policy_unlearned_parse(s, &po->unlearned) != 0)
			qs_die(EX_USAGE, "invalid QS_UNLEARNED: %s (hold or hpa)",
			    s);
		src->unlearned = "QS_UNLEARNED";
	}
	if ((s = qs_env("QS_HPA_TARGET", NULL)) != NULL)
		po->hpa_target = qs_opt_double("QS_HPA_TARGET", s, 1e-9, 1e12);
	if ((s = qs_env("QS_WINDOW", NULL)) != NULL)
		po->window = qs_opt_double("QS_WINDOW", s, 1e-3, 1e9);
	po->floor_margin = qs_env_double("QS_FLOOR_MARGIN", po->floor_margin, 0,
	    1e6, &src->floor_margin);
	if ((s = qs_env("QS_IDEAL_LATENCY", NULL)) != NULL)
		po->ideal = qs_opt_double("QS_IDEAL_LATENCY", s, 0, 1e9);
}

static void clamp_report(void);
static _Noreturn void cpa_needs_recent(const char *table, const char *name,
    const char *value, double window);

/* A decider that loads its table again when it was replaced. */
struct live {
	struct decider *d;
	struct qs_table *t;
	const char *path, *model;
	/*
	 * The learner when the table's model adapts (else NULL), and the
	 * model file it was loaded from, kept open: -1 while there is none.
	 */
	struct qs_plan_online *on;
	int mfd;
};

/*
 * Whether the model has been replaced, removed or put back since it was
 * loaded: qs-update commits the table before the model, and a model
 * removed beside a table that stays must no longer plan it.
 */
static int
model_changed(const struct live *l)
{
	struct stat a, b;

	if (l->on == NULL)
		return 0;
	if (l->mfd < 0)
		return access(l->model, F_OK) == 0;
	/* The open file keeps its inode from being reused: equal means same. */
	return fstat(l->mfd, &a) != 0 || stat(l->model, &b) != 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/* Load the model at path into pl.  Returns 0, or -1 with err. */
static int
load_model(const char *path, struct qs_plan *pl, struct qs_err *err)
{
	qs_plan_defaults(pl);
	return qs_plan_load(pl, path, err);
}

/*
 * Decide as decide() does, from the table as it is now: a long-lived
 * qs-decide (--unbuffered, a co-process) sees what qs-update learned
 * since it started.  A table read from a pipe is never loaded again.
 */
static void clamp_rewarn(const struct qs_table *old,
    const struct qs_table *t);

static int
decide_live(json_t *rec, long line, void *arg, struct qs_err *err)
{
	struct live *l = arg;
	struct qs_table *t;
	struct qs_plan pl;

	if (l->t->src_fd >= 0 && (!qs_table_is_current(l->t, l->path) ||
	    model_changed(l))) {
		/* Not the record's fault: not "invalid record ... line N". */
		/* A table no longer planned (its model gone) is decided as it is. */
		if (l->on != NULL) {
			if (l->mfd >= 0)
				close(l->mfd);
			l->mfd = open(l->model, O_RDONLY | O_CLOEXEC);
			l->d->on = l->mfd >= 0 || errno != ENOENT ? l->on : NULL;
		}
		if ((t = qs_table_load(l->path, err)) == NULL ||
		    (l->d->on != NULL && load_model(l->model, &pl, err) != 0)) {
			clamp_report();
			qs_die_err(err);
		}
		clamp_rewarn(l->t, t);
		qs_table_free(l->t);
		l->t = t;
		l->d->t = t;
		/* qs-update planned both from what it learned: go on from there. */
		if (l->d->on != NULL)
			qs_plan_online_reset(l->d->on, &pl, t);
	}
	return decide(rec, line, l->d, err);
}

/*
 * The seconds between records: the table's period, else QS_PERIOD, else
 * qs-run's 15.  Metadata that cannot be read was refused before.
 */
static double
record_period(const char *table)
{
	struct qs_err err = { 0 };
	struct qs_meta m;
	const char *s = NULL;
	double p = 15;

	if (qs_meta_load(&m, table, &err) == 0) {
		if ((s = qs_meta_get(&m, "period")) == NULL)
			s = qs_env("QS_PERIOD", NULL);
		if (s != NULL && (qs_num_parse(s, &p) != 0 || !(p > 0)))
			p = 15;
		qs_meta_free(&m);
	}
	return p;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "compat", required_argument, NULL, 'C' },
		{ "cpa", no_argument, NULL, 'c' },
		{ "epsilon", required_argument, NULL, 'e' },
		{ "exploit", no_argument, NULL, 'x' },
		{ "explore-decay", required_argument, NULL, 'd' },
		{ "explore-k", required_argument, NULL, 'k' },
		{ "floor-margin", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "hpa-target", required_argument, NULL, 'H' },
		{ "ideal-latency", required_argument, NULL, 'i' },
		{ "level-window", required_argument, NULL, 'L' },
		{ "no-adapt", no_argument, NULL, 'n' },
		{ "policy", no_argument, NULL, 'p' },
		{ "recent", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "unlearned", required_argument, NULL, 'u' },
		{ "version", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_table *t;
	struct qs_rand rng;
	enum qs_format fmt = QS_FMT_AUTO;
	const char *table = qs_env("QS_TABLE", NULL), *seedarg = NULL;
	const char *epsarg = NULL, *rulearg = NULL;
	const char *lwarg = qs_env("QS_LEVEL_WINDOW", NULL);
	const char *lwname = "QS_LEVEL_WINDOW", *recent = qs_env("QS_RECENT",
	    NULL);
	struct qs_level lv;
	double lwin = 0;
	struct qs_meta_setting given[QS_META_NSET];
	struct qs_policy_opts po;
	struct rule_src src = { "--unlearned", "--floor-margin" };
	unsigned long long seed;
	struct qs_plan_online on;
	struct qs_plan pl;
	char *mpath = NULL;
	int mfd = -1;
	int c, rc, cpa = 0, policy = 0, fmtset = 0, exploit = 0, recentopt = 0;
	int adapt = 1, adaptopt = 0;

	qs_setprogname(argv[0]);
	qs_policy_defaults(&po);
	env_rules(&po, &src);
	qs_meta_given_env(given);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			if (strcmp(optarg, "notebook") == 0)
				po.compat = QS_COMPAT_NOTEBOOK;
			else if (strcmp(optarg, "none") == 0)
				po.compat = QS_COMPAT_NONE;
			else
				qs_die(EX_USAGE, "invalid --compat: %s (notebook or "
				    "none)", optarg);
			break;
		case 'c':
			cpa = 1;
			break;
		case 'd':
			rulearg = "--explore-decay";
			po.explore_decay = qs_opt_double("--explore-decay", optarg,
			    0, 1e12);
			break;
		case 'e':
			epsarg = optarg;
			po.epsilon = qs_opt_double("--epsilon", optarg, 0, 1);
			break;
		case 'H':
			rulearg = "--hpa-target";
			po.hpa_target = qs_opt_double("--hpa-target", optarg,
			    1e-9, 1e12);
			break;
		case 'i':
			rulearg = "--ideal-latency";
			qs_meta_given_opt(given, "ideal_latency", rulearg, optarg);
			po.ideal = qs_opt_double("--ideal-latency", optarg, 0, 1e9);
			break;
		case 'k':
			rulearg = "--explore-k";
			po.explore_k = qs_opt_long("--explore-k", optarg, 0,
			    1000000000L);
			break;
		case 'm':
			rulearg = src.floor_margin = "--floor-margin";
			po.floor_margin = qs_opt_double("--floor-margin", optarg,
			    0, 1e6);
			break;
		case 'u':
			rulearg = src.unlearned = "--unlearned";
			if (qs_policy_unlearned_parse(optarg, &po.unlearned) != 0)
				qs_die(EX_USAGE, "invalid --unlearned: %s (hold or "
				    "hpa)", optarg);
			break;
		case 'w':
			rulearg = "--window";
			qs_meta_given_opt(given, "window", rulearg, optarg);
			po.window = qs_opt_double("--window", optarg, 1e-3, 1e9);
			break;
		case 'x':
			exploit = 1;
			break;
		case 'L':
			lwarg = optarg;
			lwname = "--level-window";
			(void)qs_opt_double("--level-window", optarg, 0,
			    QS_LEVEL_WINDOW_MAX);
			break;
		case 'n':
			adapt = 0;
			adaptopt = 1;
			break;
		case 'r':
			recent = optarg;
			recentopt = 1;
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			fmtset = 1;
			break;
		case 'h':
			help();
			break;
		case 'p':
			policy = 1;
			break;
		case 's':
			seedarg = optarg;
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
	if (cpa && policy)
		qs_die(EX_USAGE, "--cpa and --policy cannot be combined");
	if ((cpa || policy) && qs_records_unbuffered())
		qs_die(EX_USAGE, "--unbuffered is for the records filter, not "
		    "--cpa or --policy");
	if (policy && (lwname[0] == '-' || recentopt))
		qs_die(EX_USAGE, "--level-window and --recent are for the records "
		    "filter and --cpa, not --policy");
	if ((cpa || policy) && adaptopt)
		qs_die(EX_USAGE, "--no-adapt is for the records filter, not --cpa "
		    "or --policy");
	if (cpa && fmtset)
		qs_die(EX_USAGE, "--format cannot be used with --cpa");
	if (policy && (epsarg != NULL || seedarg != NULL || exploit))
		qs_die(EX_USAGE, "--policy is greedy: it takes no --epsilon, "
		    "--exploit or --seed");
	if (policy && rulearg != NULL)
		qs_die(EX_USAGE, "--policy takes no %s", rulearg);
	if (exploit && epsarg != NULL)
		qs_die(EX_USAGE, "--exploit and --epsilon cannot be combined");
	if (exploit || policy)
		po.epsilon = 0;
	if (po.compat == QS_COMPAT_NOTEBOOK && rulearg != NULL)
		qs_die(EX_USAGE, "--compat notebook decides as the notebook: it "
		    "takes no %s", rulearg);
	if (po.compat == QS_COMPAT_NONE && po.hpa_target == 0 &&
	    po.unlearned == QS_POLICY_UNLEARNED_HPA)
		qs_die(EX_USAGE, "%s hpa needs --hpa-target", src.unlearned);
	if (po.compat == QS_COMPAT_NONE && po.hpa_target == 0 &&
	    po.floor_margin > 0)
		qs_die(EX_USAGE, "%s needs --hpa-target", src.floor_margin);
	if (table == NULL)
		qs_die(EX_USAGE, "no table: give --table or set QS_TABLE");
	seed = seedarg ? (unsigned long long)qs_opt_long("--seed", seedarg, 0,
	    0x7fffffffffffffffL) : qs_rand_entropy();

	/* A table built for other settings would answer other questions. */
	if (qs_meta_check(table, given, QS_META_NSET, &err) != 0 ||
	    (!policy && qs_level_setting(table, lwname, lwarg, &lwin,
	    &err) != 0))
		qs_die_err(&err);
	/*
	 * CPA runs the evaluate command once per observation: without a file
	 * to keep the window in, every level would be that one's requests.
	 */
	if (cpa && lwin > 0 && recent == NULL)
		cpa_needs_recent(table, lwname, lwarg, lwin);
	if ((t = qs_table_load(table, &err)) == NULL)
		qs_die_err(&err);
	/* A planned table's model learns the load of the records it decides. */
	if (!cpa && !policy && adapt && (mpath = qs_plan_path(table)) != NULL &&
	    access(mpath, F_OK) == 0) {
		mfd = open(mpath, O_RDONLY | O_CLOEXEC);
		if (load_model(mpath, &pl, &err) != 0)
			qs_die_err(&err);
		qs_plan_online_init(&on, &pl, t);
	} else {
		free(mpath);
		mpath = NULL;
	}
	qs_level_init(&lv, lwin);
	if (recent != NULL && lwin > 0 && qs_level_load(&lv, recent, &err) != 0)
		qs_die_err(&err);
	qs_rand_seed(&rng, seed);
	if (policy)
		rc = print_policy(t, &po, fmt, &err);
	else if (cpa)
		rc = decide_cpa(&(struct decider){ t, &po, &rng,
		    lwin > 0 ? &lv : NULL, recent, NULL, 0, 0 }, &err);
	else {
		struct decider d = { t, &po, &rng, lwin > 0 ? &lv : NULL,
		    recent, mpath != NULL ? &on : NULL, record_period(table),
		    lv.n > 0 ? (double)lv.t[lv.n - 1] / 1000 : 0 };
		struct live l = { &d, t, table, mpath, d.on, mfd };

		if (qs_records_unbuffered())
			rc = qs_records_filter(stdin, "<stdin>", stdout, fmt,
			    decide_live, &l, &err);
		else
			rc = qs_records_filter(stdin, "<stdin>", stdout, fmt,
			    decide, &d, &err);
		t = l.t;
		mfd = l.mfd;
	}
	if (mfd >= 0)
		close(mfd);
	qs_table_free(t);
	qs_level_free(&lv);
	if (mpath != NULL)
		qs_plan_online_free(&on);
	free(mpath);
	clamp_report();
	if (rc < 0)
		qs_die_err(&err);
	return qs_fshut_stdout();
}

/*
 * Exit 64 for --cpa with a level window of window seconds and no --recent;
 * name and value say where the window came from (value NULL: the table).
 */
static _Noreturn void
cpa_needs_recent(const char *table, const char *name, const char *value,
    double window)
{
	char w[QS_NUM_MAX];

	qs_num_format(w, window);
	if (value != NULL)
		qs_die(EX_USAGE, "--cpa with %s %s needs --recent file (or "
		    "QS_RECENT): each evaluation sees one observation, and the "
		    "level is that of the window", name, value);
	qs_die(EX_USAGE, "--cpa on %s, planned with level_window %s, needs "
	    "--recent file (or QS_RECENT): each evaluation sees one "
	    "observation, and the level is that of the window", table, w);
}

/* Count the observations outside the table that were not warned about. */
static void
clamp_report(void)
{
	if (clamp_more > 0)
		qs_warn("... (and %ld more observation%s outside the table)",
		    clamp_more, clamp_more == 1 ? "" : "s");
}

/*
 * A table replaced by one with other ranges is warned about again, kind by
 * kind: the warning said the old table's ranges, and a co-process kept on
 * across the new one was never told that its observations fall outside it.
 */
static void
clamp_rewarn(const struct qs_table *old, const struct qs_table *t)
{
	if (old->pod_min != t->pod_min || old->pod_max != t->pod_max)
		clamp_warned &= ~QS_CLAMP_POD;
	if (old->lat_lo[0] != t->lat_lo[0] ||
	    old->lat_hi[old->nlat - 1] != t->lat_hi[t->nlat - 1])
		clamp_warned &= ~QS_CLAMP_LATENCY;
	if (old->req_lo[0] != t->req_lo[0] ||
	    old->req_hi[old->nreq - 1] != t->req_hi[t->nreq - 1])
		clamp_warned &= ~QS_CLAMP_REQUESTS;
}
