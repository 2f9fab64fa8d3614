/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/fit.h"
#include "qs/history.h"
#include "qs/learn.h"
#include "qs/level.h"
#include "qs/meta.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/plan.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simserve.h"
#include "qs/table.h"
#include "qs/xalloc.h"
#include "qs-sim.h"

static int train_model(struct common *c, const char *table,
    const char *history, double horizon, double slo_weight, int weights,
    double period);

static void
progress(long done, long total, void *arg)
{
	(void)arg;
	fprintf(stderr, "\r%s: train: %ld/%ld epochs", qs_progname, done, total);
}

/* The options of train that its table's metadata records, as given. */
struct train_meta {
	const char *window, *period, *ideal, *min, *max;
};

static void meta_note(struct train_meta *mo, int opt, const char *arg);
static void meta_check(const struct train_meta *mo, const struct common *c,
    const struct qs_simtrain *o, const char *table);
static double train_period(const struct common *c,
    const struct qs_simtrain *o);
static int q_was_planned(const struct qs_meta *m, const char *table);
static int drop_model(const char *table, struct qs_err *err);
static void meta_write(const struct common *c, double period,
    const struct qs_table *t, const char *table, const char *learner);
/* The model learner's level window (seconds); -1 for the Q learner's. */
static double level_window = -1;

int
sim_train(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "base-latency", required_argument, NULL, OPT_BASE },
		{ "capacity", required_argument, NULL, OPT_CAPACITY },
		{ "compat", required_argument, NULL, OPT_COMPAT },
		{ "cost-weights", required_argument, NULL, OPT_COST_WEIGHTS },
		{ "epochs", required_argument, NULL, OPT_EPOCHS },
		{ "epsilon", required_argument, NULL, OPT_EPSILON },
		{ "fit-out", required_argument, NULL, OPT_FIT_OUT },
		{ "gamma", required_argument, NULL, OPT_GAMMA },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "horizon", required_argument, NULL, OPT_HORIZON },
		{ "ideal-latency", required_argument, NULL, OPT_IDEAL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "latency-buckets", required_argument, NULL, OPT_LAT_BUCKETS },
		{ "latency-model", required_argument, NULL, OPT_LATENCY_MODEL },
		{ "latency-width", required_argument, NULL, OPT_LAT_WIDTH },
		{ "learner", required_argument, NULL, OPT_LEARNER },
		{ "level-window", required_argument, NULL, OPT_LEVEL_WINDOW },
		{ "max-replicas", required_argument, NULL, OPT_MAX_REPLICAS },
		{ "min-replicas", required_argument, NULL, OPT_MIN_REPLICAS },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "observation-delay", required_argument, NULL, OPT_OBS_DELAY },
		{ "observations", required_argument, NULL, OPT_OBSERVATIONS },
		{ "peak-replicas", required_argument, NULL, OPT_PEAK },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "replicas", required_argument, NULL, OPT_REPLICAS },
		{ "request-buckets", required_argument, NULL, OPT_REQ_BUCKETS },
		{ "request-width", required_argument, NULL, OPT_REQ_WIDTH },
		{ "reward", required_argument, NULL, OPT_REWARD },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "slo-weight", required_argument, NULL, OPT_SLO_WEIGHT },
		{ "startup-delay", required_argument, NULL, OPT_STARTUP },
		{ "substep", required_argument, NULL, OPT_SUBSTEP },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "wait", required_argument, NULL, OPT_WAIT },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_simtrain o;
	struct qs_history h, *hp = NULL;
	struct qs_table *t;
	struct common c;
	struct stat st;
	const char *table = NULL, *history = NULL;
	struct train_meta mo = { 0 };
	const char *envv;
	long latw = 500, latn = 4, reqw = 18, reqn = 3;
	long dropped = 0;
	int opt, lock, clamped = 0, rc = 0, learner = -1, weights_given = 0;
	double horizon = -1, slo_weight = -1;

	usage_text = TRAIN_USAGE;
	common_init(&c);
	if ((envv = qs_env("QS_MIN_REPLICAS", NULL)) != NULL)
		c.min_replicas = qs_opt_long("QS_MIN_REPLICAS", envv, 0, 100000);
	if ((envv = qs_env("QS_MAX_REPLICAS", NULL)) != NULL)
		c.max_replicas = qs_opt_long("QS_MAX_REPLICAS", envv, 1, 100000);
	qs_simtrain_defaults(&o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		meta_note(&mo, opt, optarg);
		if (opt == OPT_COST_WEIGHTS)
			weights_given = 1;
		if (common_option(&c, opt, optarg))
			continue;
		switch (opt) {
		case OPT_ALPHA:
			o.lp.alpha = qs_opt_double("--alpha", optarg, 0, 1);
			break;
		case OPT_EPOCHS:
			o.epochs = qs_opt_long("--epochs", optarg, 0,
			    4000000000000000000L);
			break;
		case OPT_EPSILON:
			o.epsilon = qs_opt_double("--epsilon", optarg, 0, 1);
			break;
		case OPT_GAMMA:
			o.lp.gamma = qs_opt_double("--gamma", optarg, 0, 1);
			break;
		case OPT_HELP:
			help(TRAIN_USAGE "\n"
			    "Train a Q-table offline: the learning loop over a "
			    "simulated deployment\nunder a workload trace, one "
			    "trace interval per epoch.\n\n"
			    "      --alpha a           learning rate (0.1)\n"
			    "      --base-latency ms   latency with no load (283)\n"
			    "      --epochs n          epochs to run (1000)\n"
			    "      --epsilon e         exploration rate (0.1)\n"
			    "      --gamma g           discount factor (0.6)\n"
			    "      --history file      append one row per transition "
			    "learned\n"
			    "      --horizon s         model: seconds a decision's replicas\n"
			    "                          take to serve (--startup-delay)\n"
			    "      --latency-buckets n for a new table (4)\n"
			    "      --latency-model m   linear or queue (M/M/1, backlog) "
			    "(linear)\n"
			    "      --latency-width ms  for a new table (500)\n"
			    "      --learner l         model (plan from a model; the default\n"
			    "                          with --observations) or q\n"
			    "      --level-window s    model: plan on the highest requests of\n"
			    "                          the last s seconds (300)\n"
			    "      --max-replicas n    for a new table (3)\n"
			    "      --min-replicas n    for a new table (1)\n"
			    "      --observation-delay s  metrics as of s seconds ago (0)\n"
			    "      --period s          seconds per epoch (--interval)\n"
			    "      --request-buckets n for a new table (3)\n"
			    "      --request-width n   for a new table (18)\n"
			    "      --seed n            seed of noise and decisions "
			    "(random)\n"
			    "      --slo-weight w      model: weight of a violation (0.9)\n"
			    "      --substep s         seconds per step of the model (15)\n"
			    "      --table file        the Q-table, created when "
			    "missing\n"
			    "      --wait s            seconds from a decision to its "
			    "observation\n"
			    "                          (--period; the start-up delay "
			    "when longer)\n"
			    "      --trace file        CSV t,requests\n"
			    MODEL_HELP);
			break;
		case OPT_HISTORY:
			history = optarg;
			break;
		case OPT_HORIZON:
			horizon = qs_opt_double("--horizon", optarg, 0, 1e7);
			break;
		case OPT_LEARNER:
			if (strcmp(optarg, "model") == 0)
				learner = 1;
			else if (strcmp(optarg, "q") == 0)
				learner = 0;
			else
				qs_die(EX_USAGE, "invalid --learner: %s (model or q)",
				    optarg);
			break;
		case OPT_LEVEL_WINDOW:
			level_window = qs_opt_double("--level-window", optarg, 0,
			    QS_LEVEL_WINDOW_MAX);
			break;
		case OPT_SLO_WEIGHT:
			slo_weight = qs_opt_double("--slo-weight", optarg, 0, 1e6);
			break;
		case OPT_PERIOD:
			o.period = qs_opt_double("--period", optarg, 1e-3, 1e7);
			break;
		case OPT_OBS_DELAY:
			o.observation_delay = qs_opt_double("--observation-delay",
			    optarg, 0, 1e7);
			break;
		case OPT_SUBSTEP:
			o.substep = qs_opt_double("--substep", optarg, 1e-3, 1e7);
			break;
		case OPT_WAIT:
			o.wait = qs_opt_double("--wait", optarg, 1e-3, 1e7);
			break;
		case OPT_LAT_BUCKETS:
			latn = qs_opt_long("--latency-buckets", optarg, 1, 100000);
			break;
		case OPT_LAT_WIDTH:
			latw = qs_opt_long("--latency-width", optarg, 1, 100000000);
			break;
		case OPT_REQ_BUCKETS:
			reqn = qs_opt_long("--request-buckets", optarg, 1, 100000);
			break;
		case OPT_REQ_WIDTH:
			reqw = qs_opt_long("--request-width", optarg, 1, 100000000);
			break;
		case OPT_TABLE:
			table = optarg;
			break;
		case OPT_VERSION:
			qs_print_version();
			exit(qs_fshut_stdout());
		default:
			usage();
		}
	}
	if (optind != argc) {
		qs_warn("unexpected operand: %s", argv[optind]);
		usage();
	}
	if (table == NULL) {
		qs_warn("%s", "--table is required");
		usage();
	}
	/* With observations the model learner is the default. */
	if (learner < 0)
		learner = c.observations != NULL;
	if (learner == 1 && o.wait > 0)
		qs_die(EX_USAGE, "%s", "--wait needs --learner q");
	if (learner == 1)
		return train_model(&c, table, history, horizon, slo_weight,
		    weights_given, o.period);
	if (level_window >= 0)
		qs_die(EX_USAGE, "%s", "--level-window needs --learner model");
	if (c.max_replicas == 0)
		c.max_replicas = 3;
	common_finish(&c);
	o.window = c.window;
	/*
	 * As qs-run waits 60 s at a 15-s period: a transition is observed
	 * once its pods can be ready, not a period later when it is shorter.
	 */
	if (!(o.wait > 0) && train_period(&c, &o) < c.p.startup_delay)
		o.wait = c.p.startup_delay;
	if (qs_simtrain_check(&c.p, &o, &err) != 0)
		qs_die_err(&err);

	if ((lock = qs_lock(table, 0, &err)) < 0)
		qs_die_err(&err);
	if (stat(table, &st) != 0 && errno == ENOENT) {
		/* In qs-init-table's default layout, with visits. */
		if ((t = qs_table_new(c.min_replicas, c.max_replicas, latw, latn,
		    reqw, reqn, &err)) != NULL)
			qs_table_add_visits(t);
	} else if ((t = qs_table_load(table, &err)) != NULL)
		meta_check(&mo, &c, &o, table);
	if (t == NULL)
		qs_die_err(&err);
	if (history != NULL) {
		if (qs_history_open(&h, history, 0, &err) != 0)
			qs_die_err(&err);
		hp = &h;
	}
	o.window = c.window;
	o.policy.compat = c.compat;
	o.reward = c.reward;
	o.reward.cost.max_replicas = t->act[t->nact - 1];
	o.seed = c.seed_given ? c.seed : qs_rand_entropy();
	o.replicas = c.replicas >= 0 ? c.replicas : t->pod_min;
	if (isatty(STDERR_FILENO))
		o.progress = progress;
	o.dropped = &dropped;
	if (qs_simtrain_run(t, &c.p, c.values, c.n, &o, hp, &clamped,
	    &err) != 0)
		rc = -1;
	if (o.progress != NULL && o.epochs >= (1L << 20))
		fputc('\n', stderr);
	if (rc == 0 && qs_table_save(t, table, &err) != 0) {
		if (hp != NULL)
			qs_history_rollback(hp);
		rc = -1;
	}
	if (rc != 0)
		qs_die_err(&err);
	meta_write(&c, train_period(&c, &o), t, table, "q");
	/*
	 * A model left beside a Q-learned table would have qs-update and
	 * qs-decide plan over it: the table is no longer the model's.
	 */
	if (drop_model(table, &err) != 0)
		qs_die_err(&err);
	if (clamped)
		qs_warn("some observations fell outside %s's buckets and were "
		    "counted in the edge buckets", table);
	if (dropped > 0)
		qs_warn("%ld of %ld transitions dropped: pods not ready", dropped,
		    o.epochs);
	if (hp != NULL)
		qs_history_close(hp);
	qs_unlock(lock);
	qs_table_free(t);
	free(c.values);
	return qs_fshut_stdout();
}

/* Write the planner's summary on standard error, or in --fit-out. */
static void
print_plan(const struct common *c, const struct qs_plan *pl)
{
	struct qs_err err = { 0 };
	struct qs_atomic a;

	if (c->fit_out == NULL) {
		if (qs_plan_print(stderr, pl) != 0)
			qs_die(EX_IOERR, "cannot write standard error:");
		return;
	}
	if (qs_atomic_open(&a, c->fit_out, &err) != 0)
		qs_die_err(&err);
	if (qs_plan_print(a.fp, pl) != 0) {
		qs_atomic_abort(&a);
		qs_die(EX_IOERR, "cannot write %s:", c->fit_out);
	}
	if (qs_atomic_commit(&a, &err) != 0)
		qs_die_err(&err);
}

/*
 * The observations of --trace under HPA, as qs-sim eval --policy hpa
 * --record would write them, in a temporary file, rewound.
 */
static FILE *
observe_trace(struct common *c)
{
	struct qs_err err = { 0 };
	struct qs_simeval o;
	struct qs_simeval_result res;
	FILE *fp;

	common_finish(c);
	qs_simeval_defaults(&o);
	o.policy = QS_POLICY_HPA;
	o.window = c->window;
	o.seed = c->seed;
	o.min_replicas = o.replicas = c->min_replicas > 0 ? c->min_replicas : 1;
	if (c->max_replicas > 0)
		o.max_replicas = c->max_replicas;
	o.hpa.min_replicas = o.min_replicas;
	o.hpa.max_replicas = o.max_replicas;
	o.hpa.target = c->p.capacity;
	o.reward = c->reward;
	if ((fp = tmpfile()) == NULL)
		qs_die(EX_CANTCREAT, "cannot create a temporary file:");
	o.record = fp;
	if (qs_simeval_run(&c->p, c->values, c->n, &o, &res, &err) != 0)
		qs_die_err(&err);
	if (fflush(fp) != 0 || fseek(fp, 0, SEEK_SET) != 0)
		qs_die(EX_IOERR, "cannot write a temporary file:");
	return fp;
}

/*
 * --learner model: fit the planner's model to the observations (or to
 * the trace's, under HPA), plan the table from it, and save the model
 * as TABLE.model and the table, replaced whole.  No epochs: planning is
 * the training.
 */
static int
train_model(struct common *c, const char *table, const char *history,
    double horizon, double slo_weight, int weights, double period)
{
	struct qs_err err = { 0 };
	struct qs_plan pl;
	struct qs_atomic ma, ta;
	struct qs_table *t;
	char *model = qs_plan_path(table);
	struct qs_sim_params p;
	struct qs_fit f;
	double rate, need, *trace;
	size_t n;
	FILE *fp;
	int lock;

	if (history != NULL) {
		qs_warn("%s", "--history needs --learner q");
		usage();
	}
	if (c->observations != NULL && (c->trace != NULL || c->scale_given ||
	    c->peak_replicas > 0 || c->fitted_given != NULL)) {
		qs_warn("%s and --observations exclude each other: the model is "
		    "fitted to the observations", c->trace != NULL ? "--trace" :
		    c->scale_given ? "--scale" : c->peak_replicas > 0 ?
		    "--peak-replicas" : c->fitted_given);
		usage();
	}
	if (c->max_replicas > 0 && c->max_replicas < c->min_replicas)
		qs_die(EX_USAGE, "--max-replicas %ld is below --min-replicas %ld",
		    c->max_replicas, c->min_replicas);
	if (!(c->window > 0))
		qs_die(EX_USAGE, "%s", "the model learner needs a --window "
		    "above 0");
	qs_plan_defaults(&pl);
	pl.ideal = c->p.ideal;
	pl.window = c->window;
	pl.horizon = horizon >= 0 ? horizon : c->p.startup_delay;
	if (weights) {
		pl.w_slo = c->reward.cost.w_perf;
		pl.w_res = c->reward.cost.w_res;
		pl.w_adp = c->reward.cost.w_adp;
	}
	if (slo_weight >= 0)
		pl.w_slo = slo_weight;
	/* 300 s, HPA's scale-down window: a dip is not yet low load. */
	if (level_window < 0)
		level_window = 300;
	pl.level_window = level_window;
	if (c->observations != NULL) {
		/* Checked as the Q learner's fit checks them: the same errors. */
		p = c->p;
		if (qs_fit_load(c->observations, c->window, &p, &trace, &n, &f,
		    &err) != 0)
			qs_die_err(&err);
		free(trace);
		if (qs_plan_fit_file(&pl, c->observations, &err) != 0)
			qs_die_err(&err);
	} else {
		fp = observe_trace(c);
		if (qs_plan_fit_fp(&pl, fp, "the trace's observations",
		    &err) != 0)
			qs_die_err(&err);
		fclose(fp);
	}
	rate = qs_plan_rate_at_ideal(&pl);
	if (!(rate > 0))
		qs_die(EX_DATAERR, "cannot plan from %s: no load meets the ideal "
		    "latency", c->observations ? c->observations : c->trace);
	/*
	 * Without a curve the bins alone carry the plan, and beyond the few
	 * rates observed it is a guess: the user is told, not refused, since
	 * a first table may rightly start from little.
	 */
	if (pl.fit_kind == QS_PLAN_FIT_NONE)
		qs_warn("%s: no latency curve fits its %ld latency samples "
		    "(it needs %d in each of two bins of requests per "
		    "replica, below twice the ideal): the table is a guess "
		    "beyond the rates observed; evaluate it before use",
		    c->observations ? c->observations : c->trace,
		    qs_plan_count(&pl), QS_PLAN_MIN_BIN);
	pl.min_replicas = c->min_replicas;
	/* Enough replicas for twice the peak seen, at the ideal. */
	need = ceil(2 * pl.level_hi[pl.nlevel - 1] / pl.window / rate);
	pl.max_replicas = c->max_replicas > 0 ? c->max_replicas :
	    (long)fmin(fmax(need, (double)(c->min_replicas > 0 ?
	    c->min_replicas : 1)), 1000);
	if ((lock = qs_lock(table, 0, &err)) < 0)
		qs_die_err(&err);
	if ((t = qs_plan_table(&pl, &err)) == NULL)
		qs_die_err(&err);
	if (qs_plan_save_prepare(&pl, model, &ma, &err) != 0)
		qs_die_err(&err);
	if (qs_table_save_prepare(t, table, &ta, &err) != 0) {
		qs_atomic_abort(&ma);
		qs_die_err(&err);
	}
	if (qs_atomic_commit(&ma, &err) != 0) {
		qs_atomic_abort(&ta);
		qs_die_err(&err);
	}
	if (qs_atomic_commit(&ta, &err) != 0)
		qs_die_err(&err);
	/*
	 * The decision period when --period gave it: the observations' step
	 * need not be the live period, and a guess would refuse a live run.
	 */
	meta_write(c, period, t, table, "model");
	print_plan(c, &pl);
	qs_unlock(lock);
	qs_table_free(t);
	free(model);
	free(c->values);
	return qs_fshut_stdout();
}

static void
meta_note(struct train_meta *mo, int opt, const char *arg)
{
	switch (opt) {
	case OPT_WINDOW:
		mo->window = arg;
		break;
	case OPT_PERIOD:
		mo->period = arg;
		break;
	case OPT_IDEAL:
		mo->ideal = arg;
		break;
	case OPT_MIN_REPLICAS:
		mo->min = arg;
		break;
	case OPT_MAX_REPLICAS:
		mo->max = arg;
		break;
	}
}

/* Seconds per epoch: --period, else the trace's interval. */
static double
train_period(const struct common *c, const struct qs_simtrain *o)
{
	return o->period > 0 ? o->period : c->p.interval;
}

/*
 * Refuse to go on learning into an existing table whose metadata says it
 * was built for other settings (78, before anything changed).  Training
 * writes the settings it ran with, so the window, period and ideal it
 * takes by default are checked as much as those given; the replica range
 * is the table's, checked when given.
 */
static void
meta_check(const struct train_meta *mo, const struct common *c,
    const struct qs_simtrain *o, const char *table)
{
	struct qs_meta_setting s[QS_META_NSET];
	struct qs_err err = { 0 };
	char w[QS_NUM_MAX], p[QS_NUM_MAX], i[QS_NUM_MAX];

	qs_meta_given_env(s);
	qs_num_format(w, c->window);
	qs_num_format(p, train_period(c, o));
	qs_num_format(i, c->p.ideal);
	qs_meta_given_opt(s, "window", mo->window ? "--window" :
	    "--window (default)", w);
	qs_meta_given_opt(s, "period", mo->period ? "--period" :
	    "--period (default: --interval)", p);
	qs_meta_given_opt(s, "ideal_latency", mo->ideal ? "--ideal-latency" :
	    "--ideal-latency (default)", i);
	if (mo->min != NULL)
		qs_meta_given_opt(s, "min_replicas", "--min-replicas", mo->min);
	if (mo->max != NULL)
		qs_meta_given_opt(s, "max_replicas", "--max-replicas", mo->max);
	if (qs_meta_check(table, s, QS_META_NSET, &err) != 0)
		qs_die_err(&err);
}

/*
 * Whether a table the Q learner trained has a level window from an
 * earlier planning, in its metadata m or its model: qs-decide would take
 * its states on the level, which the Q learner's are not on.
 */
static int
q_was_planned(const struct qs_meta *m, const char *table)
{
	char *model = qs_plan_path(table);
	int had = qs_meta_get(m, "level_window") != NULL ||
	    access(model, F_OK) == 0;

	free(model);
	return had;
}

/* Record what table, now saved, was trained for, keeping other keys. */
static void
meta_write(const struct common *c, double period,
    const struct qs_table *t, const char *table, const char *learner)
{
	struct qs_err err = { 0 };
	struct qs_meta m;

	if (qs_meta_load(&m, table, &err) != 0)
		qs_die_err(&err);
	qs_meta_describe(&m, t->pod_min, t->pod_max, c->window, period,
	    c->p.ideal, learner);
	if (level_window >= 0)
		qs_meta_set_num(&m, "level_window", level_window);
	else if (q_was_planned(&m, table))
		qs_meta_set_num(&m, "level_window", 0);
	if (qs_meta_save(&m, table, &err) != 0)
		qs_die_err(&err);
	qs_meta_free(&m);
}

/* Remove table's model, if it has one.  Returns 0, or -1 with err. */
static int
drop_model(const char *table, struct qs_err *err)
{
	char *model = qs_plan_path(table);
	int rc = 0;

	if (unlink(model) != 0 && errno != ENOENT)
		rc = qs_err_sys(err, EX_CANTCREAT, "cannot remove %s", model);
	free(model);
	return rc;
}
