/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/history.h"
#include "qs/learn.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simserve.h"
#include "qs/table.h"
#include "qs/xalloc.h"
#include "qs-sim.h"

static void
progress(long done, long total, void *arg)
{
	(void)arg;
	fprintf(stderr, "\r%s: train: %ld/%ld epochs", qs_progname, done, total);
}

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
		{ "ideal-latency", required_argument, NULL, OPT_IDEAL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "latency-buckets", required_argument, NULL, OPT_LAT_BUCKETS },
		{ "latency-model", required_argument, NULL, OPT_LATENCY_MODEL },
		{ "latency-width", required_argument, NULL, OPT_LAT_WIDTH },
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
		{ "startup-delay", required_argument, NULL, OPT_STARTUP },
		{ "substep", required_argument, NULL, OPT_SUBSTEP },
		{ "table", required_argument, NULL, OPT_TABLE },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "version", no_argument, NULL, OPT_VERSION },
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
	long latw = 500, latn = 4, reqw = 18, reqn = 3;
	long dropped = 0;
	int opt, lock, clamped = 0, rc = 0;

	usage_text = TRAIN_USAGE;
	common_init(&c);
	c.max_replicas = 3;
	qs_simtrain_defaults(&o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
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
			    "      --latency-buckets n for a new table (4)\n"
			    "      --latency-model m   linear or queue (M/M/1, backlog) "
			    "(linear)\n"
			    "      --latency-width ms  for a new table (500)\n"
			    "      --max-replicas n    for a new table (3)\n"
			    "      --min-replicas n    for a new table (1)\n"
			    "      --observation-delay s  metrics as of s seconds ago (0)\n"
			    "      --period s          seconds per epoch (--interval)\n"
			    "      --request-buckets n for a new table (3)\n"
			    "      --request-width n   for a new table (18)\n"
			    "      --seed n            seed of noise and decisions "
			    "(random)\n"
			    "      --substep s         seconds per step of the model (15)\n"
			    "      --table file        the Q-table, created when "
			    "missing\n"
			    "      --trace file        CSV t,requests\n"
			    MODEL_HELP);
			break;
		case OPT_HISTORY:
			history = optarg;
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
	common_finish(&c);
	o.window = c.window;
	if (qs_simtrain_check(&c.p, &o, &err) != 0)
		qs_die_err(&err);

	if ((lock = qs_lock(table, 0, &err)) < 0)
		qs_die_err(&err);
	if (stat(table, &st) != 0 && errno == ENOENT) {
		/* In qs-init-table's default layout, with visits. */
		if ((t = qs_table_new(c.min_replicas, c.max_replicas, latw, latn,
		    reqw, reqn, &err)) != NULL)
			qs_table_add_visits(t);
	} else
		t = qs_table_load(table, &err);
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
