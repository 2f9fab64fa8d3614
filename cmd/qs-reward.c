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

#define USAGE "usage: qs-reward [--format json|csv] [--ideal-latency ms]\n" \
	"       [--rules notebook]\n"

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
	    "Read transitions with pod, action, latency and new_latency; add the\n"
	    "reward the notebook's rules give them.\n\n"
	    "      --format f          output json or csv (default: as the input)\n"
	    "      --ideal-latency ms  the latency objective (500, QS_IDEAL_LATENCY)\n"
	    "      --rules name        the rule set: notebook (the default)\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "ideal-latency", required_argument, NULL, 'i' },
		{ "rules", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_reader *r;
	struct qs_writer *w = NULL;
	enum qs_format fmt = QS_FMT_AUTO;
	double ideal = QS_IDEAL_LATENCY, lat, newlat;
	const char *s;
	json_t *rec;
	long pod, action;
	int c, rc;

	qs_setprogname(argv[0]);
	if ((s = qs_env("QS_IDEAL_LATENCY", NULL)) != NULL)
		ideal = qs_opt_double("QS_IDEAL_LATENCY", s, 0, 1e9);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			break;
		case 'h':
			help();
			break;
		case 'i':
			ideal = qs_opt_double("--ideal-latency", optarg, 0, 1e9);
			break;
		case 'r':
			if (strcmp(optarg, "notebook") != 0)
				qs_die(EX_USAGE, "invalid --rules: %s (notebook)", optarg);
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

	r = qs_reader_new(stdin, "<stdin>");
	while ((rc = qs_reader_next(r, &rec, &err)) == 1) {
		if (qs_rec_long(rec, "pod", 0, 1000000000L, &pod, &err) != 0 ||
		    qs_rec_long(rec, "action", 0, 1000000000L, &action, &err) != 0 ||
		    qs_rec_double(rec, "latency", 0, 1e12, &lat, &err) != 0 ||
		    qs_rec_double(rec, "new_latency", 0, 1e12, &newlat, &err) != 0) {
			qs_err_wrap(&err, "invalid record in <stdin>: line %ld",
			    qs_reader_line(r));
			json_decref(rec);
			rc = -1;
			break;
		}
		qs_rec_set(rec, "reward", json_integer(qs_reward_notebook(ideal,
		    pod, action, lat, newlat)));
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
	if (rc < 0)
		qs_die_err(&err);
	return qs_fshut_stdout();
}
