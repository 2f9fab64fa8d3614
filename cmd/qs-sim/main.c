/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <errno.h>
#include <math.h>
#include <getopt.h>
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
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simserve.h"
#include "qs/table.h"
#include "qs/xalloc.h"
#include "qs-sim.h"

const char *usage_text = USAGE;

void
usage(void)
{
	fputs(usage_text, stderr);
	exit(EX_USAGE);
}

void
help(const char *text)
{
	fputs(text, stdout);
	exit(qs_fshut_stdout());
}

void
common_init(struct common *c)
{
	memset(c, 0, sizeof(*c));
	qs_sim_defaults(&c->p);
	c->replicas = -1;
	c->min_replicas = 1;
	c->window = 30;
	qs_reward_defaults(&c->reward);
	c->seed = 1;
}

/* Handle an option train and eval share; returns 0 when c is not one. */
int
common_option(struct common *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_CAPACITY:
		c->p.capacity = qs_opt_double("--capacity", arg, 1e-9, 1e12);
		c->fitted_given = "--capacity";
		break;
	case OPT_COMPAT:
		if (strcmp(arg, "notebook") == 0)
			c->compat = QS_COMPAT_NOTEBOOK;
		else if (strcmp(arg, "none") == 0)
			c->compat = QS_COMPAT_NONE;
		else
			qs_die(EX_USAGE, "invalid --compat: %s (notebook or none)",
			    arg);
		break;
	case OPT_COST_WEIGHTS:
		if (qs_reward_cost_parse(arg, &c->reward.cost) != 0)
			qs_die(EX_USAGE, "invalid --cost-weights: %s (three numbers: "
			    "perf,res,adp)", arg);
		break;
	case OPT_IDEAL:
		c->p.ideal = qs_opt_double("--ideal-latency", arg, 1, 1e7);
		break;
	case OPT_INTERVAL:
		c->p.interval = qs_opt_double("--interval", arg, 1e-3, 1e7);
		c->fitted_given = "--interval";
		break;
	case OPT_MAX_REPLICAS:
		c->max_replicas = qs_opt_long("--max-replicas", arg, 1, 100000);
		break;
	case OPT_MIN_REPLICAS:
		c->min_replicas = qs_opt_long("--min-replicas", arg, 0, 100000);
		break;
	case OPT_NOISE:
		c->p.noise = qs_opt_double("--noise", arg, 0, 10);
		c->fitted_given = "--noise";
		break;
	case OPT_PEAK:
		c->peak_replicas = (double)qs_opt_long("--peak-replicas", arg, 1,
		    100000);
		break;
	case OPT_REPLICAS:
		c->replicas = qs_opt_long("--replicas", arg, 0, 100000);
		break;
	case OPT_REWARD:
		if (qs_reward_rule_parse(arg, &c->reward.rule) != 0)
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
	case OPT_BASE:
		c->p.base = qs_opt_double("--base-latency", arg, 1e-3, 1e7);
		break;
	case OPT_LATENCY_MODEL:
		if (strcmp(arg, "linear") == 0)
			c->p.latency_model = QS_LATENCY_LINEAR;
		else if (strcmp(arg, "queue") == 0)
			c->p.latency_model = QS_LATENCY_QUEUE;
		else
			qs_die(EX_USAGE, "invalid --latency-model: %s (linear or "
			    "queue)", arg);
		c->fitted_given = "--latency-model";
		break;
	case OPT_OBSERVATIONS:
		c->observations = arg;
		break;
	case OPT_FIT_OUT:
		c->fit_out = arg;
		break;
	default:
		return 0;
	}
	return 1;
}

/*
 * Say the factor --peak-replicas put on the requests, so that a user can
 * see what a trained table's request buckets are in live units.
 */
static void
peak_report(const struct common *c)
{
	char f[QS_NUM_MAX];

	qs_num_format(f, c->p.scale);
	qs_warn("--peak-replicas %.0f: requests scaled by %s", c->peak_replicas,
	    f);
}

/* Windows of more trace rows than this are refused: each look sums them. */
#define MAX_WINDOW_ROWS 10000.0

/* Refuse a window whose every observation would take long to sum. */
static void
window_check(const struct common *c)
{
	char w[QS_NUM_MAX], r[QS_NUM_MAX];
	double rows = ceil(c->window / c->p.interval);

	if (rows <= MAX_WINDOW_ROWS)
		return;
	qs_num_format(w, c->window);
	qs_num_format(r, rows);
	qs_die(EX_USAGE, "--window %s spans %s trace intervals, too many (at "
	    "most %.0f): choose a shorter --window or a longer --interval", w, r,
	    MAX_WINDOW_ROWS);
}

/* Check what train and eval share, then load and rescale the trace. */
void
common_finish(struct common *c)
{
	struct qs_err err = { 0 };
	double peak;

	if (c->trace == NULL && c->observations == NULL) {
		qs_warn("%s", "--trace or --observations is required");
		usage();
	}
	if (c->peak_replicas > 0 && c->scale_given) {
		qs_warn("%s", "--peak-replicas and --scale exclude each other");
		usage();
	}
	if (c->max_replicas > 0 && c->max_replicas < c->min_replicas)
		qs_die(EX_USAGE, "--max-replicas %ld is below --min-replicas %ld",
		    c->max_replicas, c->min_replicas);
	c->reward.ideal = c->p.ideal;
	if (c->observations != NULL || c->fit_out != NULL) {
		common_fit(c);
		if (qs_sim_check(&c->p, &err) != 0)
			qs_die_err(&err);
		window_check(c);
		return;
	}
	window_check(c);
	if (qs_sim_check(&c->p, &err) != 0)
		qs_die_err(&err);
	if (qs_sim_trace_load(c->trace, &c->values, &c->n, &err) != 0)
		qs_die_err(&err);
	if (c->peak_replicas > 0) {
		peak = qs_sim_trace_peak(c->values, c->n);
		if (peak <= 0)
			qs_die(EX_DATAERR, "--peak-replicas %.0f: cannot rescale "
			    "%s: its peak is 0", c->peak_replicas, c->trace);
		c->p.scale = qs_sim_scale_for_peak(&c->p, peak,
		    (long)c->peak_replicas);
		peak_report(c);
	}
}

int
main(int argc, char *argv[])
{
	qs_setprogname(argv[0]);
	if (argc < 2) {
		qs_warn("%s", "a command is required");
		usage();
	}
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
	/* getopt's messages then name the command: "qs-sim train: ...". */
	if (strcmp(argv[1], "train") == 0) {
		argv[1] = "qs-sim train";
		return sim_train(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "eval") == 0) {
		argv[1] = "qs-sim eval";
		return sim_eval(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "serve") == 0) {
		argv[1] = "qs-sim serve";
		return sim_serve(argc - 1, argv + 1);
	}
	qs_warn("unknown command %s", argv[1]);
	usage();
}

/*
 * --observations: fit the model to them and take their requests as the
 * trace, unscaled; print the fit on standard error or save it in
 * --fit-out.  What the fit sets cannot also be given.
 */
void
common_fit(struct common *c)
{
	struct qs_err err = { 0 };
	struct qs_atomic a;
	struct qs_fit f;
	const char *clash = c->fitted_given;

	if (c->observations == NULL) {
		qs_warn("%s", "--fit-out needs --observations");
		usage();
	}
	if (c->trace != NULL)
		clash = "--trace";
	else if (c->scale_given)
		clash = "--scale";
	else if (c->peak_replicas > 0)
		clash = "--peak-replicas";
	if (clash != NULL) {
		qs_warn("%s and --observations exclude each other: the model "
		    "and the trace are fitted to the observations", clash);
		usage();
	}
	if (!(c->window > 0))
		qs_die(EX_USAGE, "--observations needs the --window their "
		    "requests were counted over, above 0");
	if (qs_fit_load(c->observations, c->window, &c->p, &c->values, &c->n,
	    &f, &err) != 0)
		qs_die_err(&err);
	if (c->fit_out == NULL) {
		if (qs_fit_print(stderr, &f) != 0)
			qs_die(EX_IOERR, "cannot write standard error:");
		return;
	}
	if (qs_atomic_open(&a, c->fit_out, &err) != 0)
		qs_die_err(&err);
	if (qs_fit_print(a.fp, &f) != 0) {
		qs_atomic_abort(&a);
		qs_die(EX_IOERR, "cannot write %s:", c->fit_out);
	}
	if (qs_atomic_commit(&a, &err) != 0)
		qs_die_err(&err);
}
