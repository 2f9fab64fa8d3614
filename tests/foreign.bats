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
