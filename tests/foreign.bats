#!/usr/bin/env bats
# qs-decide and qs-sim train as a harness that is not qscale's drives them:
# a simulator or controller that trains a table from its observations and
# pipes one record at a time through qs-decide --unbuffered, having read
# only the man pages.

load helpers
load coprocess

# $1 records of pod $2, latency $3, requests $4, one JSON object a line.
recs() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf '{"pod":%s,"latency":%s,"requests":%s}\n' "$2" "$3" "$4"
	done
}

@test "qs-decide warns once about observations outside the table, then counts them" {
	recs 3 9 100 10 > in.json
	recs 1 2 9000 10 >> in.json
	recs 2 9 9000 10 >> in.json
	run --separate-stderr qs-decide --table "$DATA/notebook-table.csv" \
	    --exploit < in.json
	assert_success
	[ "${#lines[@]}" -eq 6 ]
	# Each kind is named the first time, with its line; the rest counted.
	assert_equal "$stderr" "qs-decide: line 1: pod 9 is outside the table (1-3), using the nearest
qs-decide: line 4: latency 9000 is outside the table (0-2000), using the edge bucket
qs-decide: ... (and 4 more observations outside the table)"
}

@test "a co-process whose standard error nobody reads is not blocked by warnings" {
	# A harness that pipes standard error and never reads it: a warning
	# per record filled the pipe after about 900 records, and qs-decide hung.
	recs 3000 9 100 10 > in.json
	mkfifo err.fifo
	exec {e}<>err.fifo
	run timeout 60 bash -c 'qs-decide --unbuffered --exploit --table "$1" \
	    < in.json > out.json 2>err.fifo' _ "$DATA/notebook-table.csv"
	exec {e}<&-
	assert_success
	[ "$(wc -l < out.json)" -eq 3000 ]
}

# The planned table of the fixture's observations: t.csv, its model and
# metadata (a level window of 300 s).
planned() {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv \
	    2>/dev/null
}

@test "a stream whose time starts again from 0 (a new episode) starts the level window anew" {
	planned
	# An episode of 10 minutes, at 15 s, with a peak near its end; then
	# another from time 0 at the quiet load.
	for run in 1 2; do
		for ((i = 0; i <= 40; i++)); do
			r=20
			[ "$run" = 1 ] && [ "$i" -eq 39 ] && r=150
			printf '{"time":%d,"pod":5,"latency":300,"requests":%d}\n' \
			    $((i * 15)) "$r"
		done
	done > in.json
	run --separate-stderr qs-decide --unbuffered --exploit --table t.csv < in.json
	assert_success
	[ "${#lines[@]}" -eq 82 ]
	# Within an episode the peak holds the level for the window.
	assert_equal "$(jq -r .level <<<"${lines[40]}")" 150
	# The new episode's level is its own load, not the old peak held
	# until the new clock caught up with the old one.
	assert_equal "$(jq -r .level <<<"${lines[41]}")" 20
	assert_equal "$(jq -r .level <<<"${lines[81]}")" 20
	# A step back within the window is a clock set back: at the last time.
	printf '%s\n' '{"time":1000,"pod":5,"latency":300,"requests":150}' \
	    '{"time":990,"pod":5,"latency":300,"requests":20}' > back.json
	run --separate-stderr qs-decide --exploit --table t.csv < back.json
	assert_success
	assert_equal "$(jq -r .level <<<"${lines[1]}")" 150
}

@test "a time beyond 9e15 seconds is refused with 65 and one line, not overflowed" {
	planned
	printf '%s\n' '{"time":1e300,"pod":2,"latency":300,"requests":20}' > in.json
	run --separate-stderr qs-decide --unbuffered --exploit --table t.csv < in.json
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-decide: invalid record in <stdin>: line 1: time is not RFC 3339 or seconds since the epoch"
	# 9e15 is a time (a clock set wrong, not a bad record), and so in CSV.
	printf 'time,pod,latency,requests\n9e15,2,300,20\n' > in.csv
	run --separate-stderr qs-decide --exploit --table t.csv < in.csv
	assert_success
	printf 'time,pod,latency,requests\n0,1,300,20\n1e300,1,300,20\n' > obs.csv
	run --separate-stderr qs-sim train --observations obs.csv --table u.csv
	assert_failure 65
	assert_equal "$stderr" "qs-sim: invalid observations obs.csv: line 3: time is not RFC 3339 or seconds since the epoch"
	[ ! -e u.csv ]
}

@test "a co-process's malformed record ends the run with 65 and one line, after the decisions before it" {
	planned
	printf '%s\n' '{"time":0,"pod":2,"latency":300,"requests":20}' \
	    '{"time":15,"pod":2,"latency":300,"requests":25}' \
	    '{"time":30,"pod":2,"latency":NaN,"requests":25}' \
	    '{"time":45,"pod":2,"latency":300,"requests":25}' > in.json
	run roundtrip in.json 10 qs-decide --unbuffered --exploit --table t.csv
	# Two answers, then the end of the output where the third was awaited.
	assert_failure 1
	[ "$(wc -l < answers)" -eq 2 ]
	assert_equal "$(jq -r .action answers | wc -l)" 2
	assert_equal "$(cat status)" 65
	assert_equal "$(cat filter.err)" "qs-decide: invalid record in <stdin>: line 3: invalid token near 'NaN'"
	[ ! -s rest ]
}

@test "one record long before the stream does not change what qs-decide learns online" {
	planned
	# The fixture's observations as a harness's stream, its clock from
	# 1e9; the same stream after one record at time 0 (a warm-up, a
	# clock not yet set): after a gap, no ratio spans it, and what the
	# model learns of the stream is the same.  The stream's time step
	# was the mean since the first record, so that one gap made the next
	# record "a horizon later" for the rest of the run.
	awk -F, 'NR > 1 { printf "{\"time\":%d,\"pod\":%s,\"latency\":%s,\"requests\":%s}\n", 1e9 + $1, $2, $3, $4 }' \
	    "$DATA/plan-observations.csv" > stream.json
	{
		echo '{"time":0,"pod":1,"latency":300,"requests":5}'
		cat stream.json
	} > early.json
	qs-decide --unbuffered --exploit --table t.csv < stream.json |
	    jq -c '[.time, .action]' > stream.out
	qs-decide --unbuffered --exploit --table t.csv < early.json |
	    jq -c '[.time, .action]' | tail -n +2 > early.out
	[ "$(wc -l < stream.out)" -eq 719 ]
	run diff stream.out early.out
	assert_success
	# The model does learn from the stream: it is not the table as it is.
	qs-decide --exploit --no-adapt --table t.csv < stream.json |
	    jq -c '[.time, .action]' > fixed.out
	run cmp -s stream.out fixed.out
	assert_failure
}

@test "train --observations: a gap's length beyond the horizon does not change the table" {
	# The fixture's observations with a gap of 100 and of 1000 steps in
	# the middle: no ratio spans either, so the tables are the same.  The
	# time step was the series' mean, which the longer gap made 36 s, and
	# ratios over 45 s were learned as the 60-s horizon's.
	for g in 100 1000; do
		awk -F, -v g="$g" -v OFS=, 'NR > 361 { $1 += g * 15 } { print }' \
		    "$DATA/plan-observations.csv" > gap$g.csv
		qs-sim train --observations gap$g.csv --table t$g.csv 2>/dev/null
	done
	cmp t100.csv t1000.csv
	cmp t100.csv.model t1000.csv.model
}

@test "a planned table in a read-only directory decides; a model it cannot read is 66 unless --no-adapt" {
	planned
	head -40 "$DATA/plan-observations.csv" > obs.csv
	awk -F, 'NR > 1 { printf "{\"time\":%s,\"pod\":%s,\"latency\":%s,\"requests\":%s}\n", $1, $2, $3, $4 }' \
	    obs.csv > in.json
	mkdir ro
	mv t.csv t.csv.meta t.csv.model ro/
	rm -f t.csv.lock
	chmod 444 ro/*
	chmod 555 ro
	# Two at once, as parallel harness runs: neither writes beside the table.
	as_nobody qs-decide --unbuffered --exploit --table ro/t.csv < in.json > a.json &
	as_nobody qs-decide --unbuffered --exploit --table ro/t.csv < in.json > b.json
	wait $!
	[ "$(wc -l < a.json)" -eq 39 ]
	cmp a.json b.json
	run ls ro
	assert_output "t.csv
t.csv.meta
t.csv.model"
	chmod 755 ro
	chmod 000 ro/t.csv.model
	run --separate-stderr as_nobody qs-decide --exploit --table ro/t.csv < in.json
	assert_failure 66
	assert_output ""
	assert_equal "$stderr" "qs-decide: cannot open ro/t.csv.model: Permission denied"
	run --separate-stderr as_nobody qs-decide --exploit --no-adapt --table ro/t.csv < in.json
	assert_success
	[ "${#lines[@]}" -eq 39 ]
}

@test "a harness's CSV over a pipe, CRLF, columns in its own order, extra fields: answered row by row, as JSON is" {
	planned
	awk -F, 'NR > 1 && NR <= 41 { printf "{\"time\":%s,\"pod\":%s,\"latency\":%s,\"requests\":%s}\n", $1, $2, $3, $4 }' \
	    "$DATA/plan-observations.csv" > in.json
	{
		printf 'requests,note,latency,time,pod\r\n'
		awk -F, 'NR > 1 && NR <= 41 { printf "%s,\"a, b\",%s.0,%s,%s\r\n", $4, $3, $1, $2 }' \
		    "$DATA/plan-observations.csv"
	} > in.csv
	run roundtrip in.csv 10 qs-decide --unbuffered --exploit --table t.csv
	assert_success
	assert_equal "$(cat status)" 0
	# The header line, then one answer a row.
	[ "$(wc -l < answers)" -eq 41 ]
	assert_equal "$(head -1 answers)" "requests,note,latency,time,pod,level,action,random,why"
	qs-decide --exploit --table t.csv < in.json | jq -r .action > want
	tail -n +2 answers | awk -F, '{ print $(NF - 2) }' > got
	cmp want got
}

@test "a long-lived qs-decide warns again when the table is replaced by one with other ranges" {
	qs-init-table -o t.csv
	recs 4 9 100 10 > in.json
	# The table replaced after the second answer, by one of 1-5 replicas.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$1" -eq 2 ] || return 0
		qs-init-table -f --max-replicas 5 -o t.csv
	}
	run roundtrip in.json 30 qs-decide --unbuffered --exploit --table t.csv
	assert_success
	assert_equal "$(cat status)" 0
	assert_equal "$(cat filter.err)" "qs-decide: line 1: pod 9 is outside the table (1-3), using the nearest
qs-decide: line 3: pod 9 is outside the table (1-5), using the nearest
qs-decide: ... (and 2 more observations outside the table)"
}

@test "a long-lived qs-decide whose table no longer loads counts the observations outside it before its error" {
	qs-init-table -o t.csv
	recs 3 9 100 10 > in.json
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$1" -eq 2 ] || return 0
		echo garbage > bad.csv
		mv bad.csv t.csv
	}
	run roundtrip in.json 30 qs-decide --unbuffered --exploit --table t.csv
	assert_equal "$(cat status)" 65
	assert_equal "$(cat filter.err)" "qs-decide: line 1: pod 9 is outside the table (1-3), using the nearest
qs-decide: ... (and 1 more observation outside the table)
qs-decide: invalid table t.csv: line 1: column garbage should be pod"
}
