/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/file.h"
#include "qs/meta.h"
#include "qs/opt.h"
#include "qs/table.h"

#define USAGE "usage: qs-init-table [-f] [--ideal-latency ms] [--latency-buckets n]\n" \
	"       [--latency-width ms] [--layout notebook|visits] [--max-replicas n]\n" \
	"       [--min-replicas n] [-o file] [--period s]\n" \
	"       [--request-buckets n] [--request-width n] [--window s]\n"

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
	    "Write a fresh Q-table of zeros as CSV; with -o, and FILE.meta beside\n"
	    "it: what the table is built for.\n\n"
	    "  -f, --force             replace an existing output file\n"
	    "      --ideal-latency ms  the SLO the table learns for (500,\n"
	    "                          QS_IDEAL_LATENCY)\n"
	    "      --latency-buckets n number of latency buckets (4)\n"
	    "      --latency-width ms  width of a latency bucket in ms (500)\n"
	    "      --layout l          visits: a last column counting each state's\n"
	    "                          updates (the default); notebook: without it\n"
	    "      --max-replicas n    highest replica count (3, QS_MAX_REPLICAS)\n"
	    "      --min-replicas n    lowest replica count (1, QS_MIN_REPLICAS)\n"
	    "  -o, --output file       write to file, crash-safely, not stdout\n"
	    "      --period s          seconds between decisions (QS_PERIOD;\n"
	    "                          recorded only when given)\n"
	    "      --request-buckets n number of request buckets (3)\n"
	    "      --request-width n   width of a request bucket (18)\n"
	    "      --window s          seconds the requests field counts (30,\n"
	    "                          QS_WINDOW)\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "ideal-latency", required_argument, NULL, 'i' },
		{ "latency-buckets", required_argument, NULL, 'L' },
		{ "latency-width", required_argument, NULL, 'l' },
		{ "layout", required_argument, NULL, 'y' },
		{ "max-replicas", required_argument, NULL, 'M' },
		{ "min-replicas", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "period", required_argument, NULL, 'p' },
		{ "request-buckets", required_argument, NULL, 'R' },
		{ "request-width", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_atomic a, ma;
	struct qs_meta meta = { 0 };
	struct qs_table *t;
	struct stat st;
	const char *output = NULL, *s, *metaopt = NULL;
	const char *minsrc = "--min-replicas", *maxsrc = "--max-replicas";
	char *metapath;
	long minr, maxr, latw = 500, latn = 4, reqw = 18, reqn = 3;
	double window = 30, period = 0, ideal = 500;
	int c, force = 0, visits = 1;

	qs_setprogname(argv[0]);
	/* The facts of the deployment's configuration; options win. */
	minr = qs_env_long("QS_MIN_REPLICAS", 1, 0, 100000, &minsrc);
	maxr = qs_env_long("QS_MAX_REPLICAS", 3, 0, 100000, &maxsrc);
	if ((s = qs_env("QS_WINDOW", NULL)) != NULL)
		window = qs_opt_double("QS_WINDOW", s, 1e-3, 1e9);
	if ((s = qs_env("QS_PERIOD", NULL)) != NULL)
		period = qs_opt_double("QS_PERIOD", s, 1e-3, 1e9);
	if ((s = qs_env("QS_IDEAL_LATENCY", NULL)) != NULL)
		ideal = qs_opt_double("QS_IDEAL_LATENCY", s, 0, 1e9);
	while ((c = getopt_long(argc, argv, "fo:", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = 1;
			break;
		case 'h':
			help();
			break;
		case 'i':
			metaopt = "--ideal-latency";
			ideal = qs_opt_double("--ideal-latency", optarg, 0, 1e9);
			break;
		case 'L':
			latn = qs_opt_long("--latency-buckets", optarg, 1, 100000);
			break;
		case 'l':
			latw = qs_opt_long("--latency-width", optarg, 1, 100000000);
			break;
		case 'M':
			maxr = qs_opt_long("--max-replicas", optarg, 0, 100000);
			maxsrc = "--max-replicas";
			break;
		case 'm':
			minr = qs_opt_long("--min-replicas", optarg, 0, 100000);
			minsrc = "--min-replicas";
			break;
		case 'o':
			output = optarg;
			break;
		case 'p':
			metaopt = "--period";
			period = qs_opt_double("--period", optarg, 1e-3, 1e9);
			break;
		case 'R':
			reqn = qs_opt_long("--request-buckets", optarg, 1, 100000);
			break;
		case 'r':
			reqw = qs_opt_long("--request-width", optarg, 1, 100000000);
			break;
		case 'y':
			if (strcmp(optarg, "notebook") == 0)
				visits = 0;
			else if (strcmp(optarg, "visits") == 0)
				visits = 1;
			else
				qs_die(EX_USAGE, "invalid --layout: %s (notebook or "
				    "visits)", optarg);
			break;
		case 'V':
			qs_print_version();
			return qs_fshut_stdout();
		case 'w':
			metaopt = "--window";
			window = qs_opt_double("--window", optarg, 1e-3, 1e9);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0) {
		qs_warn("unexpected operand: %s", argv[0]);
		usage();
	}
	if (maxr < minr)
		qs_die(EX_USAGE, "%s %ld is below %s %ld", maxsrc, maxr, minsrc,
		    minr);
	if (force && output == NULL)
		qs_die(EX_USAGE, "--force needs --output");
	if (metaopt != NULL && output == NULL)
		qs_die(EX_USAGE, "%s is recorded in the output's metadata: it "
		    "needs --output", metaopt);

	if ((t = qs_table_new(minr, maxr, latw, latn, reqw, reqn, &err)) == NULL)
		qs_die_err(&err);
	if (visits)
		qs_table_add_visits(t);
	if (output == NULL) {
		if (qs_table_write(t, stdout) != 0)
			qs_die(EX_IOERR, "cannot write standard output:");
		qs_table_free(t);
		return qs_fshut_stdout();
	}
	if (!force && lstat(output, &st) == 0)
		qs_die(EX_CANTCREAT, "cannot create %s: File exists (use --force)",
		    output);
	if (qs_atomic_open(&a, output, &err) != 0)
		qs_die_err(&err);
	if (qs_table_write(t, a.fp) != 0) {
		qs_atomic_abort(&a);
		qs_die(EX_IOERR, "cannot write %s:", output);
	}
	/*
	 * Both files are written and synced first.  The old metadata goes
	 * before the new table shows, so that a run killed between the two
	 * renames leaves a table without metadata (checked against nothing),
	 * never one described by another table's.
	 */
	qs_meta_describe(&meta, t->pod_min, t->pod_max, window, period, ideal,
	    "q");
	metapath = qs_meta_path(output);
	if (qs_atomic_sync(&a, &err) != 0 ||
	    qs_meta_save_prepare(&meta, output, &ma, &err) != 0) {
		qs_atomic_abort(&a);
		qs_die_err(&err);
	}
	if (unlink(metapath) != 0 && errno != ENOENT) {
		qs_atomic_abort(&ma);
		qs_atomic_abort(&a);
		qs_die(EX_CANTCREAT, "cannot replace %s:", metapath);
	}
	if (qs_atomic_commit(&a, &err) != 0) {
		qs_atomic_abort(&ma);
		qs_die_err(&err);
	}
	if (qs_atomic_commit(&ma, &err) != 0)
		qs_die_err(&err);
	free(metapath);
	qs_meta_free(&meta);
	qs_table_free(t);
	return qs_fshut_stdout();
}
