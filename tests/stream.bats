#!/usr/bin/env bats
# --unbuffered: every record filter as a co-process in a closed loop, one
# record in and its answer out before the next record is written; without
# it, the answers wait for a full block or the end of the input.  The
# qs-observe one is in qs-observe.bats, beside its Prometheus.

load helpers
load simserve
load coprocess

local_teardown() {
	stop_sim
}

# Three states, one per line.
states() {
	printf '%s\n' '{"pod":1,"latency":100,"requests":5}' \
	    '{"pod":2,"latency":900,"requests":30}' \
	    '{"pod":3,"latency":1600,"requests":50}'
}

@test "qs-decide --unbuffered answers each record before the next; without it, it does not" {
	states >in
	qs-decide --table "$DATA/notebook-table.csv" --epsilon 0.5 --seed 7 <in >want
	run roundtrip in 30 qs-decide --unbuffered --table "$DATA/notebook-table.csv" --epsilon 0.5 --seed 7
	assert_success
	assert_equal "$(cat status)" 0
	assert_equal "$(wc -l <answers)" 3
	cmp want answers
	run roundtrip in 1 qs-decide --table "$DATA/notebook-table.csv" --epsilon 0.5 --seed 7
	assert_failure 1
	[ ! -s answers ]
	# What was held back comes at the end of the input.
	head -1 want | cmp - rest
}

@test "qs-decide --unbuffered answers CSV row by row, the header first" {
	printf 'pod,latency,requests\n1,100,5\n2,900,30\n' >in.csv
	qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 <in.csv >want
	run roundtrip in.csv 30 qs-decide --unbuffered --table "$DATA/notebook-table.csv" --epsilon 0
	assert_success
	cmp want answers
	run roundtrip in.csv 1 qs-decide --table "$DATA/notebook-table.csv" --epsilon 0
	assert_failure 1
}

@test "a long-lived qs-decide --unbuffered decides from the table qs-update replaced" {
	qs-init-table -o t.csv
	printf '%s\n' '{"pod":1,"latency":100,"requests":5}' '{"pod":1,"latency":100,"requests":5}' >in
	# After the first decision, Q(that state, 3) becomes the best.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$1" -eq 1 ] || return 0
		echo '{"pod":1,"latency":100,"requests":5,"action":3,"new_pod":3,"new_latency":100,"new_requests":5,"reward":100}' |
		    qs-update --table t.csv >/dev/null
	}
	run roundtrip in 30 qs-decide --unbuffered --table t.csv --epsilon 0
	assert_success
	run cat answers
	refute_line -n 0 --partial '"action":3,'
	assert_line -n 1 --partial '"action":3,'
	# A table read from a pipe is read once.
	unset -f between
	run roundtrip in 30 qs-decide --unbuffered --table <(cat t.csv) --epsilon 0
	assert_success
	assert_equal "$(grep -c '"action":3,' answers)" 2
}

@test "qs-decide --unbuffered is for records: not with --cpa or --policy" {
	run qs-decide --unbuffered --cpa --table "$DATA/notebook-table.csv"
	assert_failure 64
	assert_output "qs-decide: --unbuffered is for the records filter, not --cpa or --policy"
	run qs-decide --unbuffered --policy --table "$DATA/notebook-table.csv"
	assert_failure 64
}

@test "qs-reward --unbuffered answers each record before the next; without it, it does not" {
	printf '%s\n' '{"pod":1,"action":2,"latency":900,"new_latency":400}' \
	    '{"pod":2,"action":2,"latency":400,"new_latency":450}' \
	    '{"pod":2,"action":1,"latency":450,"new_latency":1200}' >in
	qs-reward <in >want
	run roundtrip in 30 qs-reward --unbuffered
	assert_success
	assert_equal "$(wc -l <answers)" 3
	cmp want answers
	run roundtrip in 1 qs-reward
	assert_failure 1
	head -1 want | cmp - rest
}

@test "qs-scale --unbuffered answers each record once it scaled; without it, it does not" {
	start_sim --replicas 1
	printf '%s\n' '{"action":2}' '{"action":4}' '{"action":3}' >in
	want=(2 4 3)
	# The deployment is at each record's count when its answer comes.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$(sim_state replicas)" = "${want[$1 - 1]}" ]
	}
	run roundtrip in 30 qs-scale --unbuffered --server "$URL" --deployment web
	assert_success
	assert_equal "$(cat status)" 0
	run cat answers
	assert_line -n 0 --regexp '^\{"action":2,.*"scaled":true'
	assert_line -n 1 --regexp '^\{"action":4,.*"scaled":true'
	assert_line -n 2 --regexp '^\{"action":3,.*"scaled":true'
	unset -f between
	run roundtrip in 1 qs-scale --server "$URL" --deployment web
	assert_failure 1
	[ ! -s answers ]
}

# Transitions of one state, a minute apart.
transitions() {
	local i
	for i in 1 2 3; do
		printf '{"time":"2026-12-01T09:0%d:00Z","pod":1,"latency":100,"requests":5,"action":2,"new_time":"2026-12-01T09:0%d:40Z","new_pod":2,"new_latency":100,"new_requests":5,"reward":10}\n' "$i" "$i"
	done
}

@test "qs-update --unbuffered commits each record before it answers; without it, it does not answer" {
	qs-init-table -o t.csv
	transitions >in
	# When an answer shows, its row is in the history and the table
	# changed; no lock is held, so another update goes through at once.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		assert_equal "$(tail -n +2 h.csv | wc -l)" "$1"
		! cmp -s t.csv last.csv || return 1
		cp t.csv last.csv
		if [ "$1" -eq 1 ]; then
			echo '{"pod":1,"latency":100,"requests":5,"action":2,"new_pod":2,"new_latency":100,"new_requests":5,"reward":100}' |
			    qs-update --table t.csv --lock-wait 0 >/dev/null
		fi
	}
	cp t.csv last.csv
	run roundtrip in 30 qs-update --unbuffered --table t.csv --history h.csv
	assert_success
	assert_equal "$(cat status)" 0
	run cat answers
	assert_line -n 0 --partial '"q_value":1,"epoch":0}'
	# 0.9 * 10.9 + 0.1 * 10: the update made between them counted.
	assert_line -n 1 --partial '"q_value":10.81,"epoch":1}'
	assert_line -n 2 --partial '"epoch":2}'
	unset -f between
	rm t.csv h.csv
	qs-init-table -o t.csv
	run roundtrip in 1 qs-update --table t.csv --history h.csv
	assert_failure 1
	[ ! -s answers ]
	# The record written before the input ended is committed then.
	assert_equal "$(tail -n +2 h.csv | wc -l)" 1
	assert_equal "$(wc -l <rest)" 1
}

@test "qs-update --unbuffered: a bad record fails alone, the records before it stay" {
	qs-init-table -o t.csv
	{ transitions | head -2; echo '{"pod":1,"latency":1,"requests":1,"action":99,"new_latency":1,"new_requests":1,"reward":1}'; } >in
	run --separate-stderr qs-update --unbuffered --table t.csv --history h.csv <in
	assert_failure 65
	assert_equal "$stderr" "qs-update: invalid record in <stdin>: line 3: action 99 is not an action column of the table"
	assert_equal "${#lines[@]}" 2
	assert_equal "$(tail -n +2 h.csv | wc -l)" 2
	# Without --unbuffered the same input changes nothing.
	qs-init-table -o b.csv
	run qs-update --table b.csv --history hb.csv <in
	assert_failure 65
	[ ! -e hb.csv ]
	cmp b.csv <(qs-init-table)
}

@test "qs-update --unbuffered skips a transition already in the history" {
	qs-init-table -o t.csv
	transitions | head -1 >in
	cat in in >twice
	run --separate-stderr qs-update --unbuffered --table t.csv --history h.csv <twice
	assert_success
	assert_equal "$stderr" "qs-update: <stdin>: line 2 (time 2026-12-01T09:01:00Z): this transition is already in h.csv; not applied again"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(tail -n +2 h.csv | wc -l)" 1
}

@test "without --unbuffered, a long input is written in blocks, not a write per record" {
	command -v strace >/dev/null || skip "no strace (make deps installs it)"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	for i in $(seq 200); do
		echo '{"pod":1,"action":2,"latency":900,"new_latency":400}'
	done >in
	strace -qq -o trace -e trace=write qs-reward <in >out
	[ "$(grep -c '^write(1,' trace)" -lt 10 ]
	strace -qq -o trace -e trace=write qs-reward --unbuffered <in >out
	assert_equal "$(grep -c '^write(1,' trace)" 200
}

@test "qs-update --unbuffered never writes a record whose commit failed" {
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	qs-init-table -o t.csv
	transitions >in
	qs-init-table -o want.csv
	head -1 in | qs-update --table want.csv >/dev/null
	# The second record's rename over the table fails.
	run --separate-stderr strace -f -o /dev/null -e trace=rename,renameat,renameat2 \
	    -e inject=rename,renameat,renameat2:error=EIO:when=2 \
	    qs-update --unbuffered --table t.csv --history h.csv <in
	assert_failure 73
	assert_equal "$stderr" "qs-update: cannot replace t.csv: Input/output error"
	assert_equal "${#lines[@]}" 1
	assert_line -n 0 --partial '"time":"2026-12-01T09:01:00Z"'
	assert_equal "$(tail -n +2 h.csv | wc -l)" 1
	cmp want.csv t.csv
}
