#!/usr/bin/env bats
# qs-run: the learning loop against qs-sim serve and a real Prometheus.

load helpers
# One lab for the whole file (setup_file), whose state the tests change or
# time: they run one at a time, even under bats --jobs.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

# One simulated cluster and Prometheus for the file: Prometheus needs a few
# seconds before its first scrape.
setup_file() {
	lab_file_init
	lab_start "$LAB" --rate 0.6 --replicas 1 --seed 3
	lab_wait_data "$LAB" 3s
}

teardown_file() {
	lab_file_done
}

# Settings for the tools, as a user's config would give them.
use_lab() {
	lab_tool_opts 3
	export QS_DECIDE_OPTS="--seed 5"
	[ -e table.csv ] || qs-init-table --request-width 2 -o table.csv
}

# Wait until Prometheus has three scrapes in the tools' 3-s window: a
# scrape late under load would leave a tick's observation, which has no
# retries, empty.
fresh_data() {
	# shellcheck source=../scripts/lab.bash
	. "$BATS_TEST_DIRNAME/../scripts/lab.bash"
	lab_wait_data "$LAB" 3s
}

sim_replicas() {
	curl -fsS "$SIM_URL/qs-sim/state" |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["replicas"])'
}

# The number of transitions in flight in st/pending.
npending() {
	find st/pending -name '*.json' 2>/dev/null | wc -l
}

# The number of data rows of a CSV file.
rows() {
	if [ -e "$1" ]; then echo $(($(wc -l < "$1") - 1)); else echo 0; fi
}

# A wrapper for a tool, first on PATH: the script on standard input, which
# finds the real tool in $REAL and a path of its own in $GATE; --help goes
# to the real tool unless WRAP_HELP=0.
wrap() {
	local real
	real=$(command -v "$1")
	mkdir -p "$T/wrap"
	{
		echo '#!/usr/bin/env bash'
		echo "REAL=$real GATE=$T/gate"
		# qs-run asks each tool for --help, for the options it has.
		[ "${WRAP_HELP:-1}" = 0 ] || echo '[ "${1:-}" != --help ] || exec "$REAL" "$@"'
		cat
	} > "$T/wrap/$1"
	chmod +x "$T/wrap/$1"
	PATH=$T/wrap:$PATH
}

# Wait until a file exists, for at most a minute, so that a broken test
# fails rather than hangs.
await() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	echo "no $1 after a minute" >&2
	return 1
}

# Whatever a test left waiting at a gate goes on; a state directory
# mounted for a test is unmounted.
local_teardown() {
	if [ -d "$T/gate" ]; then touch "$T/gate/go"; fi
	if mountpoint -q "$T/st"; then umount "$T/st"; fi
}

@test "--epochs: one history row per epoch, the table as the history says, replicas follow" {
	use_lab
	run --separate-stderr qs-run --epochs 3 --period 1 --wait 1
	assert_success
	assert_equal "$(rows history.csv)" 3
	# Each transition, due a moment after the next period's start, is
	# completed before that period's decision: its after-state is its own.
	run awk -F, 'NR > 2 && $11 < nt { print "row " NR - 1 " decided at " $11 " before " nt }
	    { nt = $12 }' history.csv
	assert_output ""
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
	assert_equal "$(npending)" 1
	assert_equal "$(rows history.csv)" 0
	first=$(cat st/pending/*.json)
	sleep 1
	run --separate-stderr qs-run --once --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(rows history.csv)" 1
	# The finished transition is the one the first tick started.
	run cut -d, -f2-5 <(tail -1 history.csv)
	# shellcheck disable=SC2001 # a field of a JSON line, by sed's group
	pod=$(echo "$first" | sed 's/.*"pod":\([0-9]*\).*/\1/')
	# shellcheck disable=SC2001 # the same
	action=$(echo "$first" | sed 's/.*"action":\([0-9]*\).*/\1/')
	assert_output --regexp "^$pod,[0-9]+,[0-9]+,$action\$"
	assert_equal "$(npending)" 1
	[ "$(cat st/pending/*.json)" != "$first" ]
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
	assert_equal "$(npending)" 0
}

@test "two ticks started together never both run" {
	use_lab
	qs-run --once --state-dir st 2>/dev/null
	# The first tick to reach qs-update stays there, holding the lock, until
	# the second has tried; a second one in there too would pass through.
	wrap qs-update <<-'EOS'
	if mkdir "$GATE" 2>/dev/null; then
		touch "$GATE/in"
		for ((i = 0; i < 1200; i++)); do
			[ -e "$GATE/go" ] && break
			sleep 0.05
		done
	fi
	exec "$REAL" "$@"
	EOS
	qs-run --once --state-dir st --wait 0 --max-age 60 2> a.err & a=$!
	await gate/in
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	touch gate/go
	sa=0
	wait "$a" || sa=$?
	assert_failure 75
	assert_equal "$stderr" "qs-run: another tick holds st/lock"
	assert_equal "$sa" 0
	assert_equal "$(rows history.csv)" 1
	assert_equal "$(npending)" 1
}

@test "a tick with Prometheus unreachable learns nothing and scales nothing" {
	use_lab
	qs-run --once --state-dir st 2>/dev/null
	sleep 1
	table=$(digest table.csv)
	before=$(sim_replicas)
	dead=$(free_port)
	export QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$dead --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	run --separate-stderr qs-run --once --state-dir st --wait 1 --max-age 60
	assert_success
	assert_output ""
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: tick failed (status 69, 1 in a row); nothing learned, nothing scaled"
	assert_equal "$(digest table.csv)" "$table"
	assert_equal "$(rows history.csv)" 0
	assert_equal "$(sim_replicas)" "$before"
	# The pending transition is dropped: its after-state was never seen.
	assert_equal "$(npending)" 0
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
	run --separate-stderr qs-run --epochs 5 --period 0.1 --wait 0 --max-failures 2
	assert_failure 69
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: giving up after 2 failed epochs"
	[ ! -e history.csv ] || assert_equal "$(rows history.csv)" 0
}

@test "a killed tick leaves table and history readable" {
	use_lab
	fresh_data
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	# A fresh table holds: without a second between them, both decisions
	# would have the same time, state and action, one transition to
	# qs_history_seen.
	sleep 1
	fresh_data
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$(rows history.csv)" 1
	table=$(digest table.csv)
	history=$(digest history.csv)
	# qs-update writes its answer into a full pipe: it blocks there with
	# the new table written beside the old, before the history and the
	# rename.  Then the whole tick is killed.
	wrap qs-update <<-'EOS'
	mkfifo "$GATE.fifo"
	exec 3<> "$GATE.fifo"
	dd if=/dev/zero of="$GATE.fifo" bs=4096 oflag=nonblock 2>/dev/null
	echo "$$" > "$GATE.pid"
	exec "$REAL" "$@" >&3
	EOS
	fresh_data
	setsid qs-run --once --state-dir st --wait 0 --max-age 60 2>/dev/null &
	pid=$!
	await gate.pid
	writer=$(cat gate.pid)
	# It is blocked in the kernel's pipe_write (anon_pipe_write on newer kernels).
	for ((i = 0; i < 1200; i++)); do
		[[ $(cat "/proc/$writer/wchan" 2>/dev/null) == *pipe_write ]] && break
		sleep 0.05
	done
	wchan=$(cat "/proc/$writer/wchan")
	kill -KILL -- "-$(ps -o pgid= -p "$writer" | tr -d ' ')"
	wait "$pid" || true
	assert_regex "$wchan" 'pipe_write$'
	assert_equal "$(digest table.csv)" "$table"
	assert_equal "$(digest history.csv)" "$history"
	run qs-decide --table table.csv --epsilon 0 <<< '{"pod":1,"latency":1,"requests":1}'
	assert_success
	# The transition was not learned, so it is still pending: the next tick
	# learns it, once.
	PATH=${PATH#"$T/wrap:"}
	fresh_data
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$(rows history.csv)" 2
	run awk -F, 'NF != 14 { bad++ } END { print bad + 0 }' history.csv
	assert_output 0
}

# The state directory (issue 12): what a tick reads from it is data, what it
# writes is checked, what a killed tick leaves is cleared.

@test "state/failures is read as digits only, never evaluated" {
	use_lab
	dead=$(free_port)
	export QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$dead --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	mkdir st
	# shellcheck disable=SC2016 # the text an attacker would leave
	echo 'BASH_VERSINFO[$(touch pwned)]' > st/failures
	run --separate-stderr qs-run --once --state-dir st
	[ ! -e pwned ]
	assert_success
	assert_equal "$(echo "$stderr" | tail -2)" "qs-run: ignoring st/failures: not a count of failed ticks
qs-run: tick failed (status 69, 1 in a row); nothing learned, nothing scaled"
	assert_equal "$(cat st/failures)" 1
	echo 'three' > st/failures
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(cat st/failures)" 1
	# Leading zeros are decimal, not octal.
	echo 08 > st/failures
	run --separate-stderr qs-run --once --state-dir st --max-failures 20
	assert_success
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: tick failed (status 69, 9 in a row); nothing learned, nothing scaled"
	assert_equal "$(cat st/failures)" 9
}

@test "a symbolic link as state/lock, state/failures or in state/pending is refused, its target kept" {
	use_lab
	dead=$(free_port)
	export QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$dead --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	mkdir st
	echo precious > victim
	ln -s ../victim st/lock
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 73
	assert_equal "$stderr" "qs-run: cannot use st/lock: it is a symbolic link"
	assert_equal "$(cat victim)" precious
	# A lock file is never truncated.
	rm st/lock
	echo 'not empty' > st/lock
	ln -s ../victim st/failures
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 73
	assert_equal "$stderr" "qs-run: cannot use st/failures: it is a symbolic link"
	assert_equal "$(cat victim)" precious
	assert_equal "$(cat st/lock)" 'not empty'
	rm st/failures
	# The directory of the transitions in flight, and each file in it.
	mkdir elsewhere
	rm -r st/pending
	ln -s ../elsewhere st/pending
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 73
	assert_equal "$stderr" "qs-run: cannot use st/pending: it is a symbolic link"
	rm st/pending
	mkdir st/pending
	ln -s ../../victim st/pending/1000000000000000.json
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 73
	assert_equal "$stderr" "qs-run: cannot use st/pending/1000000000000000.json: it is a symbolic link"
	assert_equal "$(cat victim)" precious
	rm st/pending/1000000000000000.json
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(cat st/failures)" 1
	assert_equal "$(cat st/lock)" 'not empty'
	assert_equal "$(ls -A elsewhere)" ""
}

@test "a tick that cannot save its transition does not scale; nor is its failure count lost" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	use_lab
	mkdir st
	mount -t tmpfs -o size=64k qs-run-test st || skip "cannot mount a tmpfs"
	# A table that always chooses 3 replicas, from 1: Q(s, 3) 1, visited.
	awk -F, -v OFS=, 'NR > 1 { $8 = 1; $9 = 1 } 1' table.csv > t.csv && mv t.csv table.csv
	export QS_DECIDE_OPTS="--epsilon 0"
	# shellcheck disable=SC2086 # options, split as qs-run splits them
	echo '{"action":1}' | qs-scale $QS_SCALE_OPTS > /dev/null
	assert_equal "$(sim_replicas)" 1
	echo 1 > st/failures
	dd if=/dev/zero of=st/fill bs=4k 2>/dev/null || true
	run --separate-stderr qs-run --once --state-dir st
	assert_failure 73
	assert_regex "$stderr" "^qs-run: cannot save st/pending/[0-9]{16}.json: No space left on device
qs-run: cannot save st/failures: No space left on device\$"
	assert_equal "$(sim_replicas)" 1
	assert_equal "$(npending)" 0
	assert_equal "$(cat st/failures)" 1
	assert_equal "$(cd st && printf "%s\n" * | grep -vx metrics.prom.lock)" "failures
fill
lock
pending"
	# With room again, the same tick scales and saves.
	rm st/fill
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(sim_replicas)" 3
	assert_equal "$(npending)" 1
	[ ! -e st/failures ]
}

@test "a transition older than --max-age is dropped, one younger than the wait kept, neither learned" {
	use_lab
	qs-run --once --state-dir st 2>/dev/null
	table=$(digest table.csv)
	# Set the time of the newest transition in flight, the only one left.
	retime() {
		f=$(find st/pending -name '*.json' | sort | tail -1)
		find st/pending -name '*.json' ! -path "$f" -delete
		sed -i "s/\"time\":\"[^\"]*\"/\"time\":\"$1\"/" "$f"
	}
	retime "$(date -u -d '11 days ago' +%Y-%m-%dT%H:%M:%SZ)"
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	[[ $stderr =~ ^"qs-run: dropping $f: observed 95040"[0-9]" s ago, more than --max-age (120 s)"$ ]]
	[ ! -e "$f" ]
	assert_equal "$(npending)" 1
	# The bound follows the wait, the period and the lock wait.
	retime "$(date -u -d '100 seconds ago' +%Y-%m-%dT%H:%M:%SZ)"
	run --separate-stderr qs-run --once --state-dir st --wait 30 --period 5 --lock-wait 5
	assert_success
	[[ $stderr =~ ^"qs-run: dropping $f: observed 10"[0-9]" s ago, more than --max-age (55 s)"$ ]]
	# Just observed: younger than the wait, 60 s by default, it stays in
	# flight, and the tick starts one more.
	retime "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$stderr" ""
	[ -e "$f" ]
	assert_equal "$(npending)" 2
	retime "$(date -u -d '1 hour' +%Y-%m-%dT%H:%M:%SZ)"
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$stderr" "qs-run: dropping $f: its time is in the future"
	retime soon
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$stderr" "qs-run: dropping $f: it has no valid time"
	assert_equal "$(rows history.csv)" 0
	assert_equal "$(digest table.csv)" "$table"
	# Within the bounds, it is learned.
	retime "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$(rows history.csv)" 1
	[ ! -e "$f" ]
	run --separate-stderr qs-run --once --max-age soon
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --max-age: soon (seconds, a decimal number)"
}

@test "a killed tick leaves no scratch behind, and the next clears its temporary files" {
	use_lab
	mkdir tmp
	export TMPDIR=$T/tmp
	# The tick is killed while qs-scale runs: the planned transition is
	# saved, but it is not pending, since it may never have been applied.
	wrap qs-scale <<-'EOS'
	touch "$GATE.in"
	sleep 600
	EOS
	setsid qs-run --once --state-dir st 2>/dev/null &
	pid=$!
	await gate.in
	kill -KILL -- "-$(ps -o pgid= -p "$pid" | tr -d ' ')"
	wait "$pid" || true
	assert_equal "$(ls -A tmp)" ""
	assert_equal "$(cd st && printf "%s\n" * | grep -vx recommendations)" "lock
pending"
	assert_regex "$(ls st/pending)" '^[0-9]{16}[.]json[.]new$'
	PATH=${PATH#"$T/wrap:"}
	echo 2 > st/pending/1000000000000000.json.tmp
	echo 3 > st/failures.tmp
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(cd st && printf "%s\n" * | grep -vxE 'recommendations|metrics[.]prom([.]lock)?')" "lock
pending"
	assert_regex "$(ls st/pending)" '^[0-9]{16}[.]json$'

	assert_equal "$(ls -A tmp)" ""
	assert_equal "$(rows history.csv)" 0
}

@test "a tick killed after qs-update, before the pending file is gone: learned once" {
	use_lab
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$(npending)" 1
	# A qs-update first in PATH that kills qs-run once it has succeeded.
	mkdir wrap
	cat > wrap/qs-update <<-EOW
	#!/bin/sh
	[ "\${1:-}" != --help ] || exec "$(command -v qs-update)" "\$@"
	"$(command -v qs-update)" "\$@" || exit
	if [ -e "$T/kill" ]; then rm -f "$T/kill"; kill -9 "\$PPID"; fi
	EOW
	chmod +x wrap/qs-update
	touch kill
	sleep 1
	PATH="$T/wrap:$PATH" run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_failure 137
	[ ! -e kill ]
	assert_equal "$(npending)" 1
	assert_equal "$(rows history.csv)" 1
	once=$(digest table.csv)
	time=$(sed 's/.*"time":"\([^"]*\)".*/\1/' st/pending/*.json)
	# The next tick finishes the same transition again: it is skipped.
	PATH="$T/wrap:$PATH" run --separate-stderr qs-run --once --state-dir st --wait 0 --max-age 60
	assert_success
	assert_equal "$(rows history.csv)" 1
	assert_equal "$(grep -c ",$time," history.csv)" 1
	assert_equal "$(digest table.csv)" "$once"
	echo "$stderr" | grep -q 'this transition is already in history.csv; not applied again'
	assert_equal "$(npending)" 1
}

@test "a config file gives QS_* settings; the environment wins over it" {
	use_lab
	cat > qs.conf <<-EOC
	# qscale settings
	QS_WAIT=1
	export QS_TABLE=table.csv
	QS_HISTORY=h.csv
	EOC
	QS_HISTORY=env.csv run --separate-stderr qs-run --config qs.conf --epochs 1
	assert_success
	assert_equal "$(rows env.csv)" 1
	[ ! -e h.csv ]
	echo 'rm -rf /' > bad.conf
	run --separate-stderr qs-run --config bad.conf --epochs 1
	assert_failure 65
	assert_equal "$stderr" "qs-run: invalid config bad.conf: line 1: expected QS_NAME=value"
	# A value is literal: quotes are part of it (tests/config.bats).
	echo 'QS_TABLE="table.csv"' > quoted.conf
	run --separate-stderr qs-run --config quoted.conf --epochs 1
	assert_failure 66
	assert_equal "$stderr" 'qs-run: cannot open "table.csv": No such file or directory'
	run --separate-stderr qs-run --config nope.conf --epochs 1
	assert_failure 66
}

@test "bad usage is exit 64; a missing table 66" {
	run --separate-stderr qs-run
	assert_failure 64
	assert_equal "$(echo "$stderr" | head -1)" "qs-run: give --epochs n, --once, --loop or --init-table"
	run --separate-stderr qs-run --epochs 1 --once
	assert_failure 64
	assert_equal "$stderr" "qs-run: --epochs, --once, --loop and --init-table exclude each other"
	run --separate-stderr qs-run --loop --once
	assert_failure 64
	run --separate-stderr qs-run --loop --period 0
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --period: 0 (a number from 0.001 to 1e+09)"
	# qs-init-table's bounds for the period it records, and its numbers.
	run --separate-stderr qs-run --loop --period 2e9 --state-dir st
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --period: 2e9 (a number from 0.001 to 1e+09)"
	[ ! -e st ]
	run --separate-stderr qs-run --loop --period 0.0009
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --period: 0.0009 (a number from 0.001 to 1e+09)"
	QS_PERIOD=1e10 run --separate-stderr qs-run --epochs 1
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid QS_PERIOD: 1e10 (a number from 0.001 to 1e+09)"
	QS_PERIOD=1e9 run --separate-stderr qs-run --epochs 1 --table nope.csv
	assert_failure 66
	run --separate-stderr qs-run --loop --period 0.001 --table nope.csv
	assert_failure 66
	# qs-update's bound for the ages a run passes it, checked before anything.
	run --separate-stderr qs-run --epochs 1 --max-age 2000000000 --table nope.csv
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --max-age: 2000000000 (seconds, at most 1e+09)"
	QS_WAIT=1000000001 run --separate-stderr qs-run --epochs 1 --table nope.csv
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid QS_WAIT: 1000000001 (seconds, at most 1e+09)"
	QS_PERIOD=1e9 QS_MAX_AGE=1000000000 run --separate-stderr qs-run --epochs 1 --table nope.csv
	assert_failure 66
	# A bound below the wait would drop every transition, learning nothing.
	QS_MAX_AGE=0 run --separate-stderr qs-run --epochs 1 --table nope.csv
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid QS_MAX_AGE: 0 (seconds, at least --wait, 60)"
	QS_WAIT=30 run --separate-stderr qs-run --epochs 1 --max-age 29.5 --table nope.csv
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid --max-age: 29.5 (seconds, at least QS_WAIT, 30)"
	run --separate-stderr qs-run --epochs 1 --wait 30 --max-age 30 --table nope.csv
	assert_failure 66
	run --separate-stderr qs-run --epochs x
	assert_failure 64
	run --separate-stderr qs-run --epochs 1 --wait soon
	assert_failure 64
	run --separate-stderr qs-run --bogus
	assert_failure 64
	# A value from the environment (or a config file) is named so.
	QS_WAIT=soon run --separate-stderr qs-run --epochs 1
	assert_failure 64
	assert_equal "$stderr" "qs-run: invalid QS_WAIT: soon (seconds, a decimal number)"
	QS_WAIT=soon run --separate-stderr qs-run --epochs 1 --wait later
	assert_equal "$stderr" "qs-run: invalid --wait: later (seconds, a decimal number)"
	QS_PERIOD=0 run --separate-stderr qs-run --epochs 1
	assert_equal "$stderr" "qs-run: invalid QS_PERIOD: 0 (a number from 0.001 to 1e+09)"
	QS_MAX_AGE=soon run --separate-stderr qs-run --epochs 1
	assert_equal "$stderr" "qs-run: invalid QS_MAX_AGE: soon (seconds, a decimal number)"
	QS_MAX_FAILURES=0 run --separate-stderr qs-run --epochs 1
	assert_equal "$stderr" "qs-run: invalid QS_MAX_FAILURES: 0 (a whole number above 0)"
	QS_METRICS_LISTEN=127.0.0.1:0 run --separate-stderr qs-run --once
	assert_failure 64
	assert_equal "$stderr" "qs-run: QS_METRICS_LISTEN needs --loop or --epochs; with --once, use STATE/metrics.prom"
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
	run --separate-stderr qs-run --epochs 5 --period 1 --wait 1 --table table.csv --history history.csv
	assert_success
	assert_equal "$(rows history.csv)" 5
}

@test "man page example: a cron tick" {
	use_lab
	run --separate-stderr qs-run --once --state-dir state --table table.csv --history history.csv
	assert_success
	assert_equal "$(find state/pending -name "*.json" | wc -l)" 1
}

@test "qs-update gets --min-age (the wait less the slack, at least half the wait) and --max-age, qs-scale --recommendations, once they take them" {
	use_lab
	# Tools that say they take the options, log them, and run the real
	# tools without.
	for t in qs-update qs-scale; do
		WRAP_HELP=0 wrap "$t" <<-'EOS'
		if [ "${1:-}" = --help ]; then
			"$REAL" --help
			echo "      --min-age s"
			echo "      --recommendations file"
			exit 0
		fi
		args=()
		while [ $# -gt 0 ]; do
			case $1 in
			--min-age | --max-age | --recommendations) echo "${0##*/} $1 $2" >> "$GATE.args"; shift 2 ;;
			*) args+=("$1"); shift ;;
			esac
		done
		exec "$REAL" "${args[@]}"
		EOS
	done
	# The slack is a second: 1.5 less 1 is under half the wait, 0.75.
	run --separate-stderr qs-run --epochs 1 --period 2 --wait 1.5 --lock-wait 1 --state-dir st
	assert_success
	assert_equal "$(rows history.csv)" 1
	assert_equal "$(sort gate.args)" "qs-scale --recommendations st/recommendations
qs-update --max-age 10.5
qs-update --min-age 0.75"
	# A period of years: the wait plus four periods would be beyond what
	# qs-update takes, and its first completion, after a scale, would fail.
	rm gate.args
	run --separate-stderr qs-run --epochs 1 --period 3e8 --wait 1.5 --state-dir st2
	assert_success
	assert_equal "$(rows history.csv)" 2
	assert_equal "$(grep max-age gate.args)" "qs-update --max-age 1000000000"
}

@test "--epochs never waits for a transition named in the future: its record's time counts" {
	use_lab
	mkdir -p st/pending
	# It holds (a fresh table, no exploring): nobody scales for it, and a
	# random move would be dropped as not its own.
	# shellcheck disable=SC2086 # options, split as qs-run splits them
	qs-observe $QS_OBSERVE_OPTS | qs-decide --table table.csv --exploit --format json > st/pending/9999999999999999.json
	# A hang would be a bug: timeout(1) makes it a failure.
	run --separate-stderr timeout 60 qs-run --epochs 1 --period 1 --wait 1 --state-dir st
	assert_success
	assert_equal "$(rows history.csv)" 2
	assert_equal "$(npending)" 0
}

@test "qs-decide gets --recent st/recent, the level window's memory from tick to tick" {
	use_lab
	WRAP_HELP=0 wrap qs-decide <<-'EOS'
	[ "${1:-}" != --help ] || exec "$REAL" --help
	[ "${1:-}" != --recent ] || echo "$1 $2" >> "$GATE.args"
	exec "$REAL" "$@"
	EOS
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(cat gate.args)" "--recent st/recent"
}

@test "a query Prometheus refuses (qs-observe 78) fails the tick and the run at once, never counted as an outage" {
	use_lab
	run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(npending)" 1
	table=$(digest table.csv)
	before=$(sim_replicas)
	export QS_OBSERVE_OPTS="--prometheus $PROM_URL --window 3s --deployment web --kube-server $SIM_URL --retries 3 --requests-query sum(http_server_requests_total"
	run --separate-stderr qs-run --once --state-dir st --wait 0 --max-failures 5
	assert_failure 78
	assert_output ""
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: tick failed: a configuration error (status 78); nothing learned, nothing scaled"
	assert_regex "$stderr" "qs-observe: cannot get requests from $PROM_URL: invalid query sum\\(http_server_requests_total: HTTP 400 Bad Request: bad_data: "
	[ ! -e st/failures ]
	# The transition due is kept for the run with the query mended.
	assert_equal "$(npending)" 1
	assert_equal "$(digest table.csv)" "$table"
	assert_equal "$(sim_replicas)" "$before"
	run --separate-stderr qs-run --epochs 3 --period 0.1 --wait 0 --max-failures 3
	assert_failure 78
	assert_equal "$(echo "$stderr" | tail -1)" "qs-run: epoch 1 failed: a configuration error (status 78); stopping"
	[ ! -e history.csv ] || assert_equal "$(rows history.csv)" 0
}
