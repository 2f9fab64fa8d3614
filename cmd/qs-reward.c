/* See LICENSE file for copyright and license details. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/learn.h"
#include "qs/opt.h"
#include "qs/record.h"

#define USAGE "usage: qs-reward [--cost-weights perf,res,adp] [--format json|csv]\n" \
	"       [--ideal-latency ms] [--max-replicas n] [--rules notebook|cost]\n" \
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
	    "Read transitions with pod, action (or applied), latency and\n"
	    "new_latency; add the reward the rule set gives them.\n\n"
	    "      --cost-weights p,r,a  weights of the cost rules (0.9,0.09,0.01)\n"
	    "      --format f          output json or csv (default: as the input)\n"
	    "      --ideal-latency ms  the latency objective (500, QS_IDEAL_LATENCY)\n"
	    "      --max-replicas n    the cost rules' replica budget (QS_MAX_REPLICAS)\n"
	    "      --rules name        notebook (the default) or cost\n"
	    "      --unbuffered        flush each record as it is written\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/* Add the reward to rec (borrowed); a qs_records_filter callback. */
static int
reward(json_t *rec, long line, void *arg, struct qs_err *err)
{
	const struct qs_reward *r = arg;
	double lat, newlat;
	long pod, action;

	(void)line;
	if (qs_rec_long(rec, "pod", 0, QS_POD_MAX, &pod, err) != 0 ||
	    qs_rec_applied(rec, &action, err) != 0 ||
	    qs_rec_double(rec, "latency", 0, QS_LATENCY_MAX, &lat, err) != 0 ||
	    qs_rec_double(rec, "new_latency", 0, QS_LATENCY_MAX, &newlat,
	    err) != 0)
		return -1;
	qs_rec_set(rec, "reward", qs_reward_json(r,
	    qs_reward_compute(r, pod, action, lat, newlat)));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cost-weights", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "ideal-latency", required_argument, NULL, 'i' },
		{ "max-replicas", required_argument, NULL, 'm' },
		{ "rules", required_argument, NULL, 'r' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	enum qs_format fmt = QS_FMT_AUTO;
	struct qs_reward r;
	int weights = 0;
	const char *s;
	int c;

	qs_setprogname(argv[0]);
	qs_reward_defaults(&r);
	if ((s = qs_env("QS_IDEAL_LATENCY", NULL)) != NULL)
		r.ideal = qs_opt_double("QS_IDEAL_LATENCY", s, 0, 1e9);
	if ((s = qs_env("QS_MAX_REPLICAS", NULL)) != NULL)
		r.cost.max_replicas = qs_opt_long("QS_MAX_REPLICAS", s, 1, 100000);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (qs_reward_cost_parse(optarg, &r.cost) != 0)
				qs_die(EX_USAGE, "invalid --cost-weights: %s (three "
				    "numbers: perf,res,adp)", optarg);
			weights = 1;
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			break;
		case 'h':
			help();
			break;
		case 'i':
			r.ideal = qs_opt_double("--ideal-latency", optarg, 0, 1e9);
			break;
		case 'm':
			r.cost.max_replicas = qs_opt_long("--max-replicas", optarg, 1,
			    100000);
			break;
		case 'r':
			if (qs_reward_rule_parse(optarg, &r.rule) != 0)
				qs_die(EX_USAGE, "invalid --rules: %s (notebook or cost)",
				    optarg);
			break;
		case 'o':
			qs_records_set_unbuffered(1);
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
	if (r.rule == QS_REWARD_COST && r.cost.max_replicas == 0)
		qs_die(EX_USAGE, "the cost rules need --max-replicas");
	if (r.rule != QS_REWARD_COST && weights)
		qs_die(EX_USAGE, "--cost-weights needs --rules cost");

	if (qs_records_filter(stdin, "<stdin>", stdout, fmt, reward, &r,
	    &err) != 0)
		qs_die_err(&err);
	return qs_fshut_stdout();
}
