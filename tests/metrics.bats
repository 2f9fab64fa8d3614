#!/usr/bin/env bats
# qscale's own metrics: STATE/metrics.prom written by qs-run at every tick,
# checked by promtool, and served by qs-metrics for the long-running form.

load helpers
# One lab for the whole file, whose state the tests change: one at a time.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup_file() {
	# shellcheck source=../scripts/lab.bash
	. "$BATS_TEST_DIRNAME/../scripts/lab.bash"
	export PATH="${QS_BIN:-$BATS_TEST_DIRNAME/../build/bin}:$PATH"
	LAB=$(mktemp -d)
	export LAB
	lab_start "$LAB" --rate 0.6 --replicas 1 --seed 3
	lab_wait_data "$LAB" 3s
}

teardown_file() {
	. "$BATS_TEST_DIRNAME/../scripts/lab.bash"
	lab_stop "$LAB"
	rm -rf "$LAB"
}

use_lab() {
	lab_tool_opts 3
	export QS_DECIDE_OPTS="--seed 5"
	[ -e table.csv ] || qs-init-table --request-width 2 -o table.csv
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":1}}' \
	    "$SIM_URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
}

# A run a test left in the background is killed with its process group
# (setsid made it one), qs-metrics included, so that a broken test fails
# rather than hangs.
local_teardown() {
	if [ -n "${pid:-}" ]; then
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

# The value of series $1 in st/metrics.prom (nothing when absent).
metric() {
	awk -v k="$1" '$1 == k { print $2 }' st/metrics.prom
}

@test "every tick writes STATE/metrics.prom; promtool passes it; counters add up across ticks" {
	command -v promtool >/dev/null || skip "promtool is not installed"
	use_lab
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	run promtool check metrics < st/metrics.prom
	assert_success
	assert_output ''
	assert_equal "$(metric 'qscale_ticks_total{result="success"}')" 1
	assert_equal "$(metric 'qscale_transitions_pending')" 1
	assert_equal "$(metric 'qscale_transitions_learned_total')" 0
	# One decision, counted by its why; the count it set is the gauge.
	why=$(sed 's/.*"why":"\([a-z]*\)".*/\1/' st/pending/*.json)
	applied=$(sed 's/.*"applied":\([0-9]*\).*/\1/' st/pending/*.json)
	assert_equal "$(metric "qscale_decisions_total{why=\"$why\"}")" 1
	assert_equal "$(metric qscale_applied_replicas)" "$applied"
	grep -q '^# TYPE qscale_failures_total counter$' st/metrics.prom
	assert_equal "$(metric 'qscale_failures_total{cause="observe"}')" 0
	sleep 1
	run --separate-stderr qs-run --once --state-dir st --wait 1 --max-age 60
	assert_success
	run promtool check metrics < st/metrics.prom
	assert_success
	assert_output ''
	assert_equal "$(metric 'qscale_ticks_total{result="success"}')" 2
	assert_equal "$(metric 'qscale_transitions_learned_total')" 1
	# The reward learned is the history's, in the gauge and the summary.
	IFS=, read -r -a head < <(head -1 history.csv)
	for i in "${!head[@]}"; do [ "${head[$i]}" = reward ] && col=$((i + 1)); done
	reward=$(tail -1 history.csv | cut -d, -f"$col")
	assert_equal "$(metric qscale_reward)" "$(awk -v r="$reward" 'BEGIN { printf "%.15g", r }')"
	assert_equal "$(metric qscale_rewards_count)" 1
	now=$(date +%s)
	last=$(metric qscale_last_success_timestamp_seconds)
	[ "$last" -le "$now" ] && [ "$last" -ge $((now - 60)) ]
	total=0
	for w in greedy random hold hpa floor; do
		v=$(metric "qscale_decisions_total{why=\"$w\"}")
		total=$((total + ${v:-0}))
	done
	assert_equal "$total" 2
}

@test "failures are counted by cause: observe, config, lock" {
	use_lab
	QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:1 --window 3s --deployment web --kube-server $SIM_URL --retries 0" \
	    run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(metric 'qscale_failures_total{cause="observe"}')" 1
	assert_equal "$(metric 'qscale_ticks_total{result="failure"}')" 1
	assert_equal "$(metric qscale_consecutive_failures)" 1
	QS_DECIDE_OPTS="--no-such-option" run --separate-stderr qs-run --once --state-dir st
	assert_equal "$(metric 'qscale_failures_total{cause="config"}')" 1
	assert_equal "$(metric 'qscale_failures_total{cause="observe"}')" 1
	# A tick refused the lock counts, without touching the holder's state.
	exec 9> st/lock
	flock 9
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 75
	exec 9>&-
	assert_equal "$(metric 'qscale_failures_total{cause="lock"}')" 1
	assert_equal "$(metric 'qscale_ticks_total{result="failure"}')" 3
	assert_equal "$(metric 'qscale_ticks_total{result="success"}')" 0
	command -v promtool >/dev/null || skip "promtool is not installed"
	run promtool check metrics < st/metrics.prom
	assert_success
}

@test "transitions dropped are counted by reason: foreign (from qs-update) and stale" {
	use_lab
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	# Someone else scales the deployment: the after-state is not the action's.
	applied=$(sed 's/.*"applied":\([0-9]*\).*/\1/' st/pending/*.json)
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d "{\"spec\":{\"replicas\":$((applied % 3 + 1))}}" \
	    "$SIM_URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	sleep 1
	run --separate-stderr qs-run --once --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 1
	assert_equal "$(metric 'qscale_transitions_learned_total')" 0
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="stale"}')" 0
	# A transition older than --max-age is dropped by qs-run itself.
	sleep 2
	run --separate-stderr qs-run --once --state-dir st --wait 1 --max-age 1
	assert_success
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="stale"}')" 1
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 1
}

@test "qs-update --drops writes the dropped transitions' count by reason" {
	qs-init-table -o t.csv
	{
		# Learned; foreign (new_pod is not applied); instant; stale.
		echo "{\"time\":\"$(date -u -d '-10 sec' +%Y-%m-%dT%H:%M:%SZ)\",\"new_time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"pod\":1,\"latency\":100,\"requests\":5,\"action\":2,\"applied\":2,\"new_pod\":2,\"new_latency\":50,\"new_requests\":5,\"reward\":1}"
		echo '{"pod":1,"latency":100,"requests":5,"action":2,"applied":2,"new_pod":3,"new_latency":50,"new_requests":5,"reward":1}'
		now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
		echo "{\"time\":\"$now\",\"new_time\":\"$now\",\"pod\":1,\"latency\":100,\"requests\":5,\"action\":2,\"applied\":2,\"new_pod\":2,\"new_latency\":50,\"new_requests\":5,\"reward\":1}"
		echo '{"time":"2001-01-01T00:00:00Z","pod":1,"latency":100,"requests":5,"action":2,"applied":2,"new_pod":2,"new_latency":50,"new_requests":5,"reward":1}'
	} > in
	run --separate-stderr qs-update --table t.csv --history h.csv --min-age 5 --max-age 60 --drops drops < in
	assert_success
	run cat drops
	assert_output $'stale 1\ninstant 1\nforeign 1\nduplicate 0'
	# The same again: the learned one is a duplicate now.
	run --separate-stderr qs-update --table t.csv --history h.csv --min-age 5 --max-age 60 --drops drops < in
	assert_success
	run cat drops
	assert_output $'stale 1\ninstant 1\nforeign 1\nduplicate 1'
	# A failed update writes no counts.
	rm drops
	run --separate-stderr qs-update --table t.csv --drops drops <<<'{"pod":"x"}'
	assert_failure 65
	[ ! -e drops ]
}

# Wait until file $1 has a line matching $2, for at most a minute.
await_line() {
	local i
	for ((i = 0; i < 1200; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "no line $2 in $1 after a minute" >&2
	return 1
}

@test "--metrics-listen serves STATE/metrics.prom on /metrics while the loop runs, and stops with it" {
	use_lab
	setsid qs-run --epochs 2 --period 1 --wait 1 --state-dir st --metrics-listen 127.0.0.1:0 2>err &
	pid=$!
	await_line err '^qs-run: serving the metrics on http://127[.]0[.]0[.]1:[0-9]*/metrics$'
	url=$(sed -n 's/^qs-run: serving the metrics on //p' err)
	# Once the first period has ended, its tick is there, as promtool likes it.
	for ((i = 0; i < 1200; i++)); do
		curl -fsS "$url" 2>/dev/null | grep -q '^qscale_ticks_total{result="success"} [1-9]' && break
		sleep 0.05
	done
	run curl -fsS -D headers "$url"
	assert_success
	assert_line 'qscale_ticks_total{result="success"} 1'
	grep -qi '^content-type: text/plain; version=0.0.4' headers
	if command -v promtool >/dev/null; then
		curl -fsS "$url" | promtool check metrics
	fi
	run curl -sS -o /dev/null -w '%{http_code}' "${url%/metrics}/other"
	assert_output 404
	wait "$pid"
	# How many wake-ups two epochs take depends on timing; the decisions do not.
	assert_equal "$(metric 'qscale_ticks_total{result="failure"}')" 0
	assert_equal "$(awk '/^qscale_decisions_total/ { n += $2 } END { print n }' st/metrics.prom)" 2
	# The run is over: so is its server.
	run curl -sS "$url"
	assert_failure 7
}

@test "--metrics-listen: refused with --once; a server killed with its run; an address in use fails the run" {
	use_lab
	run --separate-stderr qs-run --once --state-dir st --metrics-listen 127.0.0.1:0
	assert_failure 64
	assert_equal "$stderr" "qs-run: --metrics-listen needs --loop or --epochs; with --once, use STATE/metrics.prom"
	[ ! -e st ]
	setsid qs-run --loop --period 1 --wait 1 --state-dir st --metrics-listen 127.0.0.1:0 2>err &
	pid=$!
	await_line err 'serving the metrics on'
	url=$(sed -n 's/^qs-run: serving the metrics on //p' err)
	addr=${url#http://}
	addr=${addr%/metrics}
	# Its address is taken: a second server cannot listen there.
	run --separate-stderr qs-metrics --listen "$addr" --file st/metrics.prom
	assert_failure 69
	assert_equal "$stderr" "qs-metrics: cannot listen on $addr: address in use or not available"
	run --separate-stderr qs-run --epochs 1 --state-dir st2 --metrics-listen "$addr"
	assert_failure 69
	assert_equal "$stderr" "qs-metrics: cannot listen on $addr: address in use or not available"
	# A kill the run cannot trap: its server notices and stops too.
	kill -KILL "$pid"
	wait "$pid" || true
	for ((i = 0; i < 200; i++)); do
		curl -sS "$url" >/dev/null 2>&1 || break
		sleep 0.05
	done
	run curl -sS "$url"
	assert_failure 7
	run --separate-stderr qs-metrics --listen 127.0.0.1 --file x
	assert_failure 64
	assert_equal "$stderr" "qs-metrics: invalid listen address 127.0.0.1: not ADDRESS:PORT with a numeric address"
}
