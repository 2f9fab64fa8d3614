/* See LICENSE file for copyright and license details. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/learn.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"

#define USAGE "usage: qs-decide [--epsilon p] [--format json|csv] [--seed n]\n" \
	"       --table file\n"

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
	    "from the Q-table (epsilon-greedy) and whether it was random.\n\n"
	    "      --epsilon p     probability of a random action (0.1, QS_EPSILON)\n"
	    "      --format f      output json or csv (default: as the input)\n"
	    "      --seed n        seed the random stream, for reproducible runs\n"
	    "      --table file    the Q-table (QS_TABLE)\n"
	    "      --help          print this help\n"
	    "      --version       print the version\n", stdout);
	exit(qs_fshut_stdout());
}

static void
warn_clamped(const struct qs_table *t, long line, long pod, double lat,
    double req, int clamped)
{
	if (clamped & QS_CLAMP_POD)
		qs_warn("line %ld: pod %ld is outside the table (%ld-%ld), "
		    "using the nearest", line, pod, t->pod_min, t->pod_max);
	if (clamped & QS_CLAMP_LATENCY)
		qs_warn("line %ld: latency %g is outside the table (%ld-%ld), "
		    "using the edge bucket", line, lat, t->lat_lo[0],
		    t->lat_hi[t->nlat - 1]);
	if (clamped & QS_CLAMP_REQUESTS)
		qs_warn("line %ld: requests %g is outside the table (%ld-%ld), "
		    "using the edge bucket", line, req, t->req_lo[0],
		    t->req_hi[t->nreq - 1]);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "epsilon", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "seed", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_reader *r;
	struct qs_writer *w = NULL;
	struct qs_table *t;
	struct qs_rand rng;
	enum qs_format fmt = QS_FMT_AUTO;
	const char *table = qs_env("QS_TABLE", NULL), *seedarg = NULL, *s;
	double epsilon = QS_EPSILON, lat, req;
	unsigned long long seed;
	json_t *rec;
	long pod;
	size_t state;
	int c, rc, col, random, clamped;

	qs_setprogname(argv[0]);
	if ((s = qs_env("QS_EPSILON", NULL)) != NULL)
		epsilon = qs_opt_double("QS_EPSILON", s, 0, 1);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			epsilon = qs_opt_double("--epsilon", optarg, 0, 1);
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			break;
		case 'h':
			help();
			break;
		case 's':
			seedarg = optarg;
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
	if (argc != 0)
		usage();
	if (table == NULL)
		qs_die(EX_USAGE, "no table: give --table or set QS_TABLE");
	seed = seedarg ? (unsigned long long)qs_opt_long("--seed", seedarg, 0,
	    0x7fffffffffffffffL) : qs_rand_entropy();

	if ((t = qs_table_load(table, &err)) == NULL)
		qs_die_err(&err);
	qs_rand_seed(&rng, seed);
	r = qs_reader_new(stdin, "<stdin>");
	while ((rc = qs_reader_next(r, &rec, &err)) == 1) {
		if (qs_rec_long(rec, "pod", 0, 1000000000L, &pod, &err) != 0 ||
		    qs_rec_double(rec, "latency", 0, 1e12, &lat, &err) != 0 ||
		    qs_rec_double(rec, "requests", 0, 1e15, &req, &err) != 0) {
			qs_err_wrap(&err, "invalid record in <stdin>: line %ld",
			    qs_reader_line(r));
			json_decref(rec);
			rc = -1;
			break;
		}
		clamped = 0;
		state = qs_table_state(t, pod, lat, req, &clamped);
		if (clamped)
			warn_clamped(t, qs_reader_line(r), pod, lat, req, clamped);
		col = qs_learn_decide(t, state, epsilon, &rng, &random);
		qs_rec_set(rec, "action", json_integer(t->act[col]));
		qs_rec_set(rec, "random", json_boolean(random));
		if (w == NULL)
			w = qs_writer_new(stdout, fmt != QS_FMT_AUTO ? fmt :
			    qs_reader_format(r));
		rc = qs_writer_put(w, rec, &err);
		json_decref(rec);
		if (rc != 0)
			break;
	}
	qs_reader_free(r);
	qs_writer_free(w);
	qs_table_free(t);
	if (rc < 0)
		qs_die_err(&err);
	return qs_fshut_stdout();
}
