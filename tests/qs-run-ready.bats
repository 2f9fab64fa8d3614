#!/usr/bin/env bats
# qs-run's not-ready rule with several transitions in flight: each due
# transition is checked against its own count, as qs-sim train checks it,
# not against the newest decision's.  The simulator's clock is manual
# (--tick 0), so that a new pod is ready only when a test moves the clock
# past the start-up delay; qs-run runs one cron tick (--once) at a time.

load helpers
load simserve
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup_file() {
	lab_file_init
	lab_start "$LAB" --tick 0 --startup-delay 100 --replicas 2 --seed 3
	lab_wait_data "$LAB" 3s
}

teardown_file() {
	lab_file_done
}

# The tools' settings, and the deployment back at 2 replicas, all ready.
use_lab() {
	lab_tool_opts 5
	export QS_DECIDE_OPTS=--exploit
	write_kubeconfig "$SIM_URL"
	kubectl scale deployment web --replicas 2 >/dev/null
	sim_advance 100
	[ "$(sim_state ready)" = 2 ]
}

# A table for up to 5 replicas whose every state at p pods has learned that
# action to$p is best: to2=3 makes 2 pods go to 3.
own_table() {
	qs-init-table --max-replicas 5 --request-width 2 -o table.csv
	awk -F, -v OFS=, -v m="$*" 'BEGIN { n = split(m, kv, " ")
	    for (i = 1; i <= n; i++) { split(kv[i], x, "="); to[x[1]] = x[2] } }
	    NR == 1 { print; next }
	    { $(5 + ($1 in to ? to[$1] : $1)) = 10; $NF = 1; print }' \
	    table.csv > t.new && mv t.new table.csv
}

# One cron tick of the loop: a period of 1 s, a wait of 3 s.
tick() {
	run --separate-stderr qs-run --once --period 1 --wait 3 --max-age 60 --state-dir st
	assert_success
	ticks_err+=$stderr$'\n'
}

# The data rows of history.csv as "action applied new_pod".
learned() {
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	    { print $c["action"], $c["applied"], $c["new_pod"] }' history.csv
}

@test "a transition due while a newer scale-up is starting is learned: its own count is ready" {
	use_lab
	own_table 2=3 3=4
	ticks_err=''
	# A: 2 -> 3, and its pod ready at once.
	tick
	sim_advance 100
	[ "$(sim_state ready)" = 3 ]
	# B, a second later: 3 -> 4, its pod starting for the rest of the test.
	tick
	[ "$(sim_state replicas)" = 4 ]
	# Both due: A shows its own 3 and is learned though B's 4 is not
	# ready; B, whose own pod is not ready, is dropped.
	sleep 3.5
	tick
	[ "$(sim_state ready)" = 3 ]
	run learned
	assert_output "3 3 3"
	[[ $ticks_err == *"dropped: foreign or not ready (new_pod 3, applied 4)"* ]]
	[ "$(grep -c 'dropped: foreign' <<< "$ticks_err")" = 1 ]
}

@test "a transition whose deployment another hand scaled is dropped, though the newest decision shows" {
	use_lab
	own_table
	ticks_err=''
	# A holds 2; then kubectl scales to 4, ready at once, and B holds 4.
	tick
	kubectl scale deployment web --replicas 4 >/dev/null
	sim_advance 100
	tick
	[ "$(sim_state replicas)" = 4 ]
	sleep 3.5
	tick
	# A's 2 is not what the deployment shows: not learned.
	[[ $ticks_err == *"dropped: foreign or not ready (new_pod 4, applied 2)"* ]]
	# B held the 4 it saw, and is.
	run learned
	assert_output "4 4 4"
}
