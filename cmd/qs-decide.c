/* See LICENSE file for copyright and license details. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "qs/cpa.h"
#include "qs/err.h"
#include "qs/learn.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/rand.h"
#include "qs/record.h"
#include "qs/table.h"
#include "qs/xalloc.h"

#define USAGE "usage: qs-decide [--epsilon p] [--format json|csv] [--seed n]\n" \
	"           --table file [--unbuffered]\n" \
	"       qs-decide --cpa [--epsilon p] [--seed n] --table file\n" \
	"       qs-decide --policy [--format json|csv] --table file\n"

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
	    "      --cpa           read a Custom Pod Autoscaler evaluate input and\n"
	    "                      write {\"targetReplicas\":N}, the highest action\n"
	    "                      over its metrics\n"
	    "      --epsilon p     probability of a random action (0.1, QS_EPSILON)\n"
	    "      --format f      output json or csv (default: as the input; csv\n"
	    "                      for --policy)\n"
	    "      --policy        print the table's greedy action for every state\n"
	    "      --seed n        seed the random stream, for reproducible runs\n"
	    "      --table file    the Q-table (QS_TABLE)\n"
	    "      --unbuffered    flush each record as it is written\n"
	    "      --help          print this help\n"
	    "      --version       print the version\n", stdout);
	exit(qs_fshut_stdout());
}

static void
warn_clamped(const struct qs_table *t, const char *where, long pod, double lat,
    double req, int clamped)
{
	if (clamped & QS_CLAMP_POD)
		qs_warn("%s: pod %ld is outside the table (%ld-%ld), "
		    "using the nearest", where, pod, t->pod_min, t->pod_max);
	if (clamped & QS_CLAMP_LATENCY)
		qs_warn("%s: latency %g is outside the table (%ld-%ld), "
		    "using the edge bucket", where, lat, t->lat_lo[0],
		    t->lat_hi[t->nlat - 1]);
	if (clamped & QS_CLAMP_REQUESTS)
		qs_warn("%s: requests %g is outside the table (%ld-%ld), "
		    "using the edge bucket", where, req, t->req_lo[0],
		    t->req_hi[t->nreq - 1]);
}

/*
 * The state of record rec (borrowed); where names it in messages.
 * Returns 0, or -1 with err when a field is missing or out of range.
 */
static int
state_of(const struct qs_table *t, json_t *rec, const char *where,
    size_t *state, struct qs_err *err)
{
	struct qs_obs o;
	int clamped = 0;

	if (qs_rec_obs(rec, "", -1, &o, err) != 0)
		return -1;
	*state = qs_table_state(t, o.pod, o.latency, o.requests, &clamped);
	if (clamped)
		warn_clamped(t, where, o.pod, o.latency, o.requests, clamped);
	return 0;
}

struct decider {
	const struct qs_table *t;
	double epsilon;
	struct qs_rand *rng;
};

/* Add action and random to rec (borrowed); a qs_records_filter callback. */
static int
decide(json_t *rec, long line, void *arg, struct qs_err *err)
{
	struct decider *d = arg;
	size_t state;
	char where[32];
	int col, random;

	snprintf(where, sizeof(where), "line %ld", line);
	if (state_of(d->t, rec, where, &state, err) != 0)
		return -1;
	col = qs_learn_decide(d->t, state, d->epsilon, d->rng, &random);
	qs_rec_set(rec, "action", json_integer(d->t->act[col]));
	qs_rec_set(rec, "random", json_boolean(random));
	return 0;
}

/*
 * Decide for every metric of a Custom Pod Autoscaler evaluate input and
 * write the highest action as CPA's target.  The highest is HPA's rule
 * for several metrics, and the safe one: the metric that needs the most
 * replicas wins.  Returns 0 or -1 with err; nothing is written on error.
 */
static int
decide_cpa(const struct qs_table *t, double epsilon, struct qs_rand *rng,
    struct qs_err *err)
{
	json_t *recs, *rec;
	size_t i, state;
	long target = 0;
	char where[32];
	int col, random;

	if ((recs = qs_cpa_read(stdin, "<stdin>", err)) == NULL)
		return -1;
	json_array_foreach(recs, i, rec) {
		snprintf(where, sizeof(where), "metric %zu", i + 1);
		if (state_of(t, rec, where, &state, err) != 0) {
			qs_err_wrap(err, "invalid CPA input in <stdin>: %s", where);
			json_decref(recs);
			return -1;
		}
		col = qs_learn_decide(t, state, epsilon, rng, &random);
		if (i == 0 || t->act[col] > target)
			target = t->act[col];
	}
	json_decref(recs);
	if (qs_cpa_write(stdout, target) != 0)
		return qs_err_sys(err, EX_IOERR, "cannot write <stdout>");
	return 0;
}

/*
 * Write the greedy action of every state, in the table's row order, as
 * records with the table's state columns.  Returns 0 or -1 with err.
 */
static int
print_policy(const struct qs_table *t, enum qs_format fmt, struct qs_err *err)
{
	struct qs_writer *w;
	json_t *rec;
	size_t *state_at, s, row, per_pod;
	int l, q, rc = 0;

	state_at = xreallocarray(NULL, t->nrows, sizeof(*state_at));
	for (s = 0; s < t->nrows; s++)
		state_at[t->row_of_state[s]] = s;
	per_pod = (size_t)t->nlat * (size_t)t->nreq;
	w = qs_writer_new(stdout, fmt != QS_FMT_AUTO ? fmt : QS_FMT_CSV);
	for (row = 0; row < t->nrows && rc == 0; row++) {
		s = state_at[row];
		l = (int)(s % per_pod / (size_t)t->nreq);
		q = (int)(s % (size_t)t->nreq);
		rec = json_object();
		qs_rec_set(rec, "pod", json_integer(t->pod_min +
		    (long)(s / per_pod)));
		qs_rec_set(rec, "initial_latency", json_integer(t->lat_lo[l]));
		qs_rec_set(rec, "end_latency", json_integer(t->lat_hi[l]));
		qs_rec_set(rec, "initial_request", json_integer(t->req_lo[q]));
		qs_rec_set(rec, "end_request", json_integer(t->req_hi[q]));
		qs_rec_set(rec, "action",
		    json_integer(t->act[qs_table_best(t, s)]));
		rc = qs_writer_put(w, rec, err);
		json_decref(rec);
	}
	qs_writer_free(w);
	free(state_at);
	return rc;
}

/* A decider that loads its table again when it was replaced. */
struct live {
	struct decider *d;
	struct qs_table *t;
	const char *path;
};

static int decide_live(json_t *rec, long line, void *arg, struct qs_err *err);

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cpa", no_argument, NULL, 'c' },
		{ "epsilon", required_argument, NULL, 'e' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "policy", no_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_err err = { 0 };
	struct qs_table *t;
	struct qs_rand rng;
	enum qs_format fmt = QS_FMT_AUTO;
	const char *table = qs_env("QS_TABLE", NULL), *seedarg = NULL, *s;
	const char *epsarg = NULL;
	double epsilon = QS_EPSILON;
	unsigned long long seed;
	int c, rc, cpa = 0, policy = 0, fmtset = 0;

	qs_setprogname(argv[0]);
	if ((s = qs_env("QS_EPSILON", NULL)) != NULL)
		epsilon = qs_opt_double("QS_EPSILON", s, 0, 1);
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cpa = 1;
			break;
		case 'e':
			epsarg = optarg;
			epsilon = qs_opt_double("--epsilon", optarg, 0, 1);
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json or csv)",
				    optarg);
			fmtset = 1;
			break;
		case 'h':
			help();
			break;
		case 'p':
			policy = 1;
			break;
		case 's':
			seedarg = optarg;
			break;
		case 't':
			table = optarg;
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
	if (argc != 0)
		usage();
	if (cpa && policy)
		qs_die(EX_USAGE, "--cpa and --policy cannot be combined");
	if ((cpa || policy) && qs_records_unbuffered())
		qs_die(EX_USAGE, "--unbuffered is for the records filter, not "
		    "--cpa or --policy");
	if (cpa && fmtset)
		qs_die(EX_USAGE, "--format cannot be used with --cpa");
	if (policy && (epsarg != NULL || seedarg != NULL))
		qs_die(EX_USAGE, "--policy is greedy: it takes no --epsilon "
		    "or --seed");
	if (table == NULL)
		qs_die(EX_USAGE, "no table: give --table or set QS_TABLE");
	seed = seedarg ? (unsigned long long)qs_opt_long("--seed", seedarg, 0,
	    0x7fffffffffffffffL) : qs_rand_entropy();

	if ((t = qs_table_load(table, &err)) == NULL)
		qs_die_err(&err);
	qs_rand_seed(&rng, seed);
	if (policy)
		rc = print_policy(t, fmt, &err);
	else if (cpa)
		rc = decide_cpa(t, epsilon, &rng, &err);
	else {
		struct decider d = { t, epsilon, &rng };
		struct live l = { &d, t, table };

		if (qs_records_unbuffered())
			rc = qs_records_filter(stdin, "<stdin>", stdout, fmt,
			    decide_live, &l, &err);
		else
			rc = qs_records_filter(stdin, "<stdin>", stdout, fmt,
			    decide, &d, &err);
		t = l.t;
	}
	qs_table_free(t);
	if (rc < 0)
		qs_die_err(&err);
	return qs_fshut_stdout();
}

/*
 * Decide as decide() does, from the table as it is now: a long-lived
 * qs-decide (--unbuffered, a co-process) sees what qs-update learned
 * since it started.  A table read from a pipe is never loaded again.
 */
static int
decide_live(json_t *rec, long line, void *arg, struct qs_err *err)
{
	struct live *l = arg;
	struct qs_table *t;

	if (l->t->src_fd >= 0 && !qs_table_is_current(l->t, l->path)) {
		/* Not the record's fault: not "invalid record ... line N". */
		if ((t = qs_table_load(l->path, err)) == NULL)
			qs_die_err(err);
		qs_table_free(l->t);
		l->t = t;
		l->d->t = t;
	}
	return decide(rec, line, l->d, err);
}
