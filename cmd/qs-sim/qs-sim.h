/* See LICENSE file for copyright and license details. */
#ifndef QS_SIM_CMD_H
#define QS_SIM_CMD_H

/*
 * qs-sim's private header: what its subcommands, one file each, share.
 */
#include "qs/learn.h"
#include "qs/sim.h"

/*
 * qs-sim is one program with a subcommand per use of the model; each
 * subcommand parses its own options in a function of its own.
 */
#define USAGE_SERVE "usage: qs-sim serve [--deployment name] [--interval s] " \
	"[--label name=value]\n" \
	"       [--listen addr:port] [--metric-prefix p]\n" \
	"       [--namespace ns] [--noise x] [--port-file file] [--rate r]\n" \
	"       [--replicas n] [--scale f] [--seed n] [--startup-delay s]\n" \
	"       [--tick s] [--tls-cert file --tls-key file] [--token-file file]\n" \
	"       [--trace file]\n"
#define USAGE "usage: qs-sim serve [option ...]\n" \
	"       qs-sim train [option ...] --table file --trace file\n" \
	"       qs-sim eval [option ...] --policy policy --trace file\n"

#define TRAIN_USAGE "usage: qs-sim train [--alpha a] [--base-latency ms]\n" \
	"       [--capacity rate]\n" \
	"       [--compat notebook] [--cost-weights perf,res,adp] [--epochs n] [--epsilon e]\n" \
	"       [--gamma g] [--history file] [--ideal-latency ms] [--interval s]\n" \
	"       [--latency-buckets n] [--latency-model linear | queue]\n" \
	"       [--latency-width ms] [--max-replicas n]\n" \
	"       [--min-replicas n] [--noise sd] [--observation-delay s]\n" \
	"       [--peak-replicas n | --scale x]\n" \
	"       [--period s] [--replicas n] [--request-buckets n]\n" \
	"       [--request-width n]\n" \
	"       [--reward notebook | cost] [--seed n] [--startup-delay s]\n" \
	"       [--substep s] [--wait s] [--window s] [--fit-out file]\n" \
	"       [--learner model | q] [--horizon s] [--slo-weight w]\n" \
	"       [--level-window s] --table file --trace file | --observations file\n"

#define EVAL_USAGE "usage: qs-sim eval [--alpha a] [--base-latency ms]\n" \
	"       [--capacity rate] [--compat notebook]\n" \
	"       [--cost-weights perf,res,adp] [--floor-margin m] [--gamma g]\n" \
	"       [--hpa-sync s]\n" \
	"       [--hpa-target rate] [--hpa-tolerance x] [--hpa-window s]\n" \
	"       [--ideal-latency ms]\n" \
	"       [--interval s] [--latency-model linear | queue] [--learn]\n" \
	"       [--max-replicas n] [--merit] [--min-replicas n]\n" \
	"       [--no-adapt] [--noise sd] [--observation-delay s]\n" \
	"       [--peak-replicas n | --scale x] [--period s]\n" \
	"       [--replicas n]\n" \
	"       [--reward notebook | cost] [--seed n] [--series file]\n" \
	"       [--startup-delay s] [--substep s] [--unlearned hold | hpa]\n" \
	"       [--window s] [--fit-out file] [--record file]\n" \
	"       --policy policy --trace file | --observations file\n"

#define MODEL_HELP \
	"      --capacity rate     requests/s a replica serves at the ideal (0.353)\n" \
	"      --compat notebook   the table decides as the notebook: exploring\n" \
	"                          over every action, ties to the lowest\n" \
	"      --cost-weights p,r,a weights of the cost reward (0.9,0.09,0.01)\n" \
	"      --ideal-latency ms  the ideal latency, the SLO (500)\n" \
	"      --interval s        seconds per trace row (60)\n" \
	"      --noise sd          relative standard deviation of latency (0.05)\n" \
	"      --peak-replicas n   rescale the trace so its peak needs n replicas\n" \
	"      --replicas n        replicas ready at the start (min replicas)\n" \
	"      --reward rule       notebook or cost (notebook)\n" \
	"      --scale x           multiply the trace's requests by x (1)\n" \
	"      --startup-delay s   seconds before a new replica is ready (60)\n" \
	"      --window s          observation window in seconds (30)\n" \
	"      --observations file fit the model to past observations and use\n" \
	"                          their requests as the trace\n" \
	"      --fit-out file      write the fitted model there (standard error)\n" \
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
	struct qs_reward reward;	/* its ideal the model's */
	int seed_given;
	unsigned long long seed;
	double *values;
	size_t n;
	/* --observations: the model fitted to them (fit.h). */
	const char *observations, *fit_out;
	const char *fitted_given;	/* an option the fit replaces, or NULL */
	enum qs_compat compat;	/* the table policy's decision rules */
};

enum {
	OPT_ALPHA = 256, OPT_CAPACITY, OPT_COST_WEIGHTS, OPT_EPOCHS,
	OPT_EPSILON, OPT_GAMMA, OPT_HELP, OPT_HISTORY, OPT_HPA_TARGET,
	OPT_HPA_SYNC, OPT_HPA_TOLERANCE, OPT_HPA_WINDOW, OPT_IDEAL, OPT_INTERVAL,
	OPT_LAT_BUCKETS, OPT_LAT_WIDTH, OPT_LEARN, OPT_MAX_REPLICAS,
	OPT_MIN_REPLICAS, OPT_NOISE, OPT_PEAK, OPT_PERIOD, OPT_POLICY, OPT_REPLICAS,
	OPT_REQ_BUCKETS, OPT_REQ_WIDTH, OPT_REWARD, OPT_SCALE, OPT_SEED,
	OPT_SERIES, OPT_STARTUP, OPT_TABLE, OPT_TRACE, OPT_VERSION,
	OPT_WINDOW,
	/* The model's latency and eval's integration (issue 14). */
	OPT_BASE, OPT_LATENCY_MODEL, OPT_SUBSTEP, OPT_OBS_DELAY, OPT_MERIT,
	OPT_OBSERVATIONS, OPT_FIT_OUT,
	OPT_COMPAT, OPT_UNLEARNED, OPT_FLOOR_MARGIN,
	/* The model-based learner (issue 15). */
	OPT_RECORD, OPT_LEARNER, OPT_HORIZON, OPT_SLO_WEIGHT,
	OPT_LEVEL_WINDOW, OPT_NO_ADAPT, OPT_WAIT
};

/* The usage text usage() prints: the subcommand's, once it is known. */
extern const char *usage_text;

_Noreturn void usage(void);
_Noreturn void help(const char *text);
void common_init(struct common *c);
int common_option(struct common *c, int opt, const char *arg);
void common_finish(struct common *c);
void common_fit(struct common *c);

int sim_train(int argc, char *argv[]);
int sim_eval(int argc, char *argv[]);
int sim_serve(int argc, char *argv[]);

#endif
