#!/usr/bin/env bats
# qs-metrics: a Prometheus text file served on /metrics, read again for
# every request, 503 until it exists; its refusals.  qs-run's use of it
# (--metrics-listen) is in tests/metrics.bats.

load helpers

# Start qs-metrics on a port the kernel picks, serving m.prom; its
# address is in $addr and its pid in $pid.
serve() {
	qs-metrics --listen 127.0.0.1:0 --file m.prom >addr 2>err &
	pid=$!
	for ((i = 0; i < 200; i++)); do
		[ -s addr ] && break
		sleep 0.05
	done
	addr=$(cat addr)
	[ -n "$addr" ]
}

local_teardown() {
	if [ -n "${pid:-}" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

@test "serves the file on /metrics as it is at each request, 503 before it exists, and stops on SIGTERM" {
	serve
	[[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]]
	run curl -sS -o /dev/null -w '%{http_code}' "http://$addr/metrics"
	assert_output 503
	printf '# HELP x_total a\n# TYPE x_total counter\nx_total 1\n' >m.prom
	run curl -sS "http://$addr/metrics"
	assert_output "$(cat m.prom)"
	# Replaced as qs-run replaces it: a new file under the same name.
	sed 's/^x_total 1$/x_total 2/' m.prom >m.new && mv m.new m.prom
	run curl -sS "http://$addr/metrics"
	assert_line "x_total 2"
	run curl -sS -o /dev/null -w '%{http_code}' "http://$addr/other"
	assert_output 404
	kill -TERM "$pid"
	st=0
	wait "$pid" || st=$?
	pid=
	assert_equal "$st" 0
	run curl -sS "http://$addr/metrics"
	assert_failure 7
}

@test "bad options, an operand, a bad address and an address in use are refused with one line" {
	run --separate-stderr qs-metrics --file m.prom extra
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-metrics: unexpected operand: extra"
	run --separate-stderr qs-metrics --listen nowhere:1 --file m.prom
	assert_failure 64
	assert_equal "$stderr" "qs-metrics: invalid listen address nowhere:1: not ADDRESS:PORT with a numeric address"
	serve
	run --separate-stderr qs-metrics --listen "$addr" --file m.prom
	assert_failure 69
	assert_equal "$stderr" "qs-metrics: cannot listen on $addr: address in use or not available"
	run qs-metrics --version
	assert_success
	assert_output "qs-metrics (qscale) $(cat "$TOP/VERSION")"
}
