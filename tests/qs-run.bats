#!/usr/bin/env bats
# qs-run: the learning loop against qs-sim serve and a real Prometheus.

load helpers
# One lab for the whole file (setup_file), whose state the tests change or
# time: they run one at a time, even under bats --jobs.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true
bats_require_minimum_version 1.5.0

# One simulated cluster and Prometheus for the file: Prometheus needs a few
# seconds before its first scrape.
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

# Settings for the tools, as a user's config would give them.
use_lab() {
	export QS_OBSERVE_OPTS="--prometheus $PROM_URL --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	export QS_SCALE_OPTS="--server $SIM_URL --deployment web --min-replicas 1 --max-replicas 3"
	export QS_DECIDE_OPTS="--seed 5"
	[ -e table.csv ] || qs-init-table --request-width 2 -o table.csv
}

sim_replicas() {
	curl -fsS "$SIM_URL/qs-sim/state" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["replicas"])'
}

# The number of data rows of a CSV file.
rows() {
	if [ -e "$1" ]; then echo $(($(wc -l < "$1") - 1)); else echo 0; fi
}

@test "--epochs: one history row per epoch, the table as the history says, replicas follow" {
	use_lab
	run --separate-stderr qs-run --epochs 3 --wait 1
	assert_success
	assert_equal "$(rows history.csv)" 3
	assert_equal "$(echo "$stderr" | grep -c '^qs-run: epoch [0-9]*: pod ')" 3
	# The last transition's Q-value is in its state's row, action's column.
	IFS=, read -r _ pod lat req action _ _ _ q _ < <(tail -1 history.csv)
	run awk -F, -v p="$pod" -v l="$lat" -v r="$req" -v a="$action" '
	    NR == 1 { for (i = 6; i <= NF; i++) if ($i == a) c = i; next }
	    { row[NR] = $0; if ($3 > ml) ml = $3; if ($5 > mr) mr = $5 }
	    END {
		if (l > ml) l = ml; if (r > mr) r = mr
		for (n in row) {
			split(row[n], f, ",")
			if (f[1] == p && f[2] <= l && l <= f[3] && f[4] <= r && r <= f[5]) print f[c]
		}
	    }' table.csv
	assert_output "$q"
	assert_equal "$(sim_replicas)" "$action"
	run grep -c '' history.csv
	assert_output 4
}

@test "--once twice completes one transition and leaves the next pending" {
	use_lab
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	[ -s st/pending.json ]
	assert_equal "$(rows history.csv)" 0
	first=$(cat st/pending.json)
	sleep 1
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(rows history.csv)" 1
	# The finished transition is the one the first tick started.
	run cut -d, -f2-5 <(tail -1 history.csv)
	# shellcheck disable=SC2001 # a field of a JSON line, by sed's group
	pod=$(echo "$first" | sed 's/.*"pod":\([0-9]*\).*/\1/')
	# shellcheck disable=SC2001 # the same
	action=$(echo "$first" | sed 's/.*"action":\([0-9]*\).*/\1/')
	assert_output --regexp "^$pod,[0-9]+,[0-9]+,$action\$"
	[ -s st/pending.json ]
	[ "$(cat st/pending.json)" != "$first" ]
}

@test "a tick that finds the lock held exits 75 at once, or after --lock-wait" {
	use_lab
	mkdir st
	exec 9> st/lock
	flock 9
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 75
	assert_equal "$stderr" "qs-run: another tick holds st/lock"
	run --separate-stderr qs-run --once --state-dir st --lock-wait 0.5
	assert_failure 75
	exec 9>&-
	[ ! -e st/pending.json ]
}

@test "two ticks started together never both run" {
	use_lab
	qs-run --once --state-dir st 2> a.err & a=$!
	qs-run --once --state-dir st 2> b.err & b=$!
	sa=0 sb=0
	wait "$a" || sa=$?
	wait "$b" || sb=$?
	# One ran and one was refused, or they ran one after the other.
	if [ "$sa" -eq 75 ] || [ "$sb" -eq 75 ]; then
		[ $((sa + sb)) -eq 75 ]
	else
		[ "$sa" -eq 0 ] && [ "$sb" -eq 0 ]
	fi
	[ "$(rows history.csv)" -le 1 ]
}

@test "a tick with Prometheus unreachable learns nothing and scales nothing" {
	use_lab
	qs-run --once --state-dir st 2>/dev/null
	sleep 1
	table=$(digest table.csv)
	before=$(sim_replicas)
	dead=$(free_port)
	export QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$dead --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_output ""
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: tick failed (status 69, 1 in a row); nothing learned, nothing scaled"
	assert_equal "$(digest table.csv)" "$table"
	assert_equal "$(rows history.csv)" 0
	assert_equal "$(sim_replicas)" "$before"
	# The pending transition is dropped: its after-state was never seen.
	[ ! -e st/pending.json ]
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	run --separate-stderr qs-run --once --state-dir st --max-failures 3
	assert_failure 69
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: giving up after 3 failed ticks"
	assert_equal "$(sim_replicas)" "$before"
	# Back to a healthy Prometheus: the count starts again.
	use_lab
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	[ ! -e st/failures ]
}

@test "--epochs gives up after --max-failures failed epochs" {
	use_lab
	port=$(free_port)
	export QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$port --retries 0 --pod 1"
	run --separate-stderr qs-run --epochs 5 --wait 0 --max-failures 2
	assert_failure 69
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: giving up after 2 failed epochs"
	[ ! -e history.csv ] || assert_equal "$(rows history.csv)" 0
}

@test "a killed tick leaves table and history readable" {
	use_lab
	qs-run --epochs 1 --wait 0 2>/dev/null
	for delay in 0.1 0.3 0.6 0.9; do
		qs-run --epochs 3 --wait 0.2 2>/dev/null &
		pid=$!
		sleep "$delay"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run qs-decide --table table.csv --epsilon 0 <<< '{"pod":1,"latency":1,"requests":1}'
		assert_success
		run awk -F, 'NF != 12 { bad++ } END { print bad + 0 }' history.csv
		assert_output 0
	done
}

@test "a config file gives QS_* settings; the environment wins over it" {
	use_lab
	cat > qs.conf <<-EOC
	# qscale settings
	QS_WAIT=1
	export QS_TABLE="table.csv"
	QS_HISTORY='h.csv'
	EOC
	QS_HISTORY=env.csv run --separate-stderr qs-run --config qs.conf --epochs 1
	assert_success
	assert_equal "$(rows env.csv)" 1
	[ ! -e h.csv ]
	echo 'rm -rf /' > bad.conf
	run --separate-stderr qs-run --config bad.conf --epochs 1
	assert_failure 65
	assert_equal "$stderr" "qs-run: invalid config bad.conf: line 1: expected QS_NAME=value"
	run --separate-stderr qs-run --config nope.conf --epochs 1
	assert_failure 66
}

@test "bad usage is exit 64; a missing table 66" {
	run --separate-stderr qs-run
	assert_failure 64
	assert_equal "$(echo "$stderr" | head -1)" "qs-run: give --epochs n or --once"
	run --separate-stderr qs-run --epochs 1 --once
	assert_failure 64
	assert_equal "$stderr" "qs-run: --epochs and --once exclude each other"
	run --separate-stderr qs-run --epochs x
	assert_failure 64
	run --separate-stderr qs-run --epochs 1 --wait soon
	assert_failure 64
	run --separate-stderr qs-run --bogus
	assert_failure 64
	run --separate-stderr qs-run --epochs 1 --table nope.csv
	assert_failure 66
	assert_equal "$stderr" "qs-run: cannot open nope.csv: No such file or directory"
	run qs-run --help
	assert_success
	assert_line --index 0 --partial "usage: qs-run"
	run qs-run --version
	assert_output --regexp '^qs-run \(qscale\) '
}

@test "man page example: five epochs in the foreground" {
	use_lab
	run --separate-stderr qs-run --epochs 5 --wait 1 --table table.csv --history history.csv
	assert_success
	assert_equal "$(rows history.csv)" 5
}

@test "man page example: a cron tick" {
	use_lab
	run --separate-stderr qs-run --once --state-dir state --table table.csv --history history.csv
	assert_success
	[ -s state/pending.json ]
}
