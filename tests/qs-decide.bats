#!/usr/bin/env bats
# qs-decide: epsilon-greedy choice from the Q-table; table validation.

load helpers

rec() {
	printf '{"pod":%s,"latency":%s,"requests":%s}\n' "$1" "$2" "$3"
}

@test "greedy on the notebook's own table (pandas floats load unchanged)" {
	run qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 < <(rec 1 100 5; rec 2 100 5; rec 2 700 10)
	assert_success
	assert_line -n 0 '{"pod":1,"latency":100,"requests":5,"action":1,"random":false,"why":"greedy"}'
	assert_line -n 1 '{"pod":2,"latency":100,"requests":5,"action":1,"random":false,"why":"greedy"}'
	assert_line -n 2 '{"pod":2,"latency":700,"requests":10,"action":3,"random":false,"why":"greedy"}'
}

@test "--compat notebook: ties go to the lowest replica count" {
	qs-init-table --min-replicas 2 --max-replicas 5 -o t.csv
	run qs-decide --table t.csv --epsilon 0 --compat notebook < <(rec 4 10 1)
	assert_success
	assert_output '{"pod":4,"latency":10,"requests":1,"action":2,"random":false,"why":"greedy"}'
}

@test "--compat notebook: epsilon 1 explores every action; a seed replays the same stream" {
	qs-init-table -o t.csv
	for _ in $(seq 300); do rec 1 10 1; done > in.json
	qs-decide --table t.csv --epsilon 1 --seed 42 --compat notebook < in.json > a.json
	qs-decide --table t.csv --epsilon 1 --seed 42 --compat notebook < in.json > b.json
	cmp a.json b.json
	run sh -c "grep -o '\"action\":[0-9]*' a.json | sort | uniq -c | wc -l"
	assert_output 3
	run grep -c '"random":true' a.json
	assert_output 300
	qs-decide --table t.csv --epsilon 1 --seed 43 --compat notebook < in.json > c.json
	run cmp -s a.json c.json
	assert_failure
}

@test "the default epsilon explores about one time in ten" {
	qs-init-table -o t.csv
	for _ in $(seq 2000); do rec 1 10 1; done > in.json
	n=$(qs-decide --table t.csv --seed 7 < in.json | grep -c '"random":true')
	[ "$n" -gt 140 ] && [ "$n" -lt 260 ]
}

@test "observations outside the table go to the edge bucket with a warning" {
	run qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 < <(rec 2 9000 500)
	assert_success
	assert_line -n 0 "qs-decide: line 1: latency 9000 is outside the table (0-2000), using the edge bucket"
	assert_line -n 1 "qs-decide: line 1: requests 500 is outside the table (0-54), using the edge bucket"
	# That state has no learned value: it holds.
	assert_line -n 2 '{"pod":2,"latency":9000,"requests":500,"action":2,"random":false,"why":"hold"}'
	run qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 < <(rec 0 10 1)
	assert_success
	assert_line -n 0 "qs-decide: line 1: pod 0 is outside the table (1-3), using the nearest"
}

@test "CSV records in, CSV out; --format json converts" {
	printf 'pod,latency,requests,note\n2,700,10,x\n' > in.csv
	run qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 < in.csv
	assert_success
	assert_line -n 0 "pod,latency,requests,note,action,random,why"
	assert_line -n 1 "2,700,10,x,3,False,greedy"
	run qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 --format json < in.csv
	assert_output '{"pod":2,"latency":700,"requests":10,"note":"x","action":3,"random":false,"why":"greedy"}'
}

@test "QS_TABLE and QS_EPSILON stand in for the options" {
	cp "$DATA/notebook-table.csv" t.csv
	QS_TABLE=t.csv QS_EPSILON=0 run qs-decide < <(rec 2 700 10)
	assert_success
	assert_output --partial '"action":3,"random":false'
}

@test "no input, no output" {
	run qs-decide --table "$DATA/notebook-table.csv" < /dev/null
	assert_success
	assert_output ""
}

@test "a missing table is exit 66" {
	run qs-decide --table nope.csv < <(rec 1 1 1)
	assert_failure 66
	assert_output "qs-decide: cannot open nope.csv: No such file or directory"
}

@test "no table at all is exit 64" {
	run qs-decide < <(rec 1 1 1)
	assert_failure 64
	assert_output "qs-decide: no table: give --table or set QS_TABLE"
	run qs-decide --table t.csv --epsilon 1.5
	assert_failure 64
	run qs-decide --table t.csv --seed -1
	assert_failure 64
	run qs-decide --table t.csv --format xml
	assert_failure 64
}

@test "a record with a missing or bad field is exit 65 naming the line" {
	run qs-decide --table "$DATA/notebook-table.csv" < <(rec 1 1 1; echo '{"pod":1,"latency":1}')
	assert_failure 65
	assert_line "qs-decide: invalid record in <stdin>: line 2: field requests is missing"
	run qs-decide --table "$DATA/notebook-table.csv" <<< '{"pod":1,"latency":1e300,"requests":1}'
	assert_failure 65
	assert_output "qs-decide: invalid record in <stdin>: line 1: field latency is out of range: 1e+300"
	run qs-decide --table "$DATA/notebook-table.csv" <<< '[1,2]'
	assert_failure 65
	printf 'pod,latency,requests\n1,2\n' > bad.csv
	run qs-decide --table "$DATA/notebook-table.csv" < bad.csv
	assert_failure 65
	assert_output "qs-decide: invalid record in <stdin>: line 2: expected 3 fields, found 2"
}

# A CPA evaluate input with one metric per record given, each record
# escaped into the metric's value string as CPA passes a metric's output.
cpa() {
	local sep='' r
	printf '{"metrics":['
	for r in "$@"; do
		r=${r//\\/\\\\}
		printf '%s{"resource":"web","value":"%s"}' "$sep" "${r//\"/\\\"}"
		sep=,
	done
	printf '],"resource":{"kind":"Deployment"},"runType":"scaler"}\n'
}

@test "--cpa: one metric gives CPA's targetReplicas" {
	run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0 < "$DATA/cpa-evaluate.json"
	assert_success
	assert_output '{"targetReplicas":3}'
	assert_equal "$stderr" ""
	run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0 < <(cpa "$(rec 1 100 5)")
	assert_success
	assert_output '{"targetReplicas":1}'
}

@test "--cpa: several metrics take the highest action, in any order" {
	# Greedy actions on the notebook's table: 1, 3 and 2.
	for order in "1 100 5|2 700 10|3 100 5" "2 700 10|3 100 5|1 100 5"; do
		IFS='|' read -r a b c <<< "$order"
		# shellcheck disable=SC2086 # each of a, b, c is rec's three words
		run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0 < <(cpa "$(rec $a)" "$(rec $b)" "$(rec $c)")
		assert_success
		assert_output '{"targetReplicas":3}'
		assert_equal "$stderr" ""
	done
	run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0 < <(cpa "$(rec 1 100 5)" "$(rec 3 100 5)")
	assert_output '{"targetReplicas":2}'
}

@test "--cpa: exploration follows --epsilon and --seed" {
	qs-init-table -o t.csv
	a=$(cpa "$(rec 1 10 1)" | qs-decide --cpa --table t.csv --epsilon 1 --seed 3)
	b=$(cpa "$(rec 1 10 1)" | qs-decide --cpa --table t.csv --epsilon 1 --seed 3)
	assert_equal "$a" "$b"
	[[ $a =~ ^\{\"targetReplicas\":[123]\}$ ]]
}

@test "--cpa: an observation outside the table warns naming the metric" {
	run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0 < <(cpa "$(rec 1 100 5)" "$(rec 2 9000 5)")
	assert_success
	# Metric 2's state has no learned value: it holds 2.
	assert_output '{"targetReplicas":2}'
	assert_equal "$stderr" "qs-decide: metric 2: latency 9000 is outside the table (0-2000), using the edge bucket"
}

# A bad CPA input: exit 65, nothing on stdout, one line on stderr.
bad_cpa() {
	run --separate-stderr qs-decide --cpa --table "$DATA/notebook-table.csv" --epsilon 0
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-decide: invalid CPA input in <stdin>: $1"
}

@test "--cpa: a malformed value is exit 65 naming the metric" {
	bad_cpa "metric 2 (web): value is not a record: '}' expected near end of file" < <(cpa "$(rec 1 100 5)" '{"pod":1,"latency":100')
	bad_cpa "metric 1 (web): value is not a record: '[' or '{' expected near '3'" < <(cpa 3)
	bad_cpa "metric 1 (web): value is not a JSON object" < <(cpa '[1,2]')
	bad_cpa "metric 1 (web): value is not a string" <<< '{"metrics":[{"resource":"web","value":3}]}'
	bad_cpa "metric 1 (?): value is not a string" <<< '{"metrics":[7]}'
}

@test "--cpa: a record missing a field is exit 65" {
	bad_cpa "metric 1: field requests is missing" < <(cpa '{"pod":1,"latency":100}')
	bad_cpa "metric 2: field pod is out of range: -1" < <(cpa "$(rec 1 100 5)" "$(rec -1 100 5)")
}

@test "--cpa: empty metrics and input that is not CPA's are exit 65" {
	bad_cpa "metrics is empty" <<< '{"metrics":[],"runType":"scaler"}'
	bad_cpa "no metrics array" <<< '{"runType":"scaler"}'
	bad_cpa "not a JSON object" <<< '[1]'
	bad_cpa "line 1 column 5: '[' or '{' expected near 'hello'" <<< 'hello'
	bad_cpa "line 1 column 0: '[' or '{' expected near end of file" < /dev/null
	bad_cpa "line 2 column 1: end of file expected near '{'" < <(cat "$DATA/cpa-evaluate.json" "$DATA/cpa-evaluate.json")
	# A record on its own is not CPA's input either.
	bad_cpa "no metrics array" < <(rec 1 100 5)
}

@test "--cpa: misuse is exit 64; a full stdout is exit 74" {
	run qs-decide --cpa --policy --table "$DATA/notebook-table.csv"
	assert_failure 64
	assert_output "qs-decide: --cpa and --policy cannot be combined"
	run qs-decide --cpa --format csv --table "$DATA/notebook-table.csv"
	assert_failure 64
	assert_output "qs-decide: --format cannot be used with --cpa"
	run bash -c "qs-decide --cpa --table '$DATA/notebook-table.csv' < '$DATA/cpa-evaluate.json' > /dev/full"
	assert_failure 74
}

@test "--policy lists the greedy action of every state in the table's order" {
	run qs-decide --policy --table "$DATA/notebook-table.csv"
	assert_success
	assert_line -n 0 "pod,initial_latency,end_latency,initial_request,end_request,action"
	assert_line -n 1 "1,0,500,0,18,1"
	assert_line -n 2 "2,0,500,0,18,1"
	assert_line -n 3 "3,0,500,0,18,2"
	assert_line -n 4 "1,501,1000,0,18,1"
	assert_equal "${#lines[@]}" 37
	# The states are the table's, row for row.
	diff <(cut -d, -f1-5 "$DATA/notebook-table.csv" | tail -n +2) <(printf '%s\n' "${lines[@]:1}" | cut -d, -f1-5)
	# Each action agrees with qs-decide on a record in that state.
	printf '%s\n' "${lines[@]:1}" | while IFS=, read -r p l _ q _ act; do
		rec "$p" "$l" "$q" | qs-decide --table "$DATA/notebook-table.csv" --epsilon 0 | grep -q "\"action\":$act,"
	done
}

@test "--policy: JSON on request, unlearned states hold, misuse is exit 64" {
	run qs-decide --policy --format json --table "$DATA/notebook-table.csv"
	assert_success
	assert_line -n 0 '{"pod":1,"initial_latency":0,"end_latency":500,"initial_request":0,"end_request":18,"action":1}'
	qs-init-table --min-replicas 2 --max-replicas 4 -o t.csv
	run qs-decide --policy --table t.csv
	assert_success
	assert_line -n 1 "2,0,500,0,18,2"
	run bash -c "qs-decide --policy --table t.csv | cut -d, -f6 | sort | uniq -c"
	assert_output "     12 2
     12 3
     12 4
      1 action"
	run bash -c "qs-decide --policy --compat notebook --table t.csv | cut -d, -f6 | sort | uniq -c"
	assert_output "     36 2
      1 action"
	run qs-decide --policy --epsilon 0 --table t.csv
	assert_failure 64
	assert_output "qs-decide: --policy is greedy: it takes no --epsilon, --exploit or --seed"
	run qs-decide --policy --unlearned hpa --hpa-target 1 --table t.csv
	assert_failure 64
	assert_output "qs-decide: --policy takes no --hpa-target"
	run qs-decide --policy --table nope.csv
	assert_failure 66
}

@test "man page example: the greedy policy" {
	cp "$DATA/notebook-table.csv" table.csv
	run bash -c "qs-decide --policy --table table.csv | column -t -s, | head -4"
	assert_success
	assert_line -n 0 --regexp '^pod +initial_latency +end_latency +initial_request +end_request +action$'
	assert_line -n 3 --regexp '^3 +0 +500 +0 +18 +2$'
}

# Each malformed table: the message names the line and the fault.
bad_table() {
	run qs-decide --table bad.csv < <(rec 1 1 1)
	assert_failure 65
	assert_output "qs-decide: invalid table bad.csv: $1"
}

@test "tables: a ragged row" {
	{ head -3 "$DATA/notebook-fresh-table.csv"; echo "3,0,500,0,18,0,0"; } > bad.csv
	bad_table "line 4: expected 8 fields, found 7"
}

@test "tables: a value that is not a number, NaN or Inf" {
	sed '3s/,0$/,abc/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table 'line 3: value "abc" for action 3 is not a finite number'
	sed '3s/,0$/,nan/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table 'line 3: value "nan" for action 3 is not a finite number'
	sed '5s/,0$/,inf/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table 'line 5: value "inf" for action 3 is not a finite number'
}

@test "tables: duplicate, overlapping and missing states" {
	{ cat "$DATA/notebook-fresh-table.csv"; echo "1,0,500,0,18,0,0,0"; } > bad.csv
	bad_table "line 38: the same state as line 2"
	sed '2s/^1,0,500/1,0,600/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table "line 2: latency interval 0-600 overlaps 0-500"
	sed '2d' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table "no row for pod 1, latency 0-500, requests 0-18"
	sed '/,1501,2000,/d' "$DATA/notebook-fresh-table.csv" | sed 's/,1001,1500,/,1001,2000,/' > ok.csv
	run qs-decide --table ok.csv --epsilon 0 < <(rec 1 1800 1)
	assert_success
}

@test "tables: bad header, empty file, NUL byte, broken quotes" {
	sed '1s/pod/replicas/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table "line 1: column replicas should be pod"
	sed '1s/,3$/,2/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table "line 1: action column 2 is not above the one before it"
	: > bad.csv
	bad_table "line 1: the file is empty"
	head -1 "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table "line 1: the table has no rows"
	{ head -2 "$DATA/notebook-fresh-table.csv"; printf '2,0,500,0,18,0,0\0,0\n'; } > bad.csv
	run qs-decide --table bad.csv < <(rec 1 1 1)
	assert_failure 65
	assert_output --partial "qs-decide: invalid table bad.csv: line 3:"
	{ head -2 "$DATA/notebook-fresh-table.csv"; printf '2,0,500,0,18,"0,0\n'; } > bad.csv
	run qs-decide --table bad.csv < <(rec 1 1 1)
	assert_failure 65
	assert_output --partial "qs-decide: invalid table bad.csv: line 3:"
}

@test "tables: quoted fields, CRLF line ends and any row order load" {
	{ head -1 "$DATA/notebook-table.csv"; tail -n +2 "$DATA/notebook-table.csv" | sort -r | sed 's/^\([0-9]\),/"\1",/'; } | sed 's/$/\r/' > t.csv
	run qs-decide --table t.csv --epsilon 0 < <(rec 2 700 10)
	assert_success
	assert_output '{"pod":2,"latency":700,"requests":10,"action":3,"random":false,"why":"greedy"}'
}

@test "a full stdout is exit 74" {
	run bash -c "echo '{\"pod\":1,\"latency\":1,\"requests\":1}' | qs-decide --table '$DATA/notebook-table.csv' > /dev/full"
	assert_failure 74
}

@test "--help and --version" {
	run qs-decide --help
	assert_success
	assert_line -n 0 --partial "usage: qs-decide"
	run qs-decide --version
	assert_output --regexp '^qs-decide \(qscale\) '
}

@test "tables: a 10 MB field, a line over 16 MiB, negative keys" {
	{ head -2 "$DATA/notebook-fresh-table.csv"; printf '2,0,500,0,18,0,0,%s\n' "$(head -c 10485760 /dev/zero | tr '\0' 1)"; } > bad.csv
	bad_table "line 3: value \"1111111111111111111111111111111111111111\" for action 3 is not a finite number"
	{ head -2 "$DATA/notebook-fresh-table.csv"; printf '2,0,500,0,18,0,0,"%s"\n' "$(head -c 17000000 /dev/zero | tr '\0' 1)"; } > bad.csv
	bad_table "line 3: line longer than 16 MiB"
	sed '3s/^2,/-2,/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table 'line 3: pod "-2" is not a non-negative integer'
	sed '3s/^2,0,500,/2,0,5000000000000,/' "$DATA/notebook-fresh-table.csv" > bad.csv
	bad_table 'line 3: end_latency "5000000000000" is not a non-negative integer'
}

@test "tables: a few rows spanning a huge grid are a missing cell, not a huge allocation" {
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1\n0,0,5,0,5,0\n1000000000,0,5,0,5,0\n' > bad.csv
	bad_table "no row for pod 1, latency 0-5, requests 0-5"
	awk 'BEGIN { print "pod,initial_latency,end_latency,initial_request,end_request,1"
	    for (i = 0; i < 3000; i++) printf "1,%d,%d,%d,%d,0\n", i, i, i, i }' > bad.csv
	bad_table "no row for pod 1, latency 0-0, requests 1-1"
	printf 'pod,initial_latency,end_latency,initial_request,end_request,1,1000000000\n' > bad.csv
	for p in 1 2; do printf '%s,0,5,0,5,0,0\n' "$p" >> bad.csv; done
	run qs-decide --table bad.csv --epsilon 0 <<< '{"pod":1,"latency":1,"requests":1}'
	assert_success
	assert_output '{"pod":1,"latency":1,"requests":1,"action":1,"random":false,"why":"hold"}'
}

# The share of records of file $1 decided by exploration, in per cent.
random_share() {
	grep -c '"why":"random"' "$1" | awk -v n="$(wc -l < "$1")" '{ print int($1 * 100 / n) }'
}

@test "a fresh table holds the current count; --unlearned hpa takes HPA's answer" {
	# On standard output, without metadata: the rules' settings vary here.
	qs-init-table --max-replicas 10 --request-width 1000 > t.csv
	run --separate-stderr qs-decide --table t.csv --exploit < <(rec 4 900 300; rec 12 900 300)
	assert_success
	assert_line -n 0 '{"pod":4,"latency":900,"requests":300,"action":4,"random":false,"why":"hold"}'
	# Beyond the table: the nearest action.
	assert_line -n 1 '{"pod":12,"latency":900,"requests":300,"action":10,"random":false,"why":"hold"}'
	# ceil(300 / 30 s / 2 per s) = 5; 3000 would be 50, clamped to 10.
	run qs-decide --table t.csv --exploit --unlearned hpa --hpa-target 2 < <(rec 4 900 300; rec 4 900 3000)
	assert_success
	assert_line -n 0 '{"pod":4,"latency":900,"requests":300,"action":5,"random":false,"why":"hpa"}'
	assert_line -n 1 '{"pod":4,"latency":900,"requests":3000,"action":10,"random":false,"why":"hpa"}'
	QS_UNLEARNED=hpa QS_HPA_TARGET=2 QS_WINDOW=60 run qs-decide --table t.csv --exploit < <(rec 4 900 300)
	assert_output --partial '"action":3,"random":false,"why":"hpa"'
	# The notebook's layout, a row of zeros: the same.
	qs-init-table --max-replicas 10 --layout notebook -o n.csv
	run qs-decide --table n.csv --exploit < <(rec 7 100 1)
	assert_output '{"pod":7,"latency":100,"requests":1,"action":7,"random":false,"why":"hold"}'
	# Values but no visits (edited by hand): nothing learned either.
	awk -F, -v OFS=, '$1 == 7 && $2 == 0 && $4 == 0 { $6 = 5 } 1' t.csv > v.csv
	run qs-decide --table v.csv --exploit < <(rec 7 100 1)
	assert_output --partial '"action":7,"random":false,"why":"hold"'
	run qs-decide --table t.csv --unlearned hpa < /dev/null
	assert_failure 64
	assert_output "qs-decide: --unlearned hpa needs --hpa-target"
	# From the environment, the variable is named.
	QS_UNLEARNED=hpa run qs-decide --table t.csv < /dev/null
	assert_failure 64
	assert_output "qs-decide: QS_UNLEARNED hpa needs --hpa-target"
	run qs-decide --table t.csv --unlearned up < /dev/null
	assert_failure 64
	assert_output "qs-decide: invalid --unlearned: up (hold or hpa)"
}

@test "greedy ties go to the count nearest the current one, then the higher" {
	qs-init-table --max-replicas 10 -o t.csv
	# State pod 5, 0-500 ms, 0-18: 3, 4, 7 and 8 tie at 2, visited once.
	awk -F, -v OFS=, '$1 == 5 && $2 == 0 && $4 == 0 { $8 = 2; $9 = 2; $12 = 2; $13 = 2; $16 = 1 } 1' t.csv > v.csv
	run qs-decide --table v.csv --exploit < <(rec 5 100 1)
	assert_output '{"pod":5,"latency":100,"requests":1,"action":4,"random":false,"why":"greedy"}'
	# 3 and 7 tie, as near: the higher.
	awk -F, -v OFS=, '$1 == 5 && $2 == 0 && $4 == 0 { $8 = 2; $12 = 2; $16 = 1 } 1' t.csv > w.csv
	run qs-decide --table w.csv --exploit < <(rec 5 100 1)
	assert_output --partial '"action":7,"random":false,"why":"greedy"'
}

@test "exploration stays within +-k and never goes down above the ideal" {
	# Without metadata, which would refuse another ideal.
	qs-init-table --max-replicas 10 > t.csv
	for _ in $(seq 1000); do rec 5 100 1; done > low.json
	for _ in $(seq 1000); do rec 5 900 1; done > high.json
	for _ in $(seq 300); do rec 10 100 1; done > top.json
	# The distinct actions decided for the records of $1, with options.
	acts() {
		local in=$1
		shift
		qs-decide --table t.csv --epsilon 1 --seed 1 "$@" < "$in" > out.json
		[ "$(grep -c '"random":true,"why":"random"' out.json)" -eq "$(wc -l < "$in")" ]
		grep -o '"action":[0-9]*' out.json | cut -d: -f2 | sort -n | uniq | tr '\n' ' '
	}
	assert_equal "$(acts low.json)" "4 5 6 "
	assert_equal "$(acts low.json --explore-k 2)" "3 4 5 6 7 "
	# Above the ideal (500 ms by default): the current count or more.
	assert_equal "$(acts high.json)" "5 6 "
	assert_equal "$(acts high.json --explore-k 3)" "5 6 7 8 "
	# 900 ms is below an ideal of 1000: down is allowed again.
	assert_equal "$(acts high.json --ideal-latency 1000)" "4 5 6 "
	assert_equal "$(QS_IDEAL_LATENCY=1000 acts high.json)" "4 5 6 "
	# At the table's edge, fewer choices; k 0 explores nothing away.
	assert_equal "$(acts top.json)" "9 10 "
	assert_equal "$(acts low.json --explore-k 0)" "5 "
	assert_equal "$(QS_EXPLORE_K=2 acts low.json)" "3 4 5 6 7 "
}

@test "exploration decays with the state's visits" {
	qs-init-table -o t.csv
	# State pod 2, 0-500 ms, 0-18, learned with v visits.
	visited() {
		awk -F, -v OFS=, -v v="$1" '$1 == 2 && $2 == 0 && $4 == 0 { $7 = 1; $9 = v } 1' t.csv > "v$1.csv"
	}
	for _ in $(seq 2000); do rec 2 100 1; done > in.json
	for v in 0 20 180; do
		visited "$v"
		qs-decide --table "v$v.csv" --seed 11 < in.json > "out$v.json"
	done
	# epsilon 0.1 x 20 / (20 + visits): 10 %, 5 %, 1 %.
	s0=$(random_share out0.json) s20=$(random_share out20.json) s180=$(random_share out180.json)
	echo "shares $s0 $s20 $s180"
	[ "$s0" -ge 8 ] && [ "$s0" -le 12 ]
	[ "$s20" -ge 3 ] && [ "$s20" -le 7 ]
	[ "$s180" -le 2 ]
	# --explore-decay 0: constant; 180 is halved at --explore-decay 180.
	qs-decide --table v180.csv --seed 11 --explore-decay 0 < in.json > c.json
	s=$(random_share c.json)
	[ "$s" -ge 8 ] && [ "$s" -le 12 ]
	QS_EXPLORE_DECAY=180 qs-decide --table v180.csv --seed 11 < in.json > h.json
	s=$(random_share h.json)
	[ "$s" -ge 3 ] && [ "$s" -le 7 ]
	# A table without the column: no decay, no warning.
	cut -d, -f1-8 v180.csv > nb.csv
	run --separate-stderr qs-decide --table nb.csv --seed 11 < in.json
	assert_equal "$stderr" ""
	printf '%s\n' "$output" > nb.json
	s=$(random_share nb.json)
	[ "$s" -ge 8 ] && [ "$s" -le 12 ]
}

@test "--floor-margin with --hpa-target: never below ceil(m x HPA's answer)" {
	qs-init-table --max-replicas 6 -o t.csv
	# State pod 3, 0-500 ms, 37-54 has learned 1 replica.
	awk -F, -v OFS=, '$1 == 3 && $2 == 0 && $4 == 37 { $6 = 5; $12 = 4 } 1' t.csv > v.csv
	run qs-decide --table v.csv --exploit < <(rec 3 100 45)
	assert_output '{"pod":3,"latency":100,"requests":45,"action":1,"random":false,"why":"greedy"}'
	# HPA: ceil(45 / 30 s / 0.5 per s) = 3.  Margin 1: 3; 0.5: ceil(1.5) = 2.
	run qs-decide --table v.csv --exploit --hpa-target 0.5 --floor-margin 1 < <(rec 3 100 45)
	assert_output '{"pod":3,"latency":100,"requests":45,"action":3,"random":false,"why":"floor"}'
	run qs-decide --table v.csv --exploit --hpa-target 0.5 --floor-margin 0.5 < <(rec 3 100 45)
	assert_output --partial '"action":2,"random":false,"why":"floor"'
	# Above the floor the learned action stands; beyond the table, the top.
	run qs-decide --table v.csv --exploit --hpa-target 0.5 --floor-margin 0.1 < <(rec 3 100 45)
	assert_output --partial '"action":1,"random":false,"why":"greedy"'
	QS_HPA_TARGET=0.5 QS_FLOOR_MARGIN=3 run qs-decide --table v.csv --exploit < <(rec 3 100 45)
	assert_output --partial '"action":6,"random":false,"why":"floor"'
	# Explorations too.
	for _ in $(seq 300); do rec 3 100 45; done > in.json
	run bash -c "qs-decide --table v.csv --epsilon 1 --seed 2 --hpa-target 0.5 --floor-margin 1 < in.json | grep -o '\"action\":[0-9]*' | sort -u | tr '\n' ' '"
	assert_output '"action":3 "action":4 '
	run qs-decide --table v.csv --floor-margin 1 < /dev/null
	assert_failure 64
	assert_output "qs-decide: --floor-margin needs --hpa-target"
	QS_FLOOR_MARGIN=1 run qs-decide --table v.csv < /dev/null
	assert_failure 64
	assert_output "qs-decide: QS_FLOOR_MARGIN needs --hpa-target"
	QS_FLOOR_MARGIN=1 run qs-decide --table v.csv --floor-margin 2 < /dev/null
	assert_output "qs-decide: --floor-margin needs --hpa-target"
}

@test "--exploit never explores; it excludes --epsilon" {
	qs-init-table -o t.csv
	for _ in $(seq 2000); do rec 2 100 1; done > in.json
	QS_EPSILON=1 qs-decide --table t.csv --exploit --seed 3 < in.json > out.json
	[ "$(wc -l < out.json)" -eq 2000 ]
	run grep -c '"random":true' out.json
	assert_output 0
	run qs-decide --table t.csv --exploit --epsilon 0.5 < /dev/null
	assert_failure 64
	assert_output "qs-decide: --exploit and --epsilon cannot be combined"
	run qs-decide --table t.csv --compat notebook --explore-k 2 < /dev/null
	assert_failure 64
	assert_output "qs-decide: --compat notebook decides as the notebook: it takes no --explore-k"
	run qs-decide --table t.csv --compat bogus < /dev/null
	assert_failure 64
}

@test "--cpa obeys the same rules: a fresh table at 1,200 ms answers the current count or more" {
	qs-init-table --max-replicas 10 --request-width 100 -o t.csv
	cpa "$(rec 4 1200 40)" > in.json
	run qs-decide --cpa --table t.csv --exploit < in.json
	assert_output '{"targetReplicas":4}'
	for seed in $(seq 150); do
		qs-decide --cpa --table t.csv --epsilon 1 --seed "$seed" < in.json
	done | sort | uniq -c > targets
	cat targets
	run awk '{ print $2 }' targets
	assert_output '{"targetReplicas":4}
{"targetReplicas":5}'
	# The floor, over two metrics: the higher wins.
	run qs-decide --cpa --table t.csv --exploit --hpa-target 0.2 --floor-margin 1 < <(cpa "$(rec 4 1200 40)" "$(rec 2 100 60)")
	assert_output '{"targetReplicas":10}'
	run qs-decide --cpa --table t.csv --exploit --unlearned hpa --hpa-target 1 < <(cpa "$(rec 4 1200 40)" "$(rec 2 100 60)")
	assert_output '{"targetReplicas":2}'
}

# The planned table of the fixture's observations, level window 300.
plan_level() {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv \
	    --level-window 300 2>/dev/null
	grep -qx level_window=300 t.csv.meta
}

@test "--cpa on a planned table decides on the level: --recent keeps the window from one evaluation to the next" {
	plan_level
	peak='{"time":1000,"pod":8,"latency":400,"requests":60}'
	dip='{"time":1015,"pod":8,"latency":300,"requests":20}'
	run --separate-stderr qs-decide --cpa --exploit --table t.csv --recent recent < <(cpa "$peak")
	assert_success
	high=$(jq -r .targetReplicas <<<"$output")
	run cat recent
	assert_output "1000000 60"
	# The dip within the window keeps the peak's count, as the records
	# filter does; on its own it falls.
	QS_RECENT=recent run --separate-stderr qs-decide --cpa --exploit --table t.csv < <(cpa "$dip")
	assert_success
	assert_equal "$(jq -r .targetReplicas <<<"$output")" "$high"
	run qs-decide --exploit --table t.csv --level-window 300 < <(printf '%s\n' "$peak" "$dip")
	assert_equal "$(jq -r .action <<<"${lines[1]}")" "$high"
	run --separate-stderr qs-decide --cpa --exploit --table t.csv --recent fresh < <(cpa "$dip")
	assert_success
	[ "$(jq -r .targetReplicas <<<"$output")" -lt "$high" ]
	# An input without time is at the clock's now.
	before=$(date +%s)
	run --separate-stderr qs-decide --cpa --exploit --table t.csv --recent now < <(cpa '{"pod":8,"latency":300,"requests":20}')
	assert_success
	read -r ms req < now
	[ "$req" = 20 ] && [ "$((ms / 1000))" -ge "$before" ] && [ "$((ms / 1000))" -le "$(date +%s)" ]
	# A bad metric decides nothing and leaves the file as it was.
	cp recent saved
	run --separate-stderr qs-decide --cpa --exploit --table t.csv --recent recent < <(cpa "$dip" '{"time":"soon","pod":8,"latency":300,"requests":20}')
	assert_failure 65
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_regex "$stderr" '^qs-decide: invalid CPA input in <stdin>: metric 2: '
	cmp recent saved
}

@test "--cpa with a level window and no --recent is 64 before reading; a window of 0 decides on the requests" {
	plan_level
	run --separate-stderr qs-decide --cpa --exploit --table t.csv < <(cpa "$(rec 8 300 20)")
	assert_failure 64
	assert_output ""
	assert_equal "$stderr" "qs-decide: --cpa on t.csv, planned with level_window 300, needs --recent file (or QS_RECENT): each evaluation sees one observation, and the level is that of the window"
	# A window given to a table without one needs it as much.
	qs-init-table -o p.csv
	QS_LEVEL_WINDOW=60 run --separate-stderr qs-decide --cpa --exploit --table p.csv < <(cpa "$(rec 1 300 20)")
	assert_failure 64
	assert_equal "$stderr" "qs-decide: --cpa with QS_LEVEL_WINDOW 60 needs --recent file (or QS_RECENT): each evaluation sees one observation, and the level is that of the window"
	run --separate-stderr qs-decide --cpa --exploit --table p.csv --level-window 0 < <(cpa "$(rec 1 300 20)")
	assert_success
	assert_output '{"targetReplicas":1}'
	# On the planned table, 0 contradicts its level_window.
	run --separate-stderr qs-decide --cpa --exploit --table t.csv --level-window 0 --recent r < <(cpa "$(rec 8 300 20)")
	assert_failure 78
	[ ! -e r ]
	run --separate-stderr qs-decide --policy --table t.csv --recent r
	assert_failure 64
	assert_equal "$stderr" "qs-decide: --level-window and --recent are for the records filter and --cpa, not --policy"
}
