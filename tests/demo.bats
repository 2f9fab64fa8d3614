#!/usr/bin/env bats
# make demo's script: the whole system on a simulated cluster, cleaned up
# after, also when interrupted.

load helpers

@test "the demo learns for a few epochs, summarises, and stops what it started" {
	# The demo's 15 s period; a shorter wait than its 45 s.
	QS_DEMO_DIR="$T/out" QS_DEMO_EPOCHS=2 QS_DEMO_WAIT=15 run "$TOP/scripts/demo"
	assert_success
	assert_line "== qs-run: 2 epochs, a decision every 15 s, each observed again 15 s after it"
	assert_line --regexp '^qs-run: epoch 1: pod [0-9]+ latency [0-9]+ requests [0-9]+ -> action [1-3]'
	assert_line --regexp '^epochs: +2 \([0-2] random\)$'
	assert_line "not learned:            0 of 2 decisions (dropped, see qs-update(1))"
	assert_line --regexp '^latency within ideal: +[0-2] of 2 '
	assert_line "table:                  $T/out/table.csv"
	assert_equal "$(wc -l < "$T/out/history.csv")" 3
	# Nothing left running: the pid files are gone with their processes.
	run ls "$T/out/lab"
	refute_output --partial ".pid"
	run pgrep -f "$T/out/lab"
	assert_failure
}

@test "a demo killed with SIGTERM stops the simulator and Prometheus at once" {
	QS_DEMO_DIR="$T/out" QS_DEMO_EPOCHS=20 "$TOP/scripts/demo" > demo.log 2>&1 3>&- &
	pid=$!
	for _ in $(seq 600); do
		grep -q '^== qs-run' demo.log && break
		sleep 0.1
	done
	grep -q '^== qs-run' demo.log
	# A background job ignores SIGINT in a script; SIGTERM takes the same path.
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$pid"
	assert_failure
	run pgrep -f "$T/out/lab"
	assert_failure
}
