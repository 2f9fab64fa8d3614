/* See LICENSE file for copyright and license details. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "qs/err.h"
#include "qs/kube.h"
#include "qs/name.h"
#include "qs/opt.h"
#include "qs/recommend.h"
#include "qs/record.h"

#define USAGE "usage: qs-scale [-n] [--backend api|kubectl|auto] [--cacert file]\n" \
	"       [--deployment name] [--down-window s] [--format json|csv]\n" \
	"       [--insecure-skip-tls-verify] [--max-replicas n] [--max-step n]\n" \
	"       [--max-step-down n] [--max-step-up n] [--min-replicas n]\n" \
	"       [--namespace ns] [--no-events] [--recommendations file]\n" \
	"       [--retries n] [--server url] [--shadow] [--timeout s]\n" \
	"       [--token-file file] [--unbuffered]\n"

/* The guards, and what qs-scale talks to. */
struct scaler {
	struct qs_kube *k;
	const char *ns, *name;
	long min, max;
	/* Where each guard's value came from, an option or QS_*, for messages. */
	const char *min_src, *max_src, *window_src;
	long retries;
	int dry;
	/*
	 * A shadow run decides as a live one, window file included, but
	 * never writes the deployment: recommended is the count it would set.
	 */
	int shadow;
	long recommended;
	/* Separate limits up and down, and the option that set each. */
	long step_up, step_down;
	const char *up_opt, *down_opt;
	/* The scale-down stabilization window: 0 is off. */
	long window;
	const char *recs_path;
	struct qs_recommend recs;
	int have_recs, warned;
	/* Events: on, and what the last scale found and which guard acted. */
	int events;
	long from;
	const char *by;
	char uid[64], evns[64];
};

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
	    "Set a deployment to each record's action replicas, within the guards;\n"
	    "add applied (the count set, or that would be) and scaled.\n\n"
	    "      --backend b         api, kubectl or auto (auto)\n"
	    "      --cacert file       CA certificate(s) to verify the API server\n"
	    "      --deployment name   the deployment (QS_DEPLOYMENT)\n"
	    "      --down-window s     never below the highest recommendation of the\n"
	    "                          last s seconds (300, QS_DOWN_WINDOW; 0: off)\n"
	    "  -n, --dry-run           change nothing; say what would change\n"
	    "      --format f          output json or csv (as the input)\n"
	    "      --insecure-skip-tls-verify  do not verify the API server\n"
	    "      --max-replicas n    never set more replicas than n\n"
	    "                          (QS_MAX_REPLICAS)\n"
	    "      --max-step n        change by at most n replicas at once\n"
	    "      --max-step-down n   scale down by at most n replicas at once\n"
	    "      --max-step-up n     scale up by at most n replicas at once\n"
	    "      --min-replicas n    never set fewer replicas than n (1,\n"
	    "                          QS_MIN_REPLICAS)\n"
	    "      --namespace ns      its namespace (QS_NAMESPACE, default)\n"
	    "      --no-events         post no Kubernetes Events (QS_EVENTS=0)\n"
	    "      --recommendations file  keep the window's recommendations in file\n"
	    "                          (QS_RECOMMENDATIONS)\n"
	    "      --retries n         retries after a conflict (3)\n"
	    "      --server url        the API server (in-cluster when absent)\n"
	    "      --shadow            decide as live, keep the window, never scale:\n"
	    "                          add recommended; applied is the current count\n"
	    "      --timeout s         seconds per API call (10)\n"
	    "      --token-file file   bearer token for the API server\n"
	    "      --unbuffered        flush each record as it is written\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

/*
 * Say what a guard did, as qs_warn; a shadow run, meant to last days
 * beside another scaler, says nothing: its records show what it would do.
 */
static void __attribute__((format(printf, 2, 3)))
guard_warn(const struct scaler *sc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (sc->shadow)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	qs_warn("%s", msg);
}

/*
 * Apply the guards to action for a deployment at cur replicas, hi being
 * the highest recommendation of the down window (-1: none); say on
 * standard error when they changed it.
 */
static long
guard(const struct scaler *sc, long action, long cur, long hi,
    const char **by)
{
	long t = action;

	*by = NULL;
	/* As HPA's: the window holds a scale-down, it never scales up. */
	if (t < cur && hi > t) {
		t = hi < cur ? hi : cur;
		*by = sc->window_src;
		guard_warn(sc, "action %ld for deployment %s held at %ld "
		    "(%s %ld: recommended %ld within it)", action,
		    sc->name, t, sc->window_src, sc->window, hi);
	}
	if (t < sc->min) {
		guard_warn(sc, "action %ld for deployment %s raised to %ld "
		    "(%s)", action, sc->name, sc->min, sc->min_src);
		t = sc->min;
		*by = sc->min_src;
	}
	if (sc->max >= 0 && t > sc->max) {
		guard_warn(sc, "action %ld for deployment %s lowered to %ld "
		    "(%s)", action, sc->name, sc->max, sc->max_src);
		t = sc->max;
		*by = sc->max_src;
	}
	if (sc->step_up > 0 && t > cur + sc->step_up) {
		guard_warn(sc, "action %ld for deployment %s limited to %ld "
		    "(%s %ld from %ld)", action, sc->name,
		    cur + sc->step_up, sc->up_opt, sc->step_up, cur);
		t = cur + sc->step_up;
		*by = sc->up_opt;
	} else if (sc->step_down > 0 && t < cur - sc->step_down) {
		guard_warn(sc, "action %ld for deployment %s limited to %ld "
		    "(%s %ld from %ld)", action, sc->name,
		    cur - sc->step_down, sc->down_opt, sc->step_down, cur);
		t = cur - sc->step_down;
		*by = sc->down_opt;
	}
	return t;
}

/*
 * The down window's highest recommendation, action included, or -1 when
 * there is no window.  The recommendation is kept before any scaling,
 * so that a failure to keep it changes nothing; a dry run keeps it in
 * memory only.  Without a file the window is off, which matters (and is
 * said, once) at the first scale-down.
 */
static int
recommend(struct scaler *sc, long action, long cur, long *hi,
    struct qs_err *err)
{
	*hi = -1;
	if (sc->window == 0)
		return 0;
	if (!sc->have_recs) {
		if (!sc->warned && action < cur)
			qs_warn("%s %ld has no memory without "
			    "--recommendations: no window applied",
			    sc->window_src, sc->window);
		sc->warned |= action < cur;
		return 0;
	}
	qs_recommend_move(&sc->recs, (long)time(NULL));
	qs_recommend_add(&sc->recs, action);
	*hi = qs_recommend_max(&sc->recs);
	if (!sc->dry && qs_recommend_save(&sc->recs, sc->recs_path, err) != 0)
		return -1;
	return 0;
}

/*
 * Scale for one action.  The deployment is read again after a conflict,
 * so the guards always hold against its current count.  Sets *scaled and
 * *applied, the count set or, for a dry run or no change, that would be;
 * a shadow run sets *applied to the current count, what is really in
 * place, and sc->recommended to the count it would set.
 */
static int
scale(struct scaler *sc, long action, int *scaled, long *applied,
    struct qs_err *err)
{
	struct qs_kube_scale cur;
	long target, attempt, hi = -1;
	int http;

	*scaled = 0;
	for (attempt = 0; ; attempt++) {
		if (qs_kube_get_scale(sc->k, sc->ns, sc->name, &cur, &http,
		    err) != 0)
			return qs_err_wrap(err, "cannot get deployment %s",
			    sc->name);
		/* Once per record, whatever the retries. */
		if (attempt == 0 && recommend(sc, action, cur.replicas, &hi, err) != 0)
			return -1;
		target = guard(sc, action, cur.replicas, hi, &sc->by);
		*applied = target;
		sc->recommended = target;
		sc->from = cur.replicas;
		snprintf(sc->uid, sizeof(sc->uid), "%s", cur.uid);
		snprintf(sc->evns, sizeof(sc->evns), "%s", cur.namespace);
		if (sc->shadow) {
			*applied = cur.replicas;
			return 0;
		}
		if (target == cur.replicas)
			return 0;
		if (sc->dry) {
			qs_warn("dry run: would scale deployment %s from %ld to "
			    "%ld replicas", sc->name, cur.replicas, target);
			return 0;
		}
		if (qs_kube_set_replicas(sc->k, sc->ns, sc->name, target,
		    cur.version, &http, err) == 0) {
			*scaled = 1;
			return 0;
		}
		if (http != 409 || attempt >= sc->retries)
			break;
	}
	if (http == 409 && attempt > 0)
		qs_err_wrap(err, "cannot scale deployment %s to %ld replicas "
		    "after %ld retries", sc->name, target, attempt);
	else
		qs_err_wrap(err, "cannot scale deployment %s to %ld replicas",
		    sc->name, target);
	return -1;
}

static void post_event(struct scaler *sc, json_t *rec, long action,
    long applied, int scaled);

/* Scale to rec's action, add applied and scaled; a qs_records_filter callback. */
static int
scale_record(json_t *rec, long line, void *arg, struct qs_err *err)
{
	struct scaler *sc = arg;
	long action, applied = 0;
	int scaled;

	(void)line;
	if (qs_rec_long(rec, "action", 0, QS_RECOMMEND_COUNT_MAX, &action,
	    err) != 0)
		return -1;
	if (scale(arg, action, &scaled, &applied, err) != 0)
		return -1;
	post_event(arg, rec, action, applied, scaled);
	if (sc->shadow)
		qs_rec_set(rec, "recommended", json_integer(sc->recommended));
	qs_rec_set(rec, "applied", json_integer(applied));
	qs_rec_set(rec, "scaled", json_boolean(scaled));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "deployment", required_argument, NULL, 'd' },
		{ "down-window", required_argument, NULL, 'w' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "insecure-skip-tls-verify", no_argument, NULL, 'k' },
		{ "max-replicas", required_argument, NULL, 'M' },
		{ "max-step", required_argument, NULL, 'S' },
		{ "max-step-down", required_argument, NULL, 'D' },
		{ "max-step-up", required_argument, NULL, 'U' },
		{ "min-replicas", required_argument, NULL, 'm' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "no-events", no_argument, NULL, 'E' },
		{ "recommendations", required_argument, NULL, 'R' },
		{ "retries", required_argument, NULL, 'r' },
		{ "server", required_argument, NULL, 's' },
		{ "shadow", no_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "unbuffered", no_argument, NULL, 'o' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_kube_opts ko = { 0 };
	struct qs_err err = { 0 };
	struct scaler sc = { 0 };
	enum qs_format fmt = QS_FMT_AUTO;
	const char *ns = NULL, *name_src = "--deployment", *ns_src = "--namespace";
	const char *s;
	int c, rc, status = 0;

	qs_setprogname(argv[0]);
	ko.backend = QS_KUBE_AUTO;
	ko.timeout = 10;
	sc.retries = 3;
	sc.up_opt = "--max-step-up";
	sc.down_opt = "--max-step-down";
	sc.min_src = "--min-replicas";
	sc.max_src = "--max-replicas";
	sc.window_src = "--down-window";
	sc.window = qs_env_long("QS_DOWN_WINDOW", 300, 0,
	    QS_RECOMMEND_WINDOW_MAX, &sc.window_src);
	sc.recs_path = qs_env("QS_RECOMMENDATIONS", NULL);
	sc.min = qs_env_long("QS_MIN_REPLICAS", 1, 0, 100000, &sc.min_src);
	sc.max = qs_env_long("QS_MAX_REPLICAS", -1, 0, 100000, &sc.max_src);
	sc.events = 1;
	if ((s = qs_env("QS_EVENTS", NULL)) != NULL)
		sc.events = (int)qs_opt_long("QS_EVENTS", s, 0, 1);
	while ((c = getopt_long(argc, argv, "n", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (qs_kube_backend_parse(optarg, &ko.backend) != 0)
				qs_die(EX_USAGE, "invalid --backend: %s (api, "
				    "kubectl or auto)", optarg);
			break;
		case 'c':
			ko.cacert = optarg;
			break;
		case 'd':
			sc.name = optarg;
			break;
		case 'f':
			if (qs_format_parse(optarg, &fmt) != 0)
				qs_die(EX_USAGE, "invalid --format: %s (json, csv "
				    "or auto)", optarg);
			break;
		case 'h':
			help();
			break;
		case 'k':
			ko.insecure = 1;
			break;
		case 'M':
			sc.max = qs_opt_long("--max-replicas", optarg, 0, 100000);
			sc.max_src = "--max-replicas";
			break;
		case 'm':
			sc.min = qs_opt_long("--min-replicas", optarg, 0, 100000);
			sc.min_src = "--min-replicas";
			break;
		case 'N':
			ns = optarg;
			break;
		case 'E':
			sc.events = 0;
			break;
		case 'n':
			sc.dry = 1;
			break;
		case 'r':
			sc.retries = qs_opt_long("--retries", optarg, 0, 100);
			break;
		case 'S':
			sc.step_up = sc.step_down = qs_opt_long("--max-step",
			    optarg, 1, 100000);
			sc.up_opt = sc.down_opt = "--max-step";
			break;
		case 'D':
			sc.step_down = qs_opt_long("--max-step-down", optarg, 1,
			    100000);
			sc.down_opt = "--max-step-down";
			break;
		case 'U':
			sc.step_up = qs_opt_long("--max-step-up", optarg, 1, 100000);
			sc.up_opt = "--max-step-up";
			break;
		case 'R':
			sc.recs_path = optarg;
			break;
		case 'w':
			sc.window = qs_opt_long("--down-window", optarg, 0,
			    QS_RECOMMEND_WINDOW_MAX);
			sc.window_src = "--down-window";
			break;
		case 's':
			ko.server = optarg;
			break;
		case 'H':
			sc.shadow = 1;
			break;
		case 'T':
			ko.token_file = optarg;
			break;
		case 't':
			ko.timeout = qs_opt_double("--timeout", optarg, 0.001, 3600);
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
	argv += optind;
	if (argc != 0) {
		qs_warn("unexpected operand: %s", argv[0]);
		usage();
	}
	if (sc.name == NULL) {
		sc.name = qs_env("QS_DEPLOYMENT", NULL);
		name_src = "QS_DEPLOYMENT";
	}
	if (sc.name == NULL)
		qs_die(EX_USAGE, "no deployment: use --deployment or QS_DEPLOYMENT");
	if (ns == NULL) {
		ns = qs_env("QS_NAMESPACE", NULL);
		ns_src = "QS_NAMESPACE";
	}
	/* Before any request: a name is never an option to kubectl. */
	if (qs_name_check_deployment(sc.name, name_src, &err) != 0 ||
	    qs_name_check_namespace(ns, ns_src, &err) != 0)
		qs_die_err(&err);
	/* One is a rehearsal, the other a run that learns: never both. */
	if (sc.shadow && sc.dry)
		qs_die(EX_USAGE, "--shadow and --dry-run exclude each other");
	if (sc.max >= 0 && sc.max < sc.min)
		qs_die(EX_USAGE, "%s %ld is below %s %ld", sc.max_src, sc.max,
		    sc.min_src, sc.min);
	qs_kube_opts_env(&ko);
	if (ko.backend == QS_KUBE_KUBECTL && (ko.server || ko.token_file ||
	    ko.cacert || ko.insecure))
		qs_die(EX_USAGE, "--server, --token-file, --cacert and "
		    "--insecure-skip-tls-verify need the api backend");
	if (ko.insecure && ko.cacert)
		qs_die(EX_USAGE, "--insecure-skip-tls-verify and --cacert "
		    "contradict each other");

	/* A malformed file is refused before anything is asked or changed. */
	if (sc.window > 0 && sc.recs_path != NULL) {
		qs_recommend_init(&sc.recs, sc.window, (long)time(NULL));
		if (qs_recommend_load(&sc.recs, sc.recs_path, &err) != 0)
			qs_die_err(&err);
		sc.have_recs = 1;
	}
	if ((sc.k = qs_kube_new(&ko, &err)) == NULL)
		qs_die_err(&err);
	sc.ns = qs_kube_namespace(sc.k, ns);

	rc = qs_records_filter(stdin, "<stdin>", stdout, fmt, scale_record, &sc,
	    &err);
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", qs_progname, err.msg);
		status = err.status ? err.status : EX_SOFTWARE;
	}
	qs_kube_free(sc.k);
	if (sc.have_recs)
		qs_recommend_free(&sc.recs);
	if (status != 0) {
		/* One message is enough: do not complain about stdout again. */
		fclose(stdout);
		return status;
	}
	return qs_fshut_stdout();
}

/*
 * Post an Event for what the action of rec (borrowed) did: Scaled when the
 * count changed, ScaleHeld when a guard kept it where it was; nothing when
 * the action was the count already, or on a dry or shadow run.  Why the
 * action was chosen (rec's why, or random) and the guard that acted are in
 * the message.  A failure is said once and turns the Events off: they report
 * the scaling, they are not part of it.
 */
static void
post_event(struct scaler *sc, json_t *rec, long action, long applied,
    int scaled)
{
	struct qs_err err = { 0 };
	struct qs_kube_event ev = { "Normal", NULL, NULL, sc->uid };
	char msg[512], why[64] = "", by[64] = "";
	const char *w = json_string_value(json_object_get(rec, "why"));
	json_t *r = json_object_get(rec, "random");
	int http;

	if (!sc->events || sc->dry || sc->shadow ||
	    (!scaled && action == sc->from))
		return;
	if (w == NULL && json_is_boolean(r))
		w = json_is_true(r) ? "random" : "greedy";
	if (w != NULL)
		snprintf(why, sizeof(why), " (%.40s)", w);
	if (sc->by != NULL)
		snprintf(by, sizeof(by), ", %s by %s", scaled ? "limited" :
		    "held", sc->by);
	if (scaled) {
		ev.reason = "Scaled";
		snprintf(msg, sizeof(msg), "Scaled from %ld to %ld replicas: "
		    "action %ld%s%s", sc->from, applied, action, why, by);
	} else {
		ev.reason = "ScaleHeld";
		snprintf(msg, sizeof(msg), "Held at %ld replicas: action %ld%s%s",
		    sc->from, action, why, by);
	}
	ev.message = msg;
	if (qs_kube_post_event(sc->k, *sc->evns ? sc->evns : sc->ns, sc->name,
	    &ev, &http, &err) != 0) {
		qs_warn("cannot post an Event for deployment %s: %s; no more "
		    "Events this run", sc->name, err.msg);
		sc->events = 0;
	}
}
