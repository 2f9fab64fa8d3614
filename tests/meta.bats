#!/usr/bin/env bats
# A table's metadata, TABLE.meta: written by qs-init-table and qs-sim
# train, checked by qs-decide and qs-update (issue 16, item 1).

load helpers

rec() {
	printf '{"pod":%s,"latency":%s,"requests":%s}\n' "$1" "$2" "$3"
}

# A complete transition, as qs-reward writes it.
transition() {
	printf '{"pod":1,"latency":100,"requests":1,"action":2,"new_pod":2,"new_latency":90,"new_requests":1,"reward":1}\n'
}

@test "qs-init-table -o writes TABLE.meta: the settings given, their defaults, the table's range" {
	qs-init-table --min-replicas 2 --max-replicas 5 --window 60 --ideal-latency 250 -o t.csv
	run cat t.csv.meta
	assert_output "# What this table was built for: see qs-init-table(1).
window=60
ideal_latency=250
min_replicas=2
max_replicas=5
learner=q
requests=requests in 60 s window"
	# The QS_ variables, as a qs-run config gives them; options win.
	QS_MIN_REPLICAS=1 QS_MAX_REPLICAS=20 QS_WINDOW=30 QS_PERIOD=15 QS_IDEAL_LATENCY=250 \
	    qs-init-table --max-replicas 10 -o u.csv
	run grep -v '^#' u.csv.meta
	assert_output "window=30
period=15
ideal_latency=250
min_replicas=1
max_replicas=10
learner=q
requests=requests in 30 s window"
	[ "$(tail -1 u.csv | cut -d, -f1)" = 10 ]
	# Standard output has no beside: no metadata, and an option that would
	# be recorded there is refused.
	qs-init-table > s.csv
	[ ! -e s.csv.meta ]
	run --separate-stderr qs-init-table --window 60
	assert_failure 64
	assert_equal "$stderr" "qs-init-table: --window is recorded in the output's metadata: it needs --output"
	run --separate-stderr qs-init-table --period x -o v.csv
	assert_failure 64
	assert_equal "$stderr" "qs-init-table: invalid --period: x (a number from 0.001 to 1e+09)"
	[ ! -e v.csv ] && [ ! -e v.csv.meta ]
}

@test "qs-init-table -f replaces the table and its metadata together" {
	qs-init-table --window 60 -o t.csv
	echo 'note=kept only while the table is' >> t.csv.meta
	run --separate-stderr qs-init-table -o t.csv
	assert_failure 73
	grep -q '^window=60$' t.csv.meta
	qs-init-table -f --window 15 -o t.csv
	run grep -c -e '^window=15$' -e '^note=' t.csv.meta
	assert_output 1
}

@test "qs-decide refuses a table whose metadata contradicts a setting given (78), accepts a matching one" {
	QS_WINDOW=30 QS_MAX_REPLICAS=3 qs-init-table --ideal-latency 250 -o t.csv
	rec 1 100 1 > r.json
	run --separate-stderr qs-decide --table t.csv --window 60 < r.json
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-decide: t.csv.meta: window is 30, but --window is 60"
	QS_IDEAL_LATENCY=500 run --separate-stderr qs-decide --table t.csv < r.json
	assert_failure 78
	assert_equal "$stderr" "qs-decide: t.csv.meta: ideal_latency is 250, but QS_IDEAL_LATENCY is 500"
	QS_MAX_REPLICAS=20 run --separate-stderr qs-decide --table t.csv < r.json
	assert_failure 78
	assert_equal "$stderr" "qs-decide: t.csv.meta: max_replicas is 3, but QS_MAX_REPLICAS is 20"
	# The option wins over the variable, as for every setting.
	QS_WINDOW=60 run --separate-stderr qs-decide --table t.csv --window 30 --exploit < r.json
	assert_success
	# The same number, written otherwise, and keys the file lacks (period).
	QS_WINDOW=30.0 QS_IDEAL_LATENCY=250 QS_MIN_REPLICAS=1 QS_PERIOD=15 \
	    run --separate-stderr qs-decide --table t.csv --exploit < r.json
	assert_success
	assert_output '{"pod":1,"latency":100,"requests":1,"action":1,"random":false,"why":"hold"}'
	# Without metadata, nothing to contradict: old tables load as before.
	rm t.csv.meta
	QS_WINDOW=60 run --separate-stderr qs-decide --table t.csv --exploit < r.json
	assert_success
	assert_equal "$stderr" ""
}

@test "qs-update refuses a contradicting table and changes nothing; a matching one learns" {
	QS_WINDOW=30 qs-init-table -o t.csv
	transition > tr.json
	before=$(digest t.csv)
	QS_WINDOW=60 run --separate-stderr qs-update --table t.csv --history h.csv < tr.json
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-update: t.csv.meta: window is 30, but QS_WINDOW is 60"
	assert_equal "$(digest t.csv)" "$before"
	[ ! -e h.csv ] && [ ! -e t.csv.lock ]
	QS_WINDOW=30 QS_MIN_REPLICAS=1 run --separate-stderr qs-update --table t.csv --history h.csv < tr.json
	assert_success
	[ "$(digest t.csv)" != "$before" ]
	assert_equal "$(wc -l < h.csv)" 2
	# A table without metadata learns whatever the settings say.
	qs-init-table > n.csv
	QS_WINDOW=60 run --separate-stderr qs-update --table n.csv < tr.json
	assert_success
}

@test "a malformed metadata file is refused with its line (65)" {
	qs-init-table -o t.csv
	printf 'window = 30\n' > t.csv.meta
	run --separate-stderr qs-decide --table t.csv < /dev/null
	assert_failure 65
	assert_equal "$stderr" "qs-decide: invalid t.csv.meta: line 1: expected key=value"
	printf '# ok\nwindow=30\nwindow=60\n' > t.csv.meta
	run --separate-stderr qs-update --table t.csv < /dev/null
	assert_failure 65
	assert_equal "$stderr" "qs-update: invalid t.csv.meta: line 3: window given twice"
	printf 'window=soon\n' > t.csv.meta
	QS_WINDOW=30 run --separate-stderr qs-decide --table t.csv < /dev/null
	assert_failure 65
	assert_equal "$stderr" "qs-decide: invalid t.csv.meta: window is soon, not a number"
	# Unknown keys and comments are kept and ignored.
	printf '# by hand\nowner=team-a\nwindow=30\n' > t.csv.meta
	QS_WINDOW=30 run --separate-stderr qs-decide --table t.csv < /dev/null
	assert_success
}

@test "qs-sim train records what it trained for, and refuses to go on under other settings" {
	printf 't,requests\n0,10\n60,20\n120,30\n' > trace.csv
	QS_MAX_REPLICAS=4 run --separate-stderr qs-sim train --trace trace.csv --table t.csv \
	    --epochs 20 --seed 1 --window 20 --ideal-latency 400
	assert_success
	run grep -v '^#' t.csv.meta
	assert_output "window=20
period=60
ideal_latency=400
min_replicas=1
max_replicas=4
learner=q
requests=requests in 20 s window"
	before=$(digest t.csv)
	# Its defaults are what it would write: they are checked too.
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epochs 20 --seed 1 \
	    --ideal-latency 400
	assert_failure 78
	assert_equal "$stderr" "qs-sim: t.csv.meta: window is 20, but --window (default) is 30"
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epochs 20 --seed 1 \
	    --window 20 --ideal-latency 400 --period 15
	assert_failure 78
	assert_equal "$stderr" "qs-sim: t.csv.meta: period is 60, but --period is 15"
	assert_equal "$(digest t.csv)" "$before"
	echo 'owner=team-a' >> t.csv.meta
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epochs 20 --seed 1 \
	    --window 20 --ideal-latency 400
	assert_success
	[ "$(digest t.csv)" != "$before" ]
	grep -q '^owner=team-a$' t.csv.meta
	# What it wrote, qs-decide accepts under the same settings.
	QS_WINDOW=20 QS_IDEAL_LATENCY=400 QS_MAX_REPLICAS=4 run qs-decide --table t.csv --exploit < <(rec 1 100 1)
	assert_success
}

@test "a table planned from observations records --period only when given, so the live period is not refused" {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv 2>/dev/null
	run grep -c '^period=' t.csv.meta
	assert_output 0
	run bash -c 'echo "{\"pod\":2,\"latency\":300,\"requests\":20}" | QS_PERIOD=15 qs-decide --table t.csv'
	assert_success
	qs-sim train --observations "$DATA/plan-observations.csv" --table u.csv \
	    --period 15 2>/dev/null
	run grep '^period=' u.csv.meta
	assert_output period=15
	run bash -c 'echo "{\"pod\":2,\"latency\":300,\"requests\":20}" | QS_PERIOD=60 qs-decide --table u.csv'
	assert_failure 78
}
