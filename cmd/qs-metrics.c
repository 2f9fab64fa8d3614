/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "qs/err.h"
#include "qs/filesrv.h"
#include "qs/opt.h"

#define USAGE "usage: qs-metrics [--exit-with-parent] [--file file]\n" \
	"       [--listen addr:port]\n"

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
	    "Serve a Prometheus text file, as qs-run writes STATE/metrics.prom, on\n"
	    "/metrics, until SIGINT or SIGTERM.  The address it listens on is\n"
	    "printed on standard output once it listens.\n\n"
	    "      --exit-with-parent  also stop when the parent process ends\n"
	    "      --file file         the file served (metrics.prom)\n"
	    "      --listen addr:port  where to listen (QS_METRICS_LISTEN,\n"
	    "                          127.0.0.1:9464; port 0 picks one)\n"
	    "      --help              print this help\n"
	    "      --version           print the version\n", stdout);
	exit(qs_fshut_stdout());
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "exit-with-parent", no_argument, NULL, 'p' },
		{ "file", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "listen", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct qs_filesrv_opts o = { NULL, "metrics.prom", "/metrics",
	    "text/plain; version=0.0.4; charset=utf-8" };
	struct qs_err err = { 0 };
	struct qs_filesrv *s;
	struct timespec second = { 1, 0 };
	sigset_t set;
	pid_t parent = getppid();
	int c, withparent = 0, sig;

	qs_setprogname(argv[0]);
	o.listen = qs_env("QS_METRICS_LISTEN", "127.0.0.1:9464");
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o.file = optarg;
			break;
		case 'h':
			help();
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'p':
			withparent = 1;
			break;
		case 'V':
			qs_print_version();
			return qs_fshut_stdout();
		default:
			usage();
		}
	}
	if (optind < argc) {
		qs_warn("unexpected operand: %s", argv[optind]);
		usage();
	}

	/* The signals are taken here, not by the server's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((s = qs_filesrv_start(&o, &err)) == NULL)
		qs_die_err(&err);
	/* Whoever started it learns the port, then stdout is done with. */
	if (printf("%s\n", qs_filesrv_addr(s)) < 0 || fflush(stdout) != 0)
		qs_warn("cannot write standard output: the address is %s",
		    qs_filesrv_addr(s));
	for (;;) {
		sig = sigtimedwait(&set, NULL, &second);
		if (sig > 0)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (withparent && getppid() != parent)
			break;
	}
	qs_filesrv_stop(s);
	return 0;
}
