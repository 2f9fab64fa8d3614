#!/usr/bin/env bats
# qs-init-table: a fresh Q-table, with visits or in the notebook's layout.

load helpers

@test "--layout notebook is byte for byte the notebook's fresh table" {
	run qs-init-table --layout notebook
	assert_success
	qs-init-table --layout notebook > t.csv
	cmp t.csv "$DATA/notebook-fresh-table.csv"
}

@test "options shape the grid: replicas, buckets, widths, row order" {
	run qs-init-table --min-replicas 2 --max-replicas 4 --latency-width 100 \
	    --latency-buckets 2 --request-width 10 --request-buckets 2
	assert_success
	assert_line -n 0 "pod,initial_latency,end_latency,initial_request,end_request,2,3,4,visits"
	assert_line -n 1 "2,0,100,0,10,0,0,0,0"
	assert_line -n 4 "2,101,200,0,10,0,0,0,0"
	assert_line -n 7 "2,0,100,11,20,0,0,0,0"
	assert_line -n 12 "4,101,200,11,20,0,0,0,0"
	assert_equal "${#lines[@]}" 13
}

@test "-o writes the file; an existing file needs --force" {
	run qs-init-table -o t.csv --layout notebook
	assert_success
	assert_output ""
	cmp t.csv "$DATA/notebook-fresh-table.csv"
	echo keep > t.csv
	run qs-init-table -o t.csv
	assert_failure 73
	assert_output "qs-init-table: cannot create t.csv: File exists (use --force)"
	assert_equal "$(cat t.csv)" keep
	run qs-init-table -f -o t.csv --max-replicas 2
	assert_success
	assert_equal "$(head -1 t.csv)" "pod,initial_latency,end_latency,initial_request,end_request,1,2,visits"
}

@test "a written table loads in qs-decide" {
	qs-init-table -o t.csv --max-replicas 5
	run qs-decide --table t.csv --epsilon 0 <<< '{"pod":5,"latency":10,"requests":1}'
	assert_success
	assert_output '{"pod":5,"latency":10,"requests":1,"action":5,"random":false,"why":"hold"}'
}

@test "nonsense ranges are refused with exit 64" {
	run qs-init-table --min-replicas 3 --max-replicas 2
	assert_failure 64
	assert_output "qs-init-table: --max-replicas 2 is below --min-replicas 3"
	# A value from the environment is named as such.
	QS_MIN_REPLICAS=3 QS_MAX_REPLICAS=2 run qs-init-table
	assert_failure 64
	assert_output "qs-init-table: QS_MAX_REPLICAS 2 is below QS_MIN_REPLICAS 3"
	QS_MIN_REPLICAS=5 run qs-init-table
	assert_failure 64
	assert_output "qs-init-table: --max-replicas 3 is below QS_MIN_REPLICAS 5"
	QS_MAX_REPLICAS=2 run qs-init-table --min-replicas 3
	assert_failure 64
	assert_output "qs-init-table: QS_MAX_REPLICAS 2 is below --min-replicas 3"
	run qs-init-table --latency-buckets 0
	assert_failure 64
	assert_output "qs-init-table: invalid --latency-buckets: 0 (an integer from 1 to 100000)"
	run qs-init-table --request-buckets 0
	assert_failure 64
	run qs-init-table --request-width -1
	assert_failure 64
	run qs-init-table --latency-width x
	assert_failure 64
	run qs-init-table extra
	assert_failure 64
	assert_output --partial "usage: qs-init-table"
	run qs-init-table --force
	assert_failure 64
}

@test "an unwritable directory is exit 73 and leaves nothing" {
	mkdir ro
	chmod 555 ro
	run as_nobody qs-init-table -o ro/t.csv
	assert_failure 73
	assert_output --partial "qs-init-table: cannot create a temporary file for ro/t.csv:"
	run ls -A ro
	assert_output ""
}

@test "a full stdout is exit 74" {
	run bash -c 'qs-init-table > /dev/full'
	assert_failure 74
	assert_output --partial "qs-init-table: cannot write standard output"
}

@test "--help and --version" {
	run qs-init-table --help
	assert_success
	assert_line -n 0 --partial "usage: qs-init-table"
	run qs-init-table --version
	assert_success
	assert_output --regexp '^qs-init-table \(qscale\) '
}


@test "the default layout ends with a visits column of zeros; both layouts load" {
	qs-init-table --max-replicas 2 --latency-buckets 1 --request-buckets 1 -o v.csv
	run cat v.csv
	assert_output "pod,initial_latency,end_latency,initial_request,end_request,1,2,visits
1,0,500,0,18,0,0,0
2,0,500,0,18,0,0,0"
	qs-init-table --max-replicas 2 --latency-buckets 1 --request-buckets 1 --layout notebook -o n.csv
	run cat n.csv
	assert_output "pod,initial_latency,end_latency,initial_request,end_request,1,2
1,0,500,0,18,0,0
2,0,500,0,18,0,0"
	qs-init-table --max-replicas 2 --layout visits | cmp - <(qs-init-table --max-replicas 2)
	for t in v.csv n.csv; do
		run qs-decide --table "$t" --exploit <<< '{"pod":2,"latency":1,"requests":1}'
		assert_success
		assert_output '{"pod":2,"latency":1,"requests":1,"action":2,"random":false,"why":"hold"}'
	done
	run qs-init-table --layout wide
	assert_failure 64
	assert_output "qs-init-table: invalid --layout: wide (notebook or visits)"
}

@test "a visits column that is not a count, or not last, is refused with the line" {
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1,visits\n1,0,5,0,5,0,-1\n' > bad.csv
	run qs-decide --table bad.csv < /dev/null
	assert_failure 65
	assert_output 'qs-decide: invalid table bad.csv: line 2: visits "-1" is not a non-negative integer'
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1,visits\n1,0,5,0,5,0,1.5\n' > bad.csv
	run qs-decide --table bad.csv < /dev/null
	assert_failure 65
	assert_output 'qs-decide: invalid table bad.csv: line 2: visits "1.5" is not a non-negative integer'
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1,visits,2\n1,0,5,0,5,0,1,0\n' > bad.csv
	run qs-decide --table bad.csv < /dev/null
	assert_failure 65
	assert_output 'qs-decide: invalid table bad.csv: line 1: column 2 follows the visits column'
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1,visits\n1,0,5,0,5,0\n' > bad.csv
	run qs-decide --table bad.csv < /dev/null
	assert_failure 65
	assert_output 'qs-decide: invalid table bad.csv: line 2: expected 7 fields, found 6'
	printf 'pod,initial_latency,end_latency,initial_request,end_request,visits\n1,0,5,0,5,0\n' > bad.csv
	run qs-decide --table bad.csv < /dev/null
	assert_failure 65
	assert_output 'qs-decide: invalid table bad.csv: line 1: action column visits is not a replica count'
}
