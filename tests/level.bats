#!/usr/bin/env bats
# The load level window (qs/level.h): the highest requests of the last W
# seconds, the state a planned table is looked up with, in qs-decide
# (--level-window, --recent, the table's level_window) and qs-sim eval.

load helpers


# The planned table of the fixture's observations, level window $1.
plan_fixture() {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv \
	    --level-window "$1" 2>/dev/null
}

# The level field of each line of JSON on standard input.
levels() {
	jq -r '.level' | paste -sd' '
}

@test "the level is the highest requests of the window, over time: its edge to the millisecond, a gap, a record without time" {
	qs-init-table -o t.csv
	printf '%s\n' '{"time":1000,"pod":1,"latency":100,"requests":100}' \
	    '{"time":1030,"pod":1,"latency":100,"requests":50}' \
	    '{"time":1059.999,"pod":1,"latency":100,"requests":10}' \
	    '{"time":"1970-01-01T00:17:40Z","pod":1,"latency":100,"requests":10}' \
	    '{"time":1200,"pod":1,"latency":100,"requests":20}' \
	    '{"pod":1,"latency":100,"requests":5}' \
	    '{"pod":1,"latency":100,"requests":3}' > in.json
	run --separate-stderr qs-decide --table t.csv --level-window 60 --exploit \
	    < in.json
	assert_success
	# 1060 (RFC 3339 here) is the edge: the peak at 1000 is out of
	# (1000, 1060], 59.999 s after it still in.  After the gap only the
	# record itself; a record without time is a period (15 s: the table
	# records none) after the one before, 1215 and 1230: 1200's 20 is
	# still within the window of both.
	assert_equal "$(levels <<<"$output")" "100 100 100 50 20 20 20"
	# Without a window (the default for an unplanned table) no level.
	run qs-decide --table t.csv --exploit < in.json
	assert_success
	refute_output --partial level
}

@test "qs-decide on a planned table keeps a peak's replicas through a dip within the window; after it the count falls" {
	plan_fixture 300
	grep -qx level_window=300 t.csv.meta
	printf '%s\n' '{"time":1000,"pod":8,"latency":400,"requests":60}' \
	    '{"time":1015,"pod":8,"latency":300,"requests":20}' \
	    '{"time":1285,"pod":8,"latency":300,"requests":20}' \
	    '{"time":1300,"pod":8,"latency":300,"requests":20}' > in.json
	# Default options, one long-lived process, as the held-out check runs.
	run --separate-stderr qs-decide --unbuffered --exploit --table t.csv < in.json
	assert_success
	assert_equal "$(levels <<<"$output")" "60 60 60 20"
	run jq -r .action <<<"$output"
	peak=${lines[0]}
	assert_equal "${lines[1]}" "$peak"
	assert_equal "${lines[2]}" "$peak"
	[ "${lines[3]}" -lt "$peak" ]
	# The dip on its own, without the peak before it, falls.
	run --separate-stderr qs-decide --exploit --table t.csv --level-window 300 \
	    <<<'{"time":1015,"pod":8,"latency":300,"requests":20}'
	assert_success
	[ "$(jq -r .action <<<"$output")" -lt "$peak" ]
}

@test "--recent keeps the window from one run to the next; a corrupt file is 65, one line, and stays as it was" {
	plan_fixture 300
	run --separate-stderr qs-decide --exploit --table t.csv --recent recent \
	    <<<'{"time":1000,"pod":8,"latency":400,"requests":60}'
	assert_success
	run cat recent
	assert_output "1000000 60"
	QS_RECENT=recent run --separate-stderr qs-decide --exploit --table t.csv \
	    <<<'{"time":1015,"pod":8,"latency":300,"requests":20}'
	assert_success
	assert_equal "$(jq -r .level <<<"$output")" 60
	# Trimmed to the window: 20 at 1015 hides nothing yet, the peak goes.
	run qs-decide --exploit --table t.csv --recent recent \
	    <<<'{"time":1400,"pod":8,"latency":300,"requests":20}'
	assert_success
	assert_equal "$(jq -r .level <<<"$output")" 20
	run cat recent
	assert_output "1400000 20"
	printf '1000000 60\nnot a line\n' > recent
	cp recent before
	run --separate-stderr qs-decide --exploit --table t.csv --recent recent \
	    <<<'{"time":1015,"pod":8,"latency":300,"requests":20}'
	assert_failure 65
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_equal "$stderr" "qs-decide: invalid recent file recent: line 2: not \"unix_milliseconds requests\""
	cmp recent before
}

@test "the table's level_window is checked against --level-window and QS_LEVEL_WINDOW (78)" {
	plan_fixture 300
	in='{"time":1000,"pod":8,"latency":400,"requests":60}'
	run --separate-stderr qs-decide --table t.csv --level-window 120 <<<"$in"
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-decide: t.csv.meta: level_window is 300, but --level-window is 120"
	QS_LEVEL_WINDOW=0 run --separate-stderr qs-decide --table t.csv <<<"$in"
	assert_failure 78
	QS_LEVEL_WINDOW=300 run --separate-stderr qs-decide --table t.csv <<<"$in"
	assert_success
	# Without the metadata the model's row says it.
	rm t.csv.meta
	run --separate-stderr qs-decide --table t.csv --level-window 120 <<<"$in"
	assert_failure 78
	assert_equal "$stderr" "qs-decide: t.csv.model: level_window is 300, but --level-window is 120"
}

@test "a model without level_window loads and plans as before: no level" {
	plan_fixture 0
	run grep -c '^level_window' t.csv.model
	assert_output 0
	grep -qx level_window=0 t.csv.meta
	rm t.csv.meta
	in='{"time":1000,"pod":8,"latency":400,"requests":60}'
	run --separate-stderr qs-decide --table t.csv --exploit <<<"$in"
	assert_success
	refute_output --partial level
	# With the window the fit differs: the ratios are to the level.
	cp t.csv t0.csv
	plan_fixture 300
	run ! cmp -s t.csv t0.csv
	# A model of 300 with its row taken out is a model of 0 again.
	grep -v '^level_window' t.csv.model > m && mv m t.csv.model
	rm t.csv.meta
	run --separate-stderr qs-decide --table t.csv --exploit <<<"$in"
	assert_success
	refute_output --partial level
}

@test "qs-sim eval and qs-decide decide alike on the same observations (one level)" {
	plan_fixture 300
	run --separate-stderr qs-sim eval --trace "$DATA/trace-sine.csv" \
	    --policy table:t.csv --period 15 --startup-delay 0 --record obs.csv \
	    --seed 2
	assert_success
	qs-decide --table t.csv --exploit --unbuffered < obs.csv > dec.csv
	# With no start-up delay each decision is the next observation's pod;
	# the sine's falls are where the level and the requests differ.
	run awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	    NR > 2 && $c["pod"] != prev { bad++ }
	    $c["level"] != $c["requests"] { held++ }
	    { prev = $c["action"] } END { print NR - 1, bad + 0, (held > 50) }' dec.csv
	assert_output "719 0 1"
}

@test "qs-update takes the load ratio to the record's level; a level that is not a number is 65" {
	plan_fixture 300
	cp t.csv.model m0
	tr='{"time":1000,"pod":6,"latency":420,"requests":60,"level":100,"action":8,"applied":8,"new_time":1060,"new_pod":8,"new_latency":380,"new_requests":75,"reward":-0.04}'
	run --separate-stderr qs-update --table t.csv --history h.csv <<<"$tr"
	assert_success
	# The one "at" bin that gained a sample holds 75 / 100, not 75 / 60.
	run awk -F, 'NR == FNR { if ($1 == "at") c[$2 "," $4] = $6; next }
	    $1 == "at" && $6 != c[$2 "," $4] { print ($4 <= 0.75 && 0.75 < $5), $2 }' m0 t.csv.model
	assert_output --regexp '^1 [0-9.]+$'
	cp t.csv.model m1
	cp t.csv t1.csv
	run --separate-stderr qs-update --table t.csv --history h2.csv \
	    <<<"${tr/\"level\":100/\"level\":\"high\"}"
	assert_failure 65
	assert_equal "${#stderr_lines[@]}" 1
	cmp t.csv.model m1
	cmp t.csv t1.csv
}

@test "retraining a planned table with --learner q sets its level_window to 0: qs-decide decides on the requests" {
	plan_fixture 300
	grep -qx level_window=300 t.csv.meta
	cp t.csv.model model.saved
	run --separate-stderr qs-sim train --learner q --trace "$DATA/trace-sine.csv" \
	    --table t.csv --epochs 20 --seed 1
	assert_success
	run grep '^level_window=' t.csv.meta
	assert_output level_window=0
	# The model is removed: qs-update and qs-decide would plan over the
	# Q-learned table from it.
	[ ! -e t.csv.model ]
	in='{"time":1000,"pod":8,"latency":400,"requests":60}'
	run --separate-stderr qs-decide --table t.csv --exploit <<<"$in"
	assert_success
	refute_output --partial level
	run --separate-stderr qs-decide --table t.csv --exploit --level-window 300 <<<"$in"
	assert_failure 78
	# The model's window alone (no metadata line) is set to 0 as well.
	grep -v '^level_window=' t.csv.meta > m && mv m t.csv.meta
	cp model.saved t.csv.model
	run --separate-stderr qs-sim train --learner q --trace "$DATA/trace-sine.csv" \
	    --table t.csv --epochs 20 --seed 1
	assert_success
	run grep '^level_window=' t.csv.meta
	assert_output level_window=0
	# A table the Q learner made new gets no level_window line.
	run --separate-stderr qs-sim train --trace "$DATA/trace-sine.csv" \
	    --table u.csv --epochs 20 --seed 1
	assert_success
	run grep -c '^level_window' u.csv.meta
	assert_output 0
}

@test "a record without a time is a period after the one before, however fast the records are read" {
	plan_fixture 300
	# A peak, then 24 quieter records, read at once: 15 s apart (no
	# period in the metadata), so the peak leaves the 300-s window at the
	# 21st record; taking each as "now" would keep it for ever.
	{ echo '{"pod":6,"latency":300,"requests":100}'
	  for _ in $(seq 24); do echo '{"pod":6,"latency":300,"requests":10}'; done
	} > in.json
	run --separate-stderr qs-decide --exploit --table t.csv < in.json
	assert_success
	assert_equal "$(levels <<<"$output")" "$(printf '100 %.0s' $(seq 20); printf '10 10 10 10 10')"
	# The table's period counts: at 60 s the peak is gone at the 6th.
	echo period=60 >> t.csv.meta
	run --separate-stderr qs-decide --exploit --table t.csv < in.json
	assert_success
	assert_equal "$(levels <<<"$output" | cut -d' ' -f1-7)" "100 100 100 100 100 10 10"
	# Records with a time keep theirs.
	run --separate-stderr qs-decide --exploit --table t.csv <<-'EOF'
	{"time":1000,"pod":6,"latency":300,"requests":100}
	{"time":1001,"pod":6,"latency":300,"requests":10}
	EOF
	assert_success
	assert_equal "$(levels <<<"$output")" "100 100"
}

@test "--recent: a time beyond the records' limit is 65; a clock a period past it is kept at the limit, and the file is read again" {
	qs-init-table -o t.csv
	# Its milliseconds, a period on, no longer fit: the window started
	# anew at LLONG_MIN, saved, and the next run refused its own file.
	printf '9223372036854775000 5\n' > recent
	cp recent before
	run --separate-stderr qs-decide --exploit --table t.csv --level-window 60 \
	    --recent recent <<<'{"pod":1,"latency":100,"requests":7}'
	assert_failure 65
	assert_equal "$stderr" "qs-decide: invalid recent file recent: line 1: not \"unix_milliseconds requests\""
	cmp recent before
	printf '1000 5\n' > recent
	QS_PERIOD=1e300 run --separate-stderr qs-decide --exploit --table t.csv \
	    --level-window 60 --recent recent <<<'{"pod":1,"latency":100,"requests":7}'
	assert_success
	run cat recent
	assert_output "9000000000000000000 7"
	run --separate-stderr qs-decide --exploit --table t.csv --level-window 60 \
	    --recent recent <<<'{"pod":1,"latency":100,"requests":3}'
	assert_success
	assert_equal "$(jq -r .level <<<"$output")" 7
}
