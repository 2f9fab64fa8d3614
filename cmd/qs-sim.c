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

/*
 * qs-sim is one program with a subcommand per use of the model; each
 * subcommand parses its own options in a function of its own.
 */
#define USAGE_SERVE "usage: qs-sim serve [--deployment name] [--interval s] " \
	"[--listen addr:port]\n" \
	"       [--namespace ns] [--noise x] [--port-file file] [--rate r]\n" \
	"       [--replicas n] [--scale f] [--seed n] [--startup-delay s]\n" \
	"       [--tick s] [--tls-cert file --tls-key file] [--token-file file]\n" \
	"       [--trace file]\n"
#define USAGE "usage: qs-sim serve [option ...]\n" \
	"       qs-sim train [option ...] --table file --trace file\n" \
	"       qs-sim eval [option ...] --policy policy --trace file\n"

#define TRAIN_USAGE "usage: qs-sim train [--alpha a] [--capacity rate]\n" \
	"       [--cost-weights perf,res,adp] [--epochs n] [--epsilon e]\n" \
	"       [--gamma g] [--history file] [--ideal-latency ms] [--interval s]\n" \
	"       [--latency-buckets n] [--latency-width ms] [--max-replicas n]\n" \
	"       [--min-replicas n] [--noise sd] [--peak-replicas n | --scale x]\n" \
	"       [--period s] [--replicas n] [--request-buckets n]\n" \
	"       [--request-width n]\n" \
	"       [--reward notebook | cost] [--seed n] [--startup-delay s]\n" \
	"       [--window s] --table file --trace file\n"

#define EVAL_USAGE "usage: qs-sim eval [--alpha a] [--capacity rate]\n" \
	"       [--cost-weights perf,res,adp] [--gamma g] [--hpa-sync s]\n" \
	"       [--hpa-target rate] [--hpa-tolerance x] [--hpa-window s]\n" \
	"       [--ideal-latency ms]\n" \
	"       [--interval s] [--learn] [--max-replicas n] [--min-replicas n]\n" \
	"       [--noise sd] [--peak-replicas n | --scale x] [--period s]\n" \
	"       [--replicas n]\n" \
	"       [--reward notebook | cost] [--seed n] [--series file]\n" \
	"       [--startup-delay s] [--window s] --policy policy --trace file\n"

#define MODEL_HELP \
	"      --capacity rate     requests/s a replica serves at the ideal (0.353)\n" \
	"      --cost-weights p,r,a weights of the cost reward (0.9,0.09,0.01)\n" \
	"      --ideal-latency ms  the ideal latency, the SLO (500)\n" \
	"      --interval s        seconds per trace row (60)\n" \
	"      --noise sd          relative standard deviation of latency (0.05)\n" \
	"      --peak-replicas n   rescale the trace so its peak needs n replicas\n" \
	"      --replicas n        replicas ready at the start (min replicas)\n" \
	"      --reward rule       notebook or cost (notebook)\n" \
	"      --scale x           multiply the trace's requests by x (1)\n" \
	"      --startup-delay s   seconds before a new replica is ready (0)\n" \
	"      --window s          observation window in seconds (30)\n" \
	"      --help              print this help\n" \
	"      --version           print the version\n"

/* Options train and eval share: the model, the trace and the reward. */
struct common {
	struct qs_sim_params p;
	const char *trace;
	double peak_replicas;	/* 0: not given */
	int scale_given;
	long replicas;		/* -1: not given */
	long min_replicas, max_replicas;
	double window;
	enum qs_reward_rule rule;
	struct qs_reward_cost cost;
	int seed_given;
	unsigned long long seed;
	double *values;
	size_t n;
};

enum {
	OPT_ALPHA = 256, OPT_CAPACITY, OPT_COST_WEIGHTS, OPT_EPOCHS,
	OPT_EPSILON, OPT_GAMMA, OPT_HELP, OPT_HISTORY, OPT_HPA_TARGET,
	OPT_HPA_SYNC, OPT_HPA_TOLERANCE, OPT_HPA_WINDOW, OPT_IDEAL, OPT_INTERVAL,
	OPT_LAT_BUCKETS, OPT_LAT_WIDTH, OPT_LEARN, OPT_MAX_REPLICAS,
	OPT_MIN_REPLICAS, OPT_NOISE, OPT_PEAK, OPT_PERIOD, OPT_POLICY, OPT_REPLICAS,
	OPT_REQ_BUCKETS, OPT_REQ_WIDTH, OPT_REWARD, OPT_SCALE, OPT_SEED,
	OPT_SERIES, OPT_STARTUP, OPT_TABLE, OPT_TRACE, OPT_VERSION,
	OPT_WINDOW
};

static const char *usage_text = USAGE;

static void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

static void
help(const char *text)
{
	fputs(text, stdout);
	exit(qs_fshut_stdout());
}

static void
common_init(struct common *c)
{
	memset(c, 0, sizeof(*c));
	qs_sim_defaults(&c->p);
	c->replicas = -1;
	c->min_replicas = 1;
	c->window = 30;
	c->rule = QS_REWARD_NOTEBOOK;
	c->cost.w_perf = QS_REWARD_W_PERF;
	c->cost.w_res = QS_REWARD_W_RES;
	c->cost.w_adp = QS_REWARD_W_ADP;
	c->seed = 1;
}

/* Handle an option train and eval share; returns 0 when c is not one. */
static int
common_option(struct common *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_CAPACITY:
		c->p.capacity = qs_opt_double("--capacity", arg, 1e-9, 1e12);
		break;
	case OPT_COST_WEIGHTS:
		if (qs_reward_cost_parse(arg, &c->cost) != 0)
			qs_die(EX_USAGE, "invalid --cost-weights: %s (three numbers: "
			    "perf,res,adp)", arg);
		break;
	case OPT_IDEAL:
		c->p.ideal = qs_opt_double("--ideal-latency", arg, 1, 1e7);
		break;
	case OPT_INTERVAL:
		c->p.interval = qs_opt_double("--interval", arg, 1e-3, 1e7);
		break;
	case OPT_MAX_REPLICAS:
		c->max_replicas = qs_opt_long("--max-replicas", arg, 1, 100000);
		break;
	case OPT_MIN_REPLICAS:
		c->min_replicas = qs_opt_long("--min-replicas", arg, 0, 100000);
		break;
	case OPT_NOISE:
		c->p.noise = qs_opt_double("--noise", arg, 0, 10);
		break;
	case OPT_PEAK:
		c->peak_replicas = (double)qs_opt_long("--peak-replicas", arg, 1,
		    100000);
		break;
	case OPT_REPLICAS:
		c->replicas = qs_opt_long("--replicas", arg, 0, 100000);
		break;
	case OPT_REWARD:
		if (qs_reward_rule_parse(arg, &c->rule) != 0)
			qs_die(EX_USAGE, "invalid --reward: %s (notebook or cost)",
			    arg);
		break;
	case OPT_SCALE:
		c->p.scale = qs_opt_double("--scale", arg, 0, 1e12);
		c->scale_given = 1;
		break;
	case OPT_SEED:
		c->seed = (unsigned long long)qs_opt_long("--seed", arg, 0,
		    9007199254740992L);
		c->seed_given = 1;
		break;
	case OPT_STARTUP:
		c->p.startup_delay = qs_opt_double("--startup-delay", arg, 0, 1e7);
		break;
	case OPT_TRACE:
		c->trace = arg;
		break;
	case OPT_WINDOW:
		c->window = qs_opt_double("--window", arg, 0, 1e7);
		break;
	default:
		return 0;
	}
	return 1;
}

/* Check what train and eval share, then load and rescale the trace. */
static void
common_finish(struct common *c)
{
	struct qs_err err = { 0 };
	double peak;

	if (c->trace == NULL) {
		qs_warn("%s", "--trace is required");
		usage();
	}
	if (c->peak_replicas > 0 && c->scale_given) {
		qs_warn("%s", "--peak-replicas and --scale exclude each other");
		usage();
	}
	if (c->max_replicas > 0 && c->max_replicas < c->min_replicas)
		qs_die(EX_USAGE, "--max-replicas %ld is below --min-replicas %ld",
		    c->max_replicas, c->min_replicas);
	if (qs_sim_trace_load(c->trace, &c->values, &c->n, &err) != 0)
		qs_die_err(&err);
	if (c->peak_replicas > 0) {
		peak = qs_sim_trace_peak(c->values, c->n);
		if (peak <= 0)
			qs_die(EX_DATAERR, "cannot rescale %s: its peak is 0",
			    c->trace);
		c->p.scale = qs_sim_scale_for_peak(&c->p, peak,
		    (long)c->peak_replicas);
	}
}

static void
progress(long done, long total, void *arg)
{
	(void)arg;
	fprintf(stderr, "\r%s: train: %ld/%ld epochs", qs_progname, done, total);
}

static int
train(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "capacity", required_argument, NULL, OPT_CAPACITY },
		{ "cost-weights", required_argument, NULL, OPT_COST_WEIGHTS },
		{ "epochs", required_argument, NULL, OPT_EPOCHS },
		{ "epsilon", required_argument, NULL, OPT_EPSILON },
		{ "gamma", required_argument, NULL, OPT_GAMMA },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "ideal-latency", required_argument, NULL, OPT_IDEAL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "latency-buckets", required_argument, NULL, OPT_LAT_BUCKETS },
		{ "latency-width", required_argument, NULL, OPT_LAT_WIDTH },
		{ "max-replicas", required_argument, NULL, OPT_MAX_REPLICAS },
		{ "min-replicas", required_argument, NULL, OPT_MIN_REPLICAS },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "peak-replicas", required_argument, NULL, OPT_PEAK },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "replicas", required_argument, NULL, OPT_REPLICAS },
		{ "request-buckets", required_argument, NULL, OPT_REQ_BUCKETS },
		{ "request-width", required_argument, NULL, OPT_REQ_WIDTH },
		{ "reward", required_argument, NULL, OPT_REWARD },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "startup-delay", required_argument, NULL, OPT_STARTUP },
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
			o.alpha = qs_opt_double("--alpha", optarg, 0, 1);
			break;
		case OPT_EPOCHS:
			o.epochs = qs_opt_long("--epochs", optarg, 0,
			    4000000000000000000L);
			break;
		case OPT_EPSILON:
			o.epsilon = qs_opt_double("--epsilon", optarg, 0, 1);
			break;
		case OPT_GAMMA:
			o.gamma = qs_opt_double("--gamma", optarg, 0, 1);
			break;
		case OPT_HELP:
			help(TRAIN_USAGE "\n"
			    "Train a Q-table offline: the learning loop over a "
			    "simulated deployment\nunder a workload trace, one "
			    "trace interval per epoch.\n\n"
			    "      --alpha a           learning rate (0.1)\n"
			    "      --epochs n          epochs to run (1000)\n"
			    "      --epsilon e         exploration rate (0.1)\n"
			    "      --gamma g           discount factor (0.6)\n"
			    "      --history file      append one row per epoch\n"
			    "      --latency-buckets n for a new table (4)\n"
			    "      --latency-width ms  for a new table (500)\n"
			    "      --max-replicas n    for a new table (3)\n"
			    "      --min-replicas n    for a new table (1)\n"
			    "      --period s          seconds per epoch (--interval)\n"
			    "      --request-buckets n for a new table (3)\n"
			    "      --request-width n   for a new table (18)\n"
			    "      --seed n            seed of noise and decisions "
			    "(random)\n"
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
	if (optind != argc)
		usage();
	if (table == NULL) {
		qs_warn("%s", "--table is required");
		usage();
	}
	common_finish(&c);

	if ((lock = qs_lock(table, 0, &err)) < 0)
		qs_die_err(&err);
	if (stat(table, &st) != 0 && errno == ENOENT)
		t = qs_table_new(c.min_replicas, c.max_replicas, latw, latn, reqw,
		    reqn, &err);
	else
		t = qs_table_load(table, &err);
	if (t == NULL)
		qs_die_err(&err);
	if (history != NULL) {
		if (qs_history_open(&h, history, &err) != 0)
			qs_die_err(&err);
		hp = &h;
	}
	o.window = c.window;
	o.rule = c.rule;
	o.cost = c.cost;
	o.cost.max_replicas = t->act[t->nact - 1];
	o.seed = c.seed_given ? c.seed : qs_rand_entropy();
	o.replicas = c.replicas >= 0 ? c.replicas : t->pod_min;
	if (isatty(STDERR_FILENO))
		o.progress = progress;
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
	if (hp != NULL)
		qs_history_close(hp);
	qs_unlock(lock);
	qs_table_free(t);
	free(c.values);
	return qs_fshut_stdout();
}

static int
eval(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "capacity", required_argument, NULL, OPT_CAPACITY },
		{ "cost-weights", required_argument, NULL, OPT_COST_WEIGHTS },
		{ "gamma", required_argument, NULL, OPT_GAMMA },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "hpa-sync", required_argument, NULL, OPT_HPA_SYNC },
		{ "hpa-target", required_argument, NULL, OPT_HPA_TARGET },
		{ "hpa-tolerance", required_argument, NULL, OPT_HPA_TOLERANCE },
		{ "hpa-window", required_argument, NULL, OPT_HPA_WINDOW },
		{ "ideal-latency", required_argument, NULL, OPT_IDEAL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "learn", no_argument, NULL, OPT_LEARN },
		{ "max-replicas", required_argument, NULL, OPT_MAX_REPLICAS },
		{ "min-replicas", required_argument, NULL, OPT_MIN_REPLICAS },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "peak-replicas", required_argument, NULL, OPT_PEAK },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "replicas", required_argument, NULL, OPT_REPLICAS },
		{ "reward", required_argument, NULL, OPT_REWARD },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "series", required_argument, NULL, OPT_SERIES },
		{ "startup-delay", required_argument, NULL, OPT_STARTUP },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_simeval o;
	struct qs_simeval_result res;
	struct qs_atomic series;
	struct common c;
	const char *policy = NULL, *path = NULL, *seriesp = NULL;
	double target = -1;
	int opt;

	usage_text = EVAL_USAGE;
	common_init(&c);
	qs_simeval_defaults(&o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_option(&c, opt, optarg))
			continue;
		switch (opt) {
		case OPT_ALPHA:
			o.alpha = qs_opt_double("--alpha", optarg, 0, 1);
			break;
		case OPT_GAMMA:
			o.gamma = qs_opt_double("--gamma", optarg, 0, 1);
			break;
		case OPT_HELP:
			help(EVAL_USAGE "\n"
			    "Run a scaling policy over a workload trace and print "
			    "its figures as JSON.\nPolicies: table:FILE (greedy), "
			    "hpa (the Kubernetes HPA algorithm),\nstatic:N, oracle "
			    "(the fewest replicas meeting the ideal, with hindsight).\n\n"
			    "      --alpha a           learning rate with --learn (0.1)\n"
			    "      --gamma g           discount factor with --learn (0.6)\n"
			    "      --hpa-sync s        hpa: seconds between reconciliations "
			    "(15)\n"
			    "      --hpa-target rate   hpa: requests/s per replica "
			    "(--capacity)\n"
			    "      --hpa-tolerance x   hpa: tolerance (0.1)\n"
			    "      --hpa-window s      hpa: scale-down stabilization "
			    "(300)\n"
			    "      --learn             table: keep learning while it runs\n"
			    "      --max-replicas n    hpa, oracle: highest count (100)\n"
			    "      --min-replicas n    hpa, oracle: lowest count (1)\n"
			    "      --period s          table: seconds between decisions "
			    "(--interval)\n"
			    "      --policy policy     the policy to run\n"
			    "      --seed n            seed of the noise (1)\n"
			    "      --series file       write t,requests,latency,replicas "
			    "per interval\n"
			    "      --trace file        CSV t,requests\n"
			    MODEL_HELP);
			break;
		case OPT_HPA_SYNC:
			o.hpa.sync = qs_opt_double("--hpa-sync", optarg, 1e-3, 1e7);
			break;
		case OPT_HPA_TARGET:
			target = qs_opt_double("--hpa-target", optarg, 1e-9, 1e12);
			break;
		case OPT_HPA_TOLERANCE:
			o.hpa.tolerance = qs_opt_double("--hpa-tolerance", optarg, 0,
			    1e6);
			break;
		case OPT_HPA_WINDOW:
			o.hpa.down_window = qs_opt_double("--hpa-window", optarg, 0,
			    3600);
			break;
		case OPT_LEARN:
			o.learn = 1;
			break;
		case OPT_PERIOD:
			o.period = qs_opt_double("--period", optarg, 1e-3, 1e7);
			break;
		case OPT_POLICY:
			policy = optarg;
			break;
		case OPT_SERIES:
			seriesp = optarg;
			break;
		case OPT_VERSION:
			qs_print_version();
			exit(qs_fshut_stdout());
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (policy == NULL) {
		qs_warn("%s", "--policy is required");
		usage();
	}
	if (qs_simeval_policy_parse(policy, &o, &path, &err) != 0) {
		qs_warn("%s", err.msg);
		usage();
	}
	if (o.learn && o.policy != QS_POLICY_TABLE) {
		qs_warn("%s", "--learn needs --policy table:FILE");
		usage();
	}
	common_finish(&c);

	if (path != NULL && (o.table = qs_table_load(path, &err)) == NULL)
		qs_die_err(&err);
	o.rule = c.rule;
	o.cost = c.cost;
	if (o.table != NULL)
		o.cost.max_replicas = o.table->act[o.table->nact - 1];
	o.window = c.window;
	o.seed = c.seed;
	o.min_replicas = c.min_replicas;
	if (c.max_replicas > 0)
		o.max_replicas = c.max_replicas;
	o.hpa.min_replicas = o.min_replicas;
	o.hpa.max_replicas = o.max_replicas;
	o.hpa.target = target > 0 ? target : c.p.capacity;
	o.replicas = c.replicas >= 0 ? c.replicas : c.min_replicas;
	if (seriesp != NULL) {
		if (qs_atomic_open(&series, seriesp, &err) != 0)
			qs_die_err(&err);
		o.series = series.fp;
	}
	if (qs_simeval_run(&c.p, c.values, c.n, &o, &res, &err) != 0) {
		if (seriesp != NULL)
			qs_atomic_abort(&series);
		qs_die_err(&err);
	}
	if (seriesp != NULL && qs_atomic_commit(&series, &err) != 0)
		qs_die_err(&err);
	if (qs_simeval_print(stdout, &res) != 0)
		qs_die(EX_IOERR, "cannot write standard output:");
	qs_table_free(o.table);
	free(c.values);
	return qs_fshut_stdout();
}

static void
usage_serve(void)
{
	fputs(USAGE_SERVE, stderr);
	exit(EX_USAGE);
}

static void
help_serve(void)
{
	fputs(USAGE_SERVE "\n"
	    "Serve the Kubernetes API of one simulated deployment and its pods'\n"
	    "request metrics on /metrics, until SIGINT or SIGTERM.\n\n"
	    "      --deployment name   the deployment's name (QS_DEPLOYMENT, web)\n"
	    "      --interval s        seconds per trace row (60)\n"
	    "      --listen addr:port  where to listen (127.0.0.1:8080; port 0 picks)\n"
	    "      --namespace ns      its namespace (QS_NAMESPACE, default)\n"
	    "      --noise x           relative noise on latency (0.05)\n"
	    "      --port-file file    write the port there once listening\n"
	    "      --rate r            requests/s without a trace (0.3)\n"
	    "      --replicas n        replicas at the start, all ready (1)\n"
	    "      --scale f           factor on the trace's requests (1)\n"
	    "      --seed n            seed of the noise and pod names (1)\n"
	    "      --startup-delay s   seconds before a new replica is ready (0)\n"
	    "      --tick s            seconds of wall time per trace row (interval)\n"
	    "      --tls-cert file     serve HTTPS with this PEM certificate ...\n"
	    "      --tls-key file      ... and this PEM key\n"
	    "      --token-file file   require this bearer token on the API\n"
	    "      --trace file        CSV t,requests to replay\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/* A small file read whole: a token or a PEM text.  New string. */
static char *
read_small(const char *what, const char *path, int strip)
{
	char *s = xmalloc(1024 * 1024 + 1);
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		qs_die(EX_NOINPUT, "cannot open %s %s:", what, path);
	n = fread(s, 1, 1024 * 1024, fp);
	if (ferror(fp))
		qs_die(EX_IOERR, "cannot read %s %s:", what, path);
	if (!feof(fp))
		qs_die(EX_DATAERR, "%s %s is too long", what, path);
	fclose(fp);
	while (strip && n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' '))
		n--;
	s[n] = '\0';
	return s;
}

static int
serve(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'I' },
		{ "listen", required_argument, NULL, 'l' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "noise", required_argument, NULL, 'N' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "rate", required_argument, NULL, 'r' },
		{ "replicas", required_argument, NULL, 'R' },
		{ "scale", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' },
		{ "startup-delay", required_argument, NULL, 'D' },
		{ "tick", required_argument, NULL, 't' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "trace", required_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_simserve_opts o;
	struct qs_simserve *srv;
	struct qs_err err = { 0 };
	struct qs_atomic a;
	sigset_t set;
	const char *portfile = NULL, *trace = NULL, *certfile = NULL;
	const char *keyfile = NULL, *tokenfile = NULL;
	char *cert = NULL, *key = NULL, *token = NULL;
	double *rows = NULL;
	int c, sig;

	memset(&o, 0, sizeof(o));
	qs_sim_defaults(&o.p);
	o.listen = "127.0.0.1:8080";
	o.deployment = qs_env("QS_DEPLOYMENT", "web");
	o.namespace = qs_env("QS_NAMESPACE", "default");
	o.rate = 0.3;
	o.replicas = 1;
	o.seed = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			certfile = optarg;
			break;
		case 'D':
			o.p.startup_delay = qs_opt_double("--startup-delay",
			    optarg, 0, 86400);
			break;
		case 'd':
			o.deployment = optarg;
			break;
		case 'f':
			trace = optarg;
			break;
		case 'h':
			help_serve();
			break;
		case 'I':
			o.p.interval = qs_opt_double("--interval", optarg, 0.001,
			    86400);
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'N':
			o.p.noise = qs_opt_double("--noise", optarg, 0, 10);
			break;
		case 'n':
			o.namespace = optarg;
			break;
		case 'p':
			portfile = optarg;
			break;
		case 'R':
			o.replicas = qs_opt_long("--replicas", optarg, 0, 1000);
			break;
		case 'r':
			o.rate = qs_opt_double("--rate", optarg, 0, 1e9);
			break;
		case 'S':
			o.p.scale = qs_opt_double("--scale", optarg, 0, 1e9);
			break;
		case 's':
			o.seed = (unsigned long long)qs_opt_long("--seed", optarg,
			    0, 0x7fffffffffffffffL);
			break;
		case 'T':
			tokenfile = optarg;
			break;
		case 't':
			o.tick = qs_opt_double("--tick", optarg, 0.001, 86400);
			break;
		case 'V':
			qs_print_version();
			return qs_fshut_stdout();
		default:
			usage_serve();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage_serve();
	if ((certfile == NULL) != (keyfile == NULL))
		qs_die(EX_USAGE, "--tls-cert and --tls-key go together");
	if (*o.deployment == '\0' || *o.namespace == '\0' ||
	    strchr(o.deployment, '/') || strchr(o.namespace, '/'))
		qs_die(EX_USAGE, "invalid --deployment or --namespace");
	if (o.tick == 0)
		o.tick = o.p.interval;

	if (trace != NULL) {
		if (qs_sim_trace_load(trace, &rows, &o.n, &err) != 0)
			qs_die_err(&err);
		o.trace = rows;
	}
	if (certfile != NULL) {
		o.tls_cert = cert = read_small("certificate", certfile, 0);
		o.tls_key = key = read_small("key", keyfile, 0);
	}
	if (tokenfile != NULL) {
		o.token = token = read_small("token file", tokenfile, 1);
		if (*token == '\0')
			qs_die(EX_DATAERR, "token file %s is empty", tokenfile);
	}

	/* Signals go to sigwait below, not to the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((srv = qs_simserve_start(&o, &err)) == NULL)
		qs_die_err(&err);
	if (portfile != NULL) {
		if (qs_atomic_open(&a, portfile, &err) != 0) {
			qs_simserve_stop(srv);
			qs_die_err(&err);
		}
		fprintf(a.fp, "%u\n", qs_simserve_port(srv));
		if (qs_atomic_commit(&a, &err) != 0) {
			qs_simserve_stop(srv);
			qs_die_err(&err);
		}
	}
	printf("qs-sim: serving deployment %s in namespace %s on %s://%s\n",
	    o.deployment, o.namespace, cert ? "https" : "http",
	    qs_simserve_addr(srv));
	fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	qs_simserve_stop(srv);
	if (portfile != NULL)
		unlink(portfile);
	free(rows);
	free(cert);
	free(key);
	free(token);
	return qs_fshut_stdout();
}

int
main(int argc, char *argv[])
{
	qs_setprogname(argv[0]);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "--help") == 0)
		help(USAGE "\n"
		    "Simulate a deployment under a workload trace.  Commands:\n\n"
		    "  serve   stand in for a cluster: Kubernetes API and /metrics\n"
		    "  train   learn a Q-table offline over a trace\n"
		    "  eval    run a policy over a trace and print its figures\n\n"
		    "Run qs-sim COMMAND --help for a command's options.\n");
	if (strcmp(argv[1], "--version") == 0) {
		qs_print_version();
		return qs_fshut_stdout();
	}
	if (strcmp(argv[1], "train") == 0)
		return train(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return eval(argc - 1, argv + 1);
	/* getopt's messages then name the command: "qs-sim serve: ...". */
	if (strcmp(argv[1], "serve") == 0) {
		argv[1] = "qs-sim serve";
		return serve(argc - 1, argv + 1);
	}
	qs_warn("unknown command %s", argv[1]);
	usage();
}
