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
#include "qs/name.h"
#include "qs/num.h"
#include "qs/opt.h"
#include "qs/rand.h"
#include "qs/sim.h"
#include "qs/simrun.h"
#include "qs/simserve.h"
#include "qs/table.h"
#include "qs/xalloc.h"
#include "qs-sim.h"

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
	    "Serve the Kubernetes API of simulated deployments and their pods'\n"
	    "request metrics on /metrics, until SIGINT or SIGTERM.  Options after\n"
	    "a --deployment are that deployment's; those before, every one's.\n\n"
	    "      --deployment name   a deployment's name (QS_DEPLOYMENT, web);\n"
	    "                          repeat it for several\n"
	    "      --interval s        seconds per trace row (60)\n"
	    "      --label name=value  a constant label on its series (repeatable)\n"
	    "      --listen addr:port  where to listen (127.0.0.1:8080; port 0 picks)\n"
	    "      --metric-prefix p   the metrics' names: p_requests_total and the\n"
	    "                          histogram p_request_duration_seconds (http_server)\n"
	    "      --namespace ns      its namespace (QS_NAMESPACE, default)\n"
	    "      --noise x           relative noise on latency (0.05)\n"
	    "      --port-file file    write the port there once listening\n"
	    "      --rate r            requests/s without a trace (0.3)\n"
	    "      --replicas n        replicas at the start, all ready (1)\n"
	    "      --scale f           factor on the trace's requests (1)\n"
	    "      --seed n            seed of the noise and pod names (1)\n"
	    "      --startup-delay s   seconds before a new replica is ready (0)\n"
	    "      --tick s            wall seconds per trace row (interval), or 0:\n"
	    "                          only POST /qs-sim/advance moves the clock\n"
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

/* Most --deployment options, as many as the server runs. */
#define SERVE_DEPLOYMENTS_MAX 64

/* One deployment's options, and what they load. */
struct dep {
	struct qs_simserve_opts o;
	const char *trace;
	double *rows;
	const char **labels;
	size_t nlabels;
};

int
sim_serve(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "deployment", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'I' },
		{ "label", required_argument, NULL, 'L' },
		{ "listen", required_argument, NULL, 'l' },
		{ "metric-prefix", required_argument, NULL, 'M' },
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
	struct dep base = { 0 }, *deps = NULL, *cur = &base;
	struct qs_simserve_opts *o = &base.o, *all;
	struct qs_simserve *srv;
	struct qs_err err = { 0 };
	struct qs_atomic a;
	sigset_t set;
	const char *portfile = NULL, *certfile = NULL;
	const char *keyfile = NULL, *tokenfile = NULL;
	char *cert = NULL, *key = NULL, *token = NULL;
	size_t n = 0, i;
	int c, sig;

	qs_sim_defaults(&o->p);
	/* A served replica is ready at once unless told otherwise. */
	o->p.startup_delay = 0;
	o->listen = "127.0.0.1:8080";
	o->deployment = qs_env("QS_DEPLOYMENT", "web");
	o->namespace = qs_env("QS_NAMESPACE", "default");
	o->rate = 0.3;
	o->replicas = 1;
	o->seed = 1;
	o->tick = -1;		/* the interval, unless given */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			certfile = optarg;
			break;
		case 'D':
			o->p.startup_delay = qs_opt_double("--startup-delay",
			    optarg, 0, 86400);
			break;
		case 'd':
			/* A deployment of its own, from the options so far. */
			if (n == SERVE_DEPLOYMENTS_MAX)
				qs_die(EX_USAGE, "too many deployments: at most %d",
				    SERVE_DEPLOYMENTS_MAX);
			deps = xreallocarray(deps, n + 1, sizeof(*deps));
			cur = &deps[n++];
			*cur = base;
			cur->labels = xreallocarray(NULL, base.nlabels + 1,
			    sizeof(*cur->labels));
			if (base.nlabels > 0)
				memcpy(cur->labels, base.labels, base.nlabels *
				    sizeof(*cur->labels));
			o = &cur->o;
			o->deployment = optarg;
			break;
		case 'f':
			cur->trace = optarg;
			break;
		case 'h':
			help_serve();
			break;
		case 'I':
			o->p.interval = qs_opt_double("--interval", optarg, 0.001,
			    86400);
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'L':
			cur->labels = xreallocarray(cur->labels, cur->nlabels + 1,
			    sizeof(*cur->labels));
			cur->labels[cur->nlabels++] = optarg;
			break;
		case 'l':
			base.o.listen = optarg;
			break;
		case 'M':
			o->metric_prefix = optarg;
			break;
		case 'N':
			o->p.noise = qs_opt_double("--noise", optarg, 0, 10);
			break;
		case 'n':
			o->namespace = optarg;
			break;
		case 'p':
			portfile = optarg;
			break;
		case 'R':
			o->replicas = qs_opt_long("--replicas", optarg, 0, 1000);
			break;
		case 'r':
			o->rate = qs_opt_double("--rate", optarg, 0, 1e9);
			break;
		case 'S':
			o->p.scale = qs_opt_double("--scale", optarg, 0, 1e9);
			break;
		case 's':
			o->seed = (unsigned long long)qs_opt_long("--seed", optarg,
			    0, 0x7fffffffffffffffL);
			break;
		case 'T':
			tokenfile = optarg;
			break;
		case 't':
			if (qs_num_parse(optarg, &o->tick) != 0 ||
			    (o->tick != 0 && !(o->tick >= 0.001 &&
			    o->tick <= 86400)))
				qs_die(EX_USAGE, "invalid --tick: %s (0 for a "
				    "manual clock, or a number from 0.001 to "
				    "86400)", optarg);
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
	if (argc != 0) {
		qs_warn("unexpected operand: %s", argv[0]);
		usage_serve();
	}
	if ((certfile == NULL) != (keyfile == NULL))
		qs_die(EX_USAGE, "--tls-cert and --tls-key go together");
	/* Without --deployment, the one of QS_DEPLOYMENT or web. */
	if (n == 0) {
		deps = xmalloc(sizeof(*deps));
		deps[n++] = base;
		base.labels = NULL;	/* now the deployment's */
	}
	if (certfile != NULL) {
		base.o.tls_cert = cert = read_small("certificate", certfile, 0);
		base.o.tls_key = key = read_small("key", keyfile, 0);
	}
	if (tokenfile != NULL) {
		base.o.token = token = read_small("token file", tokenfile, 1);
		if (*token == '\0')
			qs_die(EX_DATAERR, "token file %s is empty", tokenfile);
	}
	all = xcalloc(n, sizeof(*all));
	for (i = 0; i < n; i++) {
		o = &deps[i].o;
		/* The same names the clients accept; the environment's pointer is its. */
		if (qs_name_check_deployment(o->deployment, o->deployment ==
		    qs_env("QS_DEPLOYMENT", NULL) ? "QS_DEPLOYMENT" :
		    "--deployment", &err) != 0 ||
		    qs_name_check_namespace(o->namespace, o->namespace ==
		    qs_env("QS_NAMESPACE", NULL) ? "QS_NAMESPACE" :
		    "--namespace", &err) != 0)
			qs_die_err(&err);
		if (o->tick < 0)
			o->tick = o->p.interval;
		if (deps[i].trace != NULL) {
			if (qs_sim_trace_load(deps[i].trace, &deps[i].rows, &o->n,
			    &err) != 0)
				qs_die_err(&err);
			o->trace = deps[i].rows;
		}
		o->labels = (const char *const *)deps[i].labels;
		o->nlabels = deps[i].nlabels;
		/* The server's own settings are given once, for all. */
		o->listen = base.o.listen;
		o->tls_cert = base.o.tls_cert;
		o->tls_key = base.o.tls_key;
		o->token = base.o.token;
		all[i] = *o;
	}

	/* Signals go to sigwait below, not to the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((srv = qs_simserve_start_many(all, n, &err)) == NULL)
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
	for (i = 0; i < n; i++)
		printf("qs-sim: serving deployment %s in namespace %s on "
		    "%s://%s\n", all[i].deployment, all[i].namespace,
		    cert ? "https" : "http", qs_simserve_addr(srv));
	fflush(stdout);

	while (sigwait(&set, &sig) != 0)
		;
	qs_simserve_stop(srv);
	if (portfile != NULL)
		unlink(portfile);
	for (i = 0; i < n; i++) {
		free(deps[i].rows);
		free(deps[i].labels);
	}
	free(base.labels);
	free(deps);
	free(all);
	free(cert);
	free(key);
	free(token);
	return qs_fshut_stdout();
}
