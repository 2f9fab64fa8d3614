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
#include "qs/plan.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simserve.h"
#include "qs/level.h"
#include "qs/table.h"
#include "qs/xalloc.h"
#include "qs-sim.h"

int
sim_eval(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "alpha", required_argument, NULL, OPT_ALPHA },
		{ "base-latency", required_argument, NULL, OPT_BASE },
		{ "capacity", required_argument, NULL, OPT_CAPACITY },
		{ "cost-weights", required_argument, NULL, OPT_COST_WEIGHTS },
		{ "fit-out", required_argument, NULL, OPT_FIT_OUT },
		{ "gamma", required_argument, NULL, OPT_GAMMA },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "floor-margin", required_argument, NULL, OPT_FLOOR_MARGIN },
		{ "hpa-sync", required_argument, NULL, OPT_HPA_SYNC },
		{ "hpa-target", required_argument, NULL, OPT_HPA_TARGET },
		{ "hpa-tolerance", required_argument, NULL, OPT_HPA_TOLERANCE },
		{ "hpa-window", required_argument, NULL, OPT_HPA_WINDOW },
		{ "ideal-latency", required_argument, NULL, OPT_IDEAL },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "compat", required_argument, NULL, OPT_COMPAT },
		{ "latency-model", required_argument, NULL, OPT_LATENCY_MODEL },
		{ "learn", no_argument, NULL, OPT_LEARN },
		{ "merit", no_argument, NULL, OPT_MERIT },
		{ "no-adapt", no_argument, NULL, OPT_NO_ADAPT },
		{ "observation-delay", required_argument, NULL, OPT_OBS_DELAY },
		{ "unlearned", required_argument, NULL, OPT_UNLEARNED },
		{ "max-replicas", required_argument, NULL, OPT_MAX_REPLICAS },
		{ "min-replicas", required_argument, NULL, OPT_MIN_REPLICAS },
		{ "noise", required_argument, NULL, OPT_NOISE },
		{ "observations", required_argument, NULL, OPT_OBSERVATIONS },
		{ "peak-replicas", required_argument, NULL, OPT_PEAK },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "replicas", required_argument, NULL, OPT_REPLICAS },
		{ "reward", required_argument, NULL, OPT_REWARD },
		{ "scale", required_argument, NULL, OPT_SCALE },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "series", required_argument, NULL, OPT_SERIES },
		{ "startup-delay", required_argument, NULL, OPT_STARTUP },
		{ "substep", required_argument, NULL, OPT_SUBSTEP },
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
	const char *recordp = NULL;
	struct qs_plan model;
	char *mpath = NULL;
	struct qs_atomic record;
	struct qs_simeval_merit m;
	struct qs_simeval_point *pts = NULL;
	size_t npts = 0, i;
	double target = -1;
	int opt, merit = 0, noadapt = 0;

	usage_text = EVAL_USAGE;
	common_init(&c);
	qs_simeval_defaults(&o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_option(&c, opt, optarg))
			continue;
		switch (opt) {
		case OPT_ALPHA:
			o.lp.alpha = qs_opt_double("--alpha", optarg, 0, 1);
			break;
		case OPT_GAMMA:
			o.lp.gamma = qs_opt_double("--gamma", optarg, 0, 1);
			break;
		case OPT_HELP:
			help(EVAL_USAGE "\n"
			    "Run a scaling policy over a workload trace and print "
			    "its figures as JSON.\nPolicies: table:FILE (greedy), "
			    "hpa (the Kubernetes HPA algorithm),\nstatic:N, oracle "
			    "(the fewest replicas meeting the ideal, with hindsight,\n"
			    "started a start-up delay ahead), hpa-sweep (HPA tuned "
			    "over a grid: its frontier).\n\n"
			    "      --alpha a           learning rate with --learn (0.1)\n"
			    "      --base-latency ms   latency with no load (283)\n"
			    "      --floor-margin m    table: never below ceil(m x the HPA\n"
			    "                          formula's answer at --hpa-target)\n"
			    "      --gamma g           discount factor with --learn (0.6)\n"
			    "      --hpa-sync s        hpa: seconds between reconciliations "
			    "(15)\n"
			    "      --hpa-target rate   hpa: requests/s per replica "
			    "(--capacity)\n"
			    "      --hpa-tolerance x   hpa: tolerance (0.1)\n"
			    "      --hpa-window s      hpa: scale-down stabilization "
			    "(300)\n"
			    "      --latency-model m   linear or queue (M/M/1, backlog) "
			    "(linear)\n"
			    "      --learn             table: keep learning while it runs\n"
			    "                          (Q-learning; a planned table's model\n"
			    "                          learns online unless --no-adapt)\n"
			    "      --max-replicas n    hpa, oracle: highest count (100)\n"
			    "      --merit             add the figure of merit against "
			    "tuned HPA and the oracle\n"
			    "      --min-replicas n    hpa, oracle: lowest count (1)\n"
			    "      --no-adapt          table: decide from it as it is, its\n"
			    "                          model (FILE.model) not learning online\n"
			    "      --observation-delay s  metrics as of s seconds ago (0)\n"
			    "      --period s          table: seconds between decisions "
			    "(--interval)\n"
			    "      --policy policy     the policy to run\n"
			    "      --record file       write each decision's observation\n"
			    "                          (time,pod,latency,requests)\n"
			    "      --seed n            seed of the noise (1)\n"
			    "      --series file       write t,requests,latency,replicas "
			    "per interval\n"
			    "      --substep s         seconds per sub-step the figures "
			    "count (15)\n"
			    "      --trace file        CSV t,requests\n"
			    "      --unlearned r       table: a state with nothing learned\n"
			    "                          holds or takes the HPA formula's\n"
			    "                          answer at --hpa-target (hold)\n"
			    MODEL_HELP);
			break;
		case OPT_FLOOR_MARGIN:
			o.rules.floor_margin = qs_opt_double("--floor-margin", optarg,
			    0, 1e6);
			break;
		case OPT_UNLEARNED:
			if (qs_policy_unlearned_parse(optarg, &o.rules.unlearned) != 0)
				qs_die(EX_USAGE, "invalid --unlearned: %s (hold or hpa)",
				    optarg);
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
		case OPT_MERIT:
			merit = 1;
			break;
		case OPT_NO_ADAPT:
			noadapt = 1;
			break;
		case OPT_OBS_DELAY:
			o.observation_delay = qs_opt_double("--observation-delay",
			    optarg, 0, 1e7);
			break;
		case OPT_SUBSTEP:
			o.substep = qs_opt_double("--substep", optarg, 1e-3, 1e7);
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
		case OPT_RECORD:
			recordp = optarg;
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
	if (policy == NULL) {
		qs_warn("%s", "--policy is required");
		usage();
	}
	if (qs_simeval_policy_parse(policy, &o, &path, &err) != 0) {
		qs_warn("%s", err.msg);
		usage();
	}
	if (o.policy == QS_POLICY_HPA_SWEEP && (merit || seriesp != NULL ||
	    recordp != NULL)) {
		qs_warn("%s", "--policy hpa-sweep takes neither --merit nor "
		    "--series nor --record");
		usage();
	}
	if (o.learn && o.policy != QS_POLICY_TABLE) {
		qs_warn("%s", "--learn needs --policy table:FILE");
		usage();
	}
	if (noadapt && o.policy != QS_POLICY_TABLE) {
		qs_warn("%s", "--no-adapt needs --policy table:FILE");
		usage();
	}
	common_finish(&c);

	/* The table decides on the level it was planned for, as qs-decide. */
	if (path != NULL && ((o.table = qs_table_load(path, &err)) == NULL ||
	    qs_level_setting(path, NULL, NULL, &o.level_window, &err) != 0))
		qs_die_err(&err);
	/*
	 * As in qs-decide, a planned table's model learns the load online.
	 * A planned table is not Q-learned, with --no-adapt either: its
	 * values are the model's, as qs-update keeps them.
	 */
	if (path != NULL && (mpath = qs_plan_path(path)) != NULL &&
	    access(mpath, F_OK) == 0) {
		o.learn = 0;
		if (!noadapt) {
			if (qs_plan_load(&model, mpath, &err) != 0)
				qs_die_err(&err);
			o.model = &model;
		}
	}
	o.reward = c.reward;
	if (o.table != NULL)
		o.reward.cost.max_replicas = o.table->act[o.table->nact - 1];
	o.window = c.window;
	o.rules.compat = c.compat;
	o.seed = c.seed;
	o.min_replicas = c.min_replicas;
	if (c.max_replicas > 0)
		o.max_replicas = c.max_replicas;
	o.hpa.min_replicas = o.min_replicas;
	o.hpa.max_replicas = o.max_replicas;
	o.hpa.target = target > 0 ? target : c.p.capacity;
	/* The table's HPA formula is the hpa policy's, at its target. */
	o.rules.hpa_target = o.hpa.target;
	o.replicas = c.replicas >= 0 ? c.replicas : c.min_replicas;
	if (seriesp != NULL) {
		if (qs_atomic_open(&series, seriesp, &err) != 0)
			qs_die_err(&err);
		o.series = series.fp;
	}
	if (recordp != NULL) {
		if (qs_atomic_open(&record, recordp, &err) != 0) {
			if (seriesp != NULL)
				qs_atomic_abort(&series);
			qs_die_err(&err);
		}
		o.record = record.fp;
	}
	if (o.policy == QS_POLICY_HPA_SWEEP) {
		if (qs_simeval_sweep(&c.p, c.values, c.n, &o, &pts, &npts,
		    &err) != 0)
			qs_die_err(&err);
		for (i = 0; i < npts; i++)
			if (qs_simeval_print_point(stdout, &pts[i]) != 0)
				qs_die(EX_IOERR, "cannot write standard output:");
		free(pts);
		free(c.values);
		return qs_fshut_stdout();
	}
	if (qs_simeval_run(&c.p, c.values, c.n, &o, &res, &err) != 0) {
		if (seriesp != NULL)
			qs_atomic_abort(&series);
		if (recordp != NULL)
			qs_atomic_abort(&record);
		qs_die_err(&err);
	}
	if (seriesp != NULL && qs_atomic_commit(&series, &err) != 0) {
		if (recordp != NULL)
			qs_atomic_abort(&record);
		qs_die_err(&err);
	}
	if (recordp != NULL && qs_atomic_commit(&record, &err) != 0)
		qs_die_err(&err);
	if (merit && qs_simeval_merit(&c.p, c.values, c.n, &o, &res, &m,
	    &err) != 0)
		qs_die_err(&err);
	if ((merit ? qs_simeval_print_merit(stdout, &res, &m) :
	    qs_simeval_print(stdout, &res)) != 0)
		qs_die(EX_IOERR, "cannot write standard output:");
	if (res.clamped)
		qs_warn("some observations fell outside %s's buckets and were "
		    "counted in the edge buckets", path);
	if (res.dropped > 0)
		qs_warn("%ld of %ld transitions dropped: pods not ready",
		    res.dropped, res.transitions);
	qs_table_free(o.table);
	free(mpath);
	free(c.values);
	return qs_fshut_stdout();
}
