#!/usr/bin/env bats
# One configuration per deployment (issue 16, items 1 and 3): qs-run
# --config with literal values, the QS_* settings the tools read, the
# table's metadata checked at start, configuration errors failing the
# first tick.  Against qs-sim serve and a real Prometheus that logs the
# queries it is asked.

load helpers
# One lab for the file, whose state the tests change: one at a time.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup_file() {
	lab_file_init
	# A lab that did not come up is stopped: bats runs no teardown_file then.
	start_lab || { lab_stop "$LAB"; return 1; }
}

start_lab() {
	lab_start "$LAB" --rate 0.6 --replicas 1 --seed 3 || return 1
	# Prometheus' own log of the queries it evaluates, by a reload (SIGHUP).
	sed -i "s|^global:\$|global:\\n  query_log_file: $LAB/query.log|" "$LAB/prometheus.yml"
	lab_wait_data "$LAB" 3s || return 1
	kill -HUP "$(cat "$LAB/prometheus.pid")"
	for ((i = 0; i < 600; i++)); do
		[ -e "$LAB/query.log" ] && return 0
		sleep 0.1
	done
	echo "no query log from Prometheus" >&2
	return 1
}

teardown_file() {
	lab_file_done
}

# The queries of the config: spaces, both quotes, a $ that a shell would
# expand, each reaching Prometheus as written.
# shellcheck disable=SC2016 # literal on purpose
LATENCY_QUERY='sum(rate(http_server_request_duration_seconds_sum{path="/test", job='"'"'qs-sim'"'"'}[3s])) / sum(rate(http_server_request_duration_seconds_count{path="/test"}[3s]))'
# shellcheck disable=SC2016 # literal on purpose
REQUESTS_QUERY='sum(increase(http_server_requests_total{path="/test", path!="$HOME"}[3s]))'

# A deployment's whole configuration, each fact once, in qscale.conf.
write_config() {
	cat > qscale.conf <<-EOC
	# web on the lab: where it is, what the table is built for.
	QS_DEPLOYMENT=web
	QS_KUBE_SERVER=$SIM_URL
	QS_PROMETHEUS_URL=$PROM_URL
	QS_MIN_REPLICAS=1
	QS_MAX_REPLICAS=3
	QS_IDEAL_LATENCY=500
	QS_WINDOW=3
	QS_PERIOD=1
	QS_WAIT=1
	QS_LATENCY_QUERY=$LATENCY_QUERY
	QS_REQUESTS_QUERY=$REQUESTS_QUERY
	QS_TABLE=table.csv
	QS_HISTORY=history.csv
	QS_STATE_DIR=st
	QS_INIT_TABLE_OPTS=--request-width 2
	QS_OBSERVE_OPTS=--retries 0
	QS_DECIDE_OPTS=--seed 5
	EOC
}

rows() {
	if [ -e "$1" ]; then echo $(($(wc -l < "$1") - 1)); else echo 0; fi
}

npending() {
	find st/pending -name '*.json' 2>/dev/null | wc -l
}

sim_replicas() {
	curl -fsS "$SIM_URL/qs-sim/state" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["replicas"])'
}

# How many times Prometheus was asked query $1 since the mark (a line count).
asked() {
	tail -n "+$(($1 + 1))" "$LAB/query.log" | python3 -c '
import json, sys
want = sys.argv[1]
print(sum(json.loads(l)["params"]["query"] == want for l in sys.stdin if l.strip()))' "$2"
}

mark() {
	wc -l < "$LAB/query.log"
}

@test "--init-table makes the table from the config, with its metadata, once" {
	write_config
	run --separate-stderr qs-run --config qscale.conf --init-table
	assert_success
	assert_equal "$(tail -1 table.csv | cut -d, -f1)" 3
	run grep -E '^(window|period|ideal_latency|min_replicas|max_replicas)=' table.csv.meta
	assert_output "window=3
period=1
ideal_latency=500
min_replicas=1
max_replicas=3"
	# A second start keeps what was learned.
	echo '# learned' >> table.csv
	before=$(digest table.csv)
	run --separate-stderr qs-run --config qscale.conf --init-table
	assert_success
	assert_equal "$(digest table.csv)" "$before"
	# A config that contradicts it is refused at once.
	QS_MAX_REPLICAS=20 run --separate-stderr qs-run --config qscale.conf --init-table
	assert_failure 78
	assert_equal "$stderr" "qs-run: table.csv.meta: max_replicas is 3, but QS_MAX_REPLICAS is 20"
}

@test "a config whose queries have spaces and quotes runs through --once; Prometheus gets them verbatim" {
	write_config
	qs-run --config qscale.conf --init-table
	m=$(mark)
	run --separate-stderr qs-run --config qscale.conf --once
	assert_success
	assert_equal "$(npending)" 1
	# The pending record's time is a second: the next decision is in another.
	sleep 1
	run --separate-stderr qs-run --config qscale.conf --once
	assert_success
	assert_equal "$(rows history.csv)" 1
	assert_equal "$(npending)" 1
	# Two ticks: an observation, then an observation and a next.
	assert_equal "$(asked "$m" "$LATENCY_QUERY")" 3
	assert_equal "$(asked "$m" "$REQUESTS_QUERY")" 3
}

@test "the live loop runs a couple of periods from the same config" {
	write_config
	qs-run --config qscale.conf --init-table
	m=$(mark)
	setsid qs-run --config qscale.conf --loop 2> loop.err &
	pid=$!
	# Until two transitions are learned; a minute at most, so that a
	# broken loop fails rather than hangs.
	for ((i = 0; i < 600; i++)); do
		[ "$(rows history.csv)" -ge 2 ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$(rows history.csv)" -ge 2 ] || { cat loop.err >&2; return 1; }
	[ -e st/alive ]
	# Two decisions and at least one observation completing them.
	[ "$(asked "$m" "$LATENCY_QUERY")" -ge 3 ]
	[ "$(asked "$m" "$REQUESTS_QUERY")" -ge 3 ]
	# Each learned transition within the config's range.
	run awk -F, 'NR > 1 && ($5 < 1 || $5 > 3) { bad++ } END { print bad + 0 }' history.csv
	assert_output 0
}

@test "a bad option in the config fails the first tick and the first epoch with the tool's status" {
	write_config
	qs-run --config qscale.conf --init-table
	# The issue's example: a query in QS_OBSERVE_OPTS is split at blanks.
	sed -i '/^QS_OBSERVE_OPTS=/d' qscale.conf
	echo "QS_OBSERVE_OPTS=--latency-query 'sum(rate(a[10s])) / sum(rate(b[10s]))'" >> qscale.conf
	before=$(sim_replicas)
	run --separate-stderr qs-run --config qscale.conf --epochs 1
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-observe: unexpected operand: /"
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: epoch 1 failed: a configuration error (status 64); stopping"
	run --separate-stderr qs-run --config qscale.conf --once
	assert_failure 64
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: tick failed: a configuration error (status 64); nothing learned, nothing scaled"
	[ ! -e st/failures ]
	run --separate-stderr qs-run --config qscale.conf --loop
	assert_failure 64
	[ ! -e history.csv ]
	assert_equal "$(npending)" 0
	assert_equal "$(sim_replicas)" "$before"
}

@test "a config that contradicts the table's metadata is refused before anything runs" {
	write_config
	qs-run --config qscale.conf --init-table
	before=$(digest table.csv)
	m=$(mark)
	QS_WINDOW=30 run --separate-stderr qs-run --config qscale.conf --once
	assert_failure 78
	assert_equal "$stderr" "qs-run: table.csv.meta: window is 3, but QS_WINDOW is 30"
	run --separate-stderr qs-run --config qscale.conf --epochs 1 --period 15
	assert_failure 78
	assert_equal "$stderr" "qs-run: table.csv.meta: period is 1, but --period is 15"
	assert_equal "$(asked "$m" "$LATENCY_QUERY")" 0
	assert_equal "$(digest table.csv)" "$before"
	[ ! -e st/pending ] || assert_equal "$(npending)" 0
}

@test "a tool's configuration error when completing keeps the transition for the mended config" {
	write_config
	qs-run --config qscale.conf --init-table
	qs-run --config qscale.conf --once 2>/dev/null
	assert_equal "$(npending)" 1
	sleep 1
	QS_UPDATE_OPTS=--bogus run --separate-stderr qs-run --config qscale.conf --once
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-update: unrecognized option '--bogus'"
	assert_equal "$(npending)" 1
	[ ! -e history.csv ] || assert_equal "$(rows history.csv)" 0
	run --separate-stderr qs-run --config qscale.conf --once
	assert_success
	assert_equal "$(rows history.csv)" 1
}

@test "config values are literal; only QS_* keys are exported; the environment wins" {
	write_config
	qs-run --config qscale.conf --init-table
	# A qs-observe that shows what it got, and stops the tick.
	mkdir bin
	cat > bin/qs-observe <<-'EOS'
	#!/bin/sh
	printf '%s\n' "$QS_LATENCY_QUERY" "$QS_REQUESTS_QUERY" "${PATH_EXTRA-unset}" > got
	exit 78
	EOS
	chmod +x bin/qs-observe
	sed -i '/^QS_REQUESTS_QUERY=/d' qscale.conf
	n=$(($(wc -l < qscale.conf) + 1))
	# shellcheck disable=SC2016 # literal on purpose
	printf '%s\n' 'PATH_EXTRA=/nowhere' "QS_REQUESTS_QUERY=  'a b' \"c\" \$(touch pwned) \\" >> qscale.conf
	PATH=$T/bin:$PATH QS_LATENCY_QUERY='from the environment' \
	    run --separate-stderr qs-run --config qscale.conf --once
	assert_failure 78
	assert_equal "${stderr_lines[0]}" "qs-run: qscale.conf: line $n: ignoring PATH_EXTRA: not a QS_* setting"
	# shellcheck disable=SC2016 # literal on purpose
	assert_equal "$(cat got)" 'from the environment
  '"'a b'"' "c" $(touch pwned) \
unset'
	[ ! -e pwned ]
}

@test "the tools read the config's facts: qs-scale its replica range, qs-observe its window" {
	# The default queries over QS_WINDOW's seconds, not qs-observe's 30 s.
	m=$(mark)
	QS_WINDOW=3 run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 --retries 0
	assert_success
	assert_equal "$(asked "$m" 'sum(increase(http_server_requests_total{path="/test"}[3s]))')" 1
	QS_WINDOW=0.5 run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 --retries 0 --empty-as-zero
	assert_success
	assert_equal "$(asked "$m" 'sum(increase(http_server_requests_total{path="/test"}[500ms]))')" 1
	QS_WINDOW=soon run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid QS_WINDOW: soon (a number from 0.001 to 1e+09)"
	# The range, as qs-scale's options would give it; the options win.
	before=$(sim_replicas)
	QS_MAX_REPLICAS=2 run --separate-stderr qs-scale -n --server "$SIM_URL" --deployment web <<< '{"action":3}'
	assert_success
	assert_output --partial '"applied":2'
	QS_MIN_REPLICAS=3 QS_MAX_REPLICAS=3 run --separate-stderr qs-scale -n --server "$SIM_URL" --deployment web <<< '{"action":1}'
	assert_output --partial '"applied":3'
	QS_MAX_REPLICAS=2 run --separate-stderr qs-scale -n --server "$SIM_URL" --deployment web --max-replicas 3 <<< '{"action":3}'
	assert_output --partial '"applied":3'
	assert_equal "$(sim_replicas)" "$before"
}
