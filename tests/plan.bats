#!/usr/bin/env bats
# The model-based learner: qs-sim eval --record, qs-sim train --learner
# model, the model file TABLE.model, qs-update's online model update, and
# qs-decide on a planned table.

load helpers
load coprocess


# Field $1 of the JSON object on standard input.
json_get() {
	jq -r ".$1"
}

# The planned table of the fixture's observations: t.csv and t.csv.model.
plan_fixture() {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv \
	    2>/dev/null
}

# The greedy action of table $1's state pod $2, latency $3, requests $4,
# by awk: the highest value, ties to the action nearest pod.
greedy_awk() {
	awk -F, -v p="$2" -v l="$3" -v r="$4" '
	NR == 1 { for (i = 6; i <= NF; i++) if ($i != "visits") act[i] = $i; next }
	$1 == p && $2 <= l && l <= $3 && $4 <= r && r <= $5 {
		b = 0
		for (i in act) {
			d = act[i] > p ? act[i] - p : p - act[i]
			if (b == 0 || $i > $b || ($i == $b && d < bd)) { b = i; bd = d }
		}
		print act[b]
	}' "$1"
}

# A transition on the fixture's table, as qs-reward writes them.
transition() {
	echo '{"time":1000,"pod":6,"latency":420,"requests":60,"action":8,"applied":8,"new_time":1060,"new_pod":8,"new_latency":380,"new_requests":75,"reward":-0.04}'
}

@test "qs-sim eval --record writes each decision's observation as qs-observe does" {
	run --separate-stderr qs-sim eval --trace "$DATA/trace-sine.csv" \
	    --policy hpa --record obs.csv --seed 2
	assert_success
	run head -1 obs.csv
	assert_output "time,pod,latency,requests"
	# HPA decides every 15 s: four observations a 60-s interval, the
	# first at 15 s (nothing is observed before a period has passed).
	run awk -F, 'NR > 1 { n++; if ($1 != 15 * n || $2 < 1 || $3 <= 0 || $4 < 0) bad++ }
	    END { print n, bad + 0 }' obs.csv
	assert_output "719 0"
	# The fixture was made so.
	run cmp obs.csv "$DATA/plan-observations.csv"
	assert_success
}

@test "the planner recovers a known latency curve from its observations" {
	qs-sim eval --trace "$DATA/trace-sine.csv" --policy hpa --record obs.csv \
	    --seed 2 >/dev/null
	run --separate-stderr qs-sim train --observations obs.csv --table t.csv
	assert_success
	# The simulator's curve: latency = 283 + 217 r / 0.353 at r requests/s
	# per replica, with 5 % noise; below 1 % violations it needs
	# latency * e^(2.33 * 0.05) <= 500, i.e. r <= 0.265.  Holding that
	# many, the planned action is within one of it, at every load seen.
	for r in 10 30 50 70 90 110 130 150; do
		need=$(awk -v r="$r" 'BEGIN { n = r / 30 / 0.265; print (n == int(n)) ? n : int(n) + 1 }')
		got=$(greedy_awk t.csv "$need" 100 "$r")
		[ "$got" -ge $((need - 1)) ] && [ "$got" -le $((need + 1)) ] ||
		    { echo "requests $r: need $need, planned $got"; return 1; }
	done
}

@test "train --observations writes the table and its model, and qs-decide follows it" {
	run --separate-stderr qs-sim train --observations "$DATA/plan-observations.csv" \
	    --table t.csv
	assert_success
	assert_output ""
	# The summary on standard error, one JSON line.
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_equal "$(json_get learner <<<"$stderr")" model
	# Most of the 719 rows are samples: those whose window began under
	# another replica count are left out.
	n=$(json_get observations <<<"$stderr")
	[ "$n" -gt 600 ] && [ "$n" -lt 719 ]
	run head -1 t.csv.model
	assert_output "kind,lo,hi,bin_lo,bin_hi,count,mean,sd"
	# The model's latency counts are the samples; every planned row's
	# visits are that many, so that nothing is explored or "unlearned".
	assert_equal "$(awk -F, '$1 == "latency" { n += $6 } END { print n }' t.csv.model)" "$n"
	run awk -F, -v n="$n" 'NR > 1 && $NF != n { bad++ } END { print NR - 1, bad + 0 }' t.csv
	assert_output --regexp '^[0-9]+ 0$'
	# Default options, one record at a time: the planned action, greedy,
	# at the level (records without time, within the 300-s window: the
	# highest requests so far).
	printf '%s\n' '{"pod":2,"latency":300,"requests":20}' \
	    '{"pod":5,"latency":480,"requests":60}' \
	    '{"pod":9,"latency":350,"requests":30}' > in.json
	run --separate-stderr qs-decide --unbuffered --table t.csv < in.json
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	i=0
	while read -r p l r; do
		want=$(greedy_awk t.csv "$p" "$l" "$r")
		assert_equal "$(json_get action <<<"${lines[$i]}")" "$want"
		assert_equal "$(json_get why <<<"${lines[$i]}")" greedy
		assert_equal "$(json_get level <<<"${lines[$i]}")" "$r"
		i=$((i + 1))
	done <<-EOF
	2 300 20
	5 480 60
	9 350 60
	EOF
}

@test "the model file round-trips: a transition changes only the rows it learns from" {
	plan_fixture
	cp t.csv.model before.model
	run --separate-stderr qs-update --table t.csv < <(transition)
	assert_success
	# Two latency bins, one "at" ratio bin and the fit: nothing else is
	# rewritten, byte for byte.
	run bash -c "diff before.model t.csv.model | grep -c '^>'"
	assert_output 4
	run bash -c "diff before.model t.csv.model | sed -n 's/^> //p' | cut -d, -f1 | sort | uniq -c | tr -s ' '"
	assert_output - <<-EOF
	 1 at
	 2 latency
	 1 linear
	EOF
}

@test "qs-update with a model learns a transition once, replans, and its q_value is the planned value" {
	plan_fixture
	n=$(awk -F, '$1 == "latency" { n += $6 } END { print n }' t.csv.model)
	run --separate-stderr qs-update --table t.csv --history h.csv < <(transition)
	assert_success
	assert_equal "$stderr" ""
	q=$(json_get q_value <<<"$output")
	# The planned cell: pod 6, latency 420, requests 60, action 8.
	cell=$(awk -F, 'NR == 1 { for (i = 6; i <= NF; i++) if ($i == 8) c = i; next }
	    $1 == 6 && $2 <= 420 && 420 <= $3 && $4 <= 60 && 60 <= $5 { print $c, $NF }' t.csv)
	assert_equal "$cell" "$q $((n + 2))"
	assert_equal "$(awk -F, '$1 == "latency" { n += $6 } END { print n }' t.csv.model)" $((n + 2))
	# Planned, not Q-learned: 0.1 * reward would be -0.004.
	[ "$q" != -0.004 ]
	# Again: in the history already, so neither model nor table changes.
	m=$(digest t.csv.model)
	d=$(digest t.csv)
	run --separate-stderr qs-update --table t.csv --history h.csv < <(transition)
	assert_success
	assert_output ""
	assert_equal "$stderr" "qs-update: <stdin>: line 1: this transition is already in h.csv; not applied again"
	assert_equal "$(digest t.csv.model)" "$m"
	assert_equal "$(digest t.csv)" "$d"
	# One record at a time is Q-learning only: refused on a planned table.
	run --separate-stderr qs-update --unbuffered --table t.csv --history h.csv < <(transition)
	assert_failure 64
	assert_equal "$(digest t.csv.model)" "$m"
	assert_equal "$(wc -l < h.csv)" 2
}

@test "--no-model, or a table without a model, is Q-learning as before" {
	plan_fixture
	m=$(digest t.csv.model)
	run --separate-stderr qs-update --table t.csv --no-model < <(transition)
	assert_success
	q=$(json_get q_value <<<"$output")
	cell=$(awk -F, 'NR == 1 { for (i = 6; i <= NF; i++) if ($i == 8) c = i; next }
	    $1 == 6 && $2 <= 420 && 420 <= $3 && $4 <= 60 && 60 <= $5 { print $c }' t.csv)
	assert_equal "$cell" "$q"
	assert_equal "$(digest t.csv.model)" "$m"
	run qs-update --table t.csv --model t.csv.model --no-model < <(transition)
	assert_failure 64
}

@test "a corrupt model is refused with 65 and one line, and nothing changes" {
	plan_fixture
	cp t.csv.model good.model
	check() {
		cp bad.model t.csv.model
		m=$(digest t.csv.model)
		d=$(digest t.csv)
		run --separate-stderr qs-update --table t.csv --history h.csv < <(transition)
		assert_failure 65
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ]
		assert_equal "$stderr" "qs-update: invalid model t.csv.model: $1"
		assert_equal "$(digest t.csv.model)" "$m"
		assert_equal "$(digest t.csv)" "$d"
		[ ! -s h.csv ]
	}
	sed 's/^kind,/type,/' good.model > bad.model
	check "line 2: the header is not kind,lo,hi,bin_lo,bin_hi,count,mean,sd"
	sed '3s/^window/windows/' good.model > bad.model
	check 'line 3: unknown kind "windows"'
	sed '/^w_res/d' good.model > bad.model
	check "line $(($(wc -l < good.model) - 1)): a parameter (ideal, window, horizon, w_slo, w_res, w_adp, replicas) is missing"
	awk -F, -v OFS=, '$1 == "latency" && !done { $6 = "x"; done = 1 } 1' good.model > bad.model
	line=$(grep -n '^latency' good.model | head -1 | cut -d: -f1)
	check "line $line: count is not a number"
	awk -F, -v OFS=, '$1 == "latency" && ++k == 2 { $2 = 5 } 1' good.model > bad.model
	check "line $((line + 1)): latency bins are not contiguous and of one width"
	head -5 good.model > bad.model
	check "line 5: a parameter (ideal, window, horizon, w_slo, w_res, w_adp, replicas) is missing"
}

@test "the fit takes the queue's curve when it fits the observations better" {
	# The simulator's curves, base 283 ms and capacity 0.353 requests/s
	# per replica: M/M/1's 283 / (1 - r / 0.8134), and the line; the fit
	# recovers base within 10 % and capacity within 5 %.
	for lm in queue linear; do
		qs-sim eval --trace "$DATA/trace-sine.csv" --policy hpa --hpa-target 0.3 \
		    --latency-model "$lm" --noise 0.01 --record "$lm.csv" --seed 2 >/dev/null
		run --separate-stderr qs-sim eval --observations "$lm.csv" --policy static:3
		assert_success
		assert_equal "$(json_get latency_model <<<"$stderr")" "$lm"
		run awk -v b="$(json_get base <<<"$stderr")" -v c="$(json_get capacity <<<"$stderr")" \
		    'BEGIN { exit !(b > 283 * 0.9 && b < 283 * 1.1 && c > 0.353 * 0.95 && c < 0.353 * 1.05) }'
		assert_success
	done
	# What the fit sets cannot be given too.
	run --separate-stderr qs-sim eval --observations queue.csv --policy static:3 \
	    --latency-model linear
	assert_failure 64
}

@test "a long-lived qs-decide --unbuffered follows the table qs-update planned again" {
	plan_fixture
	printf '%s\n' '{"pod":6,"latency":420,"requests":60}' \
	    '{"pod":6,"latency":420,"requests":60}' > in
	# Between the decisions: many transitions at 6 and 8 replicas whose
	# latency is far above the ideal, so that more replicas are planned.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$1" -eq 1 ] || return 0
		for i in $(seq 300); do
			echo "{\"time\":$((1000 + 15 * i)),\"pod\":6,\"latency\":900,\"requests\":60,\"action\":8,\"new_time\":$((1060 + 15 * i)),\"new_pod\":8,\"new_latency\":900,\"new_requests\":60,\"reward\":-1}"
		done | qs-update --table t.csv >/dev/null
	}
	run roundtrip in 30 qs-decide --unbuffered --table t.csv
	assert_success
	a1=$(sed -n 1p answers | json_get action)
	a2=$(sed -n 2p answers | json_get action)
	[ "$a2" -gt "$a1" ]
	assert_equal "$a2" "$(greedy_awk t.csv 6 420 60)"
}

@test "qs-update --unbuffered on a planned table is refused, and changes nothing" {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv 2>/dev/null
	sum=$(cat t.csv t.csv.model | cksum)
	run --separate-stderr qs-update --unbuffered --table t.csv < <(transition)
	assert_failure 64
	assert_equal "$stderr" "qs-update: --unbuffered does not learn into a model: t.csv.model (run without --unbuffered, or give --no-model)"
	assert_equal "$(cat t.csv t.csv.model | cksum)" "$sum"
}

# Records $2 of a flat load: pod 6, latency 300, requests $1, every 15 s.
flat_records() {
	for i in $(seq 0 $(($2 - 1))); do
		echo "{\"time\":$((1000 + 15 * i)),\"pod\":6,\"latency\":300,\"requests\":$1}"
	done
}

@test "qs-decide learns the load it decides on into its copy of the model, and changes no file" {
	plan_fixture
	sum=$(cat t.csv t.csv.model | cksum)
	fixed=$(greedy_awk t.csv 6 300 80)
	flat_records 80 200 > in.json
	run --separate-stderr qs-decide --exploit --table t.csv < in.json
	assert_success
	[ "${#lines[@]}" -eq 200 ]
	# Until the horizon has passed nothing is learned: the table decides.
	assert_equal "$(json_get action <<<"${lines[0]}")" "$fixed"
	assert_equal "$(json_get action <<<"${lines[3]}")" "$fixed"
	# A flat load needs less headroom than the sine the model was fitted
	# to: fewer replicas, by the greedy rule.
	last=$(json_get action <<<"${lines[199]}")
	[ "$last" -lt "$fixed" ]
	assert_equal "$(json_get why <<<"${lines[199]}")" greedy
	assert_equal "$(cat t.csv t.csv.model | cksum)" "$sum"
	# --no-adapt decides from the table as it is, every time.
	run --separate-stderr qs-decide --exploit --no-adapt --table t.csv < in.json
	assert_success
	run jq -r .action <<<"$output"
	assert_equal "$(sort -u <<<"$output")" "$fixed"
	assert_equal "$(cat t.csv t.csv.model | cksum)" "$sum"
}

@test "qs-decide on one record at a time decides as the table, as in qs-run's ticks" {
	plan_fixture
	flat_records 80 200 > in.json
	want=$(greedy_awk t.csv 6 300 80)
	while read -r rec; do
		printf '%s\n' "$rec" | qs-decide --exploit --table t.csv | json_get action
	done < <(sed -n '1p;100p;200p' in.json) > got
	assert_equal "$(sort -u got)" "$want"
}

@test "qs-decide with a corrupt model is refused with 65 unless --no-adapt" {
	plan_fixture
	echo 'kind,lo,hi,bin_lo,bin_hi,count,mean,sd' > t.csv.model
	echo 'bogus,1,2,,,,,' >> t.csv.model
	run --separate-stderr qs-decide --table t.csv < <(flat_records 80 1)
	assert_failure 65
	assert_output ""
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_regex "$stderr" '^qs-decide: .*t\.csv\.model.*unknown kind'
	run --separate-stderr qs-decide --no-adapt --table t.csv < <(flat_records 80 1)
	assert_success
	run --separate-stderr qs-decide --no-adapt --policy --table t.csv
	assert_failure 64
	assert_equal "$stderr" "qs-decide: --no-adapt is for the records filter, not --cpa or --policy"
}

@test "qs-sim eval of a planned table learns the load online as qs-decide does, unless --no-adapt" {
	plan_fixture
	sum=$(cat t.csv t.csv.model | cksum)
	# A flat load at the sine's mean, for three hours.
	{ echo t,requests; for i in $(seq 0 179); do echo "$i,150"; done; } > flat.csv
	run --separate-stderr qs-sim eval --trace flat.csv --policy table:t.csv \
	    --period 15 --seed 3
	assert_success
	a=$(jq -c '[.replica_minutes, .slo_violations]' <<<"$output")
	run --separate-stderr qs-sim eval --trace flat.csv --policy table:t.csv \
	    --period 15 --seed 3 --no-adapt
	assert_success
	b=$(jq -c '[.replica_minutes, .slo_violations]' <<<"$output")
	[ "$a" != "$b" ]
	assert_equal "$(cat t.csv t.csv.model | cksum)" "$sum"
	run --separate-stderr qs-sim eval --trace flat.csv --policy hpa --no-adapt
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: --no-adapt needs --policy table:FILE"
}

# Two transitions with a level, the second's not its requests.
two_transitions() {
	echo '{"time":2000,"pod":6,"latency":420,"requests":60,"level":60,"action":8,"applied":8,"new_time":2060,"new_pod":8,"new_latency":380,"new_requests":75,"reward":-0.04}'
	echo '{"time":2015,"pod":8,"latency":300,"requests":75,"level":110,"action":7,"applied":7,"new_time":2075,"new_pod":7,"new_latency":450,"new_requests":52,"reward":-0.03}'
}

# Kill qs-update with a model at each of its syscalls that change a file
# (but the writes of its temporary files), in a copy of directory $1, run
# it again, and compare the history, the model and the table with those
# of an update never killed.  Prints the kills made and the reruns that
# learned into the model from the history.
kill_everywhere() {
	local base=$1 name k f n=0 caught=0
	cp -r "$base" want
	(cd want && qs-update --table t.csv --history h.csv < ../in > /dev/null)
	cp -r "$base" dry
	(cd dry && strace -y -o ../trace -e trace=write,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,ftruncate,link,linkat \
	    qs-update --table t.csv --history h.csv < ../in > /dev/null)
	rm -r dry
	# Each kept call as its name and its number among the calls of that
	# name, which is what strace's when= counts.
	awk -F'(' '/^[a-z0-9]+\(/ { c[$1]++; if ($0 !~ /^write\([0-9]+<[^>]*\/\.t\.csv/) print $1, c[$1] }' \
	    trace > points
	while read -r name k; do
		rm -rf run
		cp -r "$base" run
		if (cd run && strace -o /dev/null -e trace="$name" \
		    -e inject="$name":signal=KILL:when="$k" \
		    qs-update --table t.csv --history h.csv < ../in > /dev/null 2>&1) 2> /dev/null; then
			echo "not killed at $name #$k"
			return 1
		fi
		(cd run && qs-update --table t.csv --history h.csv < ../in > /dev/null 2> ../err) || return 1
		! grep -q 'learned from the history' err || caught=$((caught + 1))
		for f in h.csv t.csv t.csv.model; do
			cmp -s "want/$f" "run/$f" || { echo "killed at $name #$k: $f differs"; return 1; }
		done
		n=$((n + 1))
	done < points
	rm -rf want run
	echo "$n $caught"
}

@test "qs-update with a model killed at any point: the next run leaves history, model and table as one run" {
	command -v strace > /dev/null || skip "strace is not installed"
	[[ $(command -v qs-update) != */valgrind-bin/* ]] || skip "the syscalls to kill at cannot be counted under valgrind"
	# LeakSanitizer cannot run under ptrace.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	two_transitions > in
	# A model as trained, without a history yet: its first update.
	mkdir trained
	(cd trained && qs-sim train --observations "$DATA/plan-observations.csv" \
	    --table t.csv --max-replicas 8 2>/dev/null)
	run kill_everywhere trained
	assert_success
	read -r n caught <<<"$output"
	echo "# $n kills, $caught learned from the history" >&3
	[ "$n" -ge 8 ]
	[ "$caught" -ge 2 ]
	# A model that has learned a history's row, with its count.
	mkdir counted
	cp trained/t.csv trained/t.csv.model trained/t.csv.meta counted/
	# (with a level, as qs-decide gives every record on a planned table:
	# a history begun without one has no column to learn it again from).
	(cd counted && qs-update --table t.csv --history h.csv \
	    < <(transition | sed 's/"requests":60,/"requests":60,"level":80,/') > /dev/null)
	grep -qx 'learned,,,,,1,,' counted/t.csv.model
	run kill_everywhere counted
	assert_success
	read -r n caught <<<"$output"
	echo "# $n kills, $caught learned from the history" >&3
	[ "$n" -ge 8 ]
	[ "$caught" -ge 2 ]
}

@test "the model counts the history rows it learned: a shorter history is a new one, a bad count is 65" {
	plan_fixture
	# Without a history the model gets no count.
	cp t.csv t0.csv
	cp t.csv.model m0
	qs-update --table t.csv < <(transition) > /dev/null
	run grep -c '^learned,' t.csv.model
	assert_output 0
	cp t0.csv t.csv
	cp m0 t.csv.model
	two_transitions > in
	qs-update --table t.csv --history h.csv < in > /dev/null
	grep -qx 'learned,,,,,2,,' t.csv.model
	# Another, new history: counted from its start, silently.
	run --separate-stderr qs-update --table t.csv --history new.csv < <(transition)
	assert_success
	assert_equal "$stderr" ""
	grep -qx 'learned,,,,,1,,' t.csv.model
	# A history shorter than the count, not empty: said, then the same.
	sed -i 's/^learned,,,,,1,,$/learned,,,,,5,,/' t.csv.model
	run --separate-stderr qs-update --table t.csv --history h.csv < <(transition)
	assert_success
	assert_equal "$stderr" "qs-update: h.csv has 2 rows, fewer than the 5 its model learned: taken as a new history"
	grep -qx 'learned,,,,,3,,' t.csv.model
	# A count that is not one is refused, and nothing changes.
	sed -i 's/^learned,,,,,3,,$/learned,,,,,2.5,,/' t.csv.model
	line=$(grep -n '^learned,' t.csv.model | cut -d: -f1)
	m=$(digest t.csv.model)
	run --separate-stderr qs-update --table t.csv --history h.csv < <(transition)
	assert_failure 65
	assert_equal "$stderr" "qs-update: invalid model t.csv.model: line $line: count is not an integer"
	assert_equal "$(digest t.csv.model)" "$m"
	assert_equal "$(wc -l < h.csv)" 4
	# qs-sim eval --learn, which learns in memory, loads a counted model.
	sed -i 's/^learned,,,,,2.5,,$/learned,,,,,3,,/' t.csv.model
	m=$(digest t.csv.model)
	run --separate-stderr qs-sim eval --trace "$DATA/trace-sine.csv" \
	    --policy table:t.csv --learn --period 15 --seed 1
	assert_success
	assert_equal "$(digest t.csv.model)" "$m"
}

@test "qs-decide goes on learning the load after a record whose time is out of line" {
	plan_fixture
	fixed=$(greedy_awk t.csv 6 300 80)
	flat_records 80 200 > in.json
	# A record without time is read as now, far after the others; one
	# with a time far ahead, or one far back, is a clock set wrong once.
	for odd in '{"pod":6,"latency":300,"requests":80}' \
	    '{"time":1e15,"pod":6,"latency":300,"requests":80}'; do
		run --separate-stderr qs-decide --exploit --table t.csv \
		    < <(printf '%s\n' "$odd"; cat in.json)
		assert_success
		[ "${#lines[@]}" -eq 201 ]
		last=$(json_get action <<<"${lines[200]}")
		[ "$last" -lt "$fixed" ] || { echo "after $odd: $last"; return 1; }
	done
	run --separate-stderr qs-decide --exploit --table t.csv \
	    < <(head -100 in.json; echo '{"time":10,"pod":6,"latency":300,"requests":80}'; tail -100 in.json)
	assert_success
	last=$(json_get action <<<"${lines[200]}")
	[ "$last" -lt "$fixed" ]
}

@test "qs-sim eval --learn --no-adapt decides from a planned table as it is, not Q-learning into it" {
	plan_fixture
	{ echo t,requests; for i in $(seq 0 179); do echo "$i,$((100 + i % 7 * 20))"; done; } > load.csv
	run --separate-stderr qs-sim eval --trace load.csv --policy table:t.csv \
	    --period 15 --seed 3 --no-adapt
	assert_success
	want=$output
	for a in --learn "--learn --alpha 0.9"; do
		# shellcheck disable=SC2086
		run --separate-stderr qs-sim eval --trace load.csv \
		    --policy table:t.csv --period 15 --seed 3 --no-adapt $a
		assert_success
		assert_equal "$output" "$want"
		assert_equal "$stderr" ""
	done
}

@test "qs-decide's forgetting over a long stream keeps what a level not seen since learned" {
	plan_fixture
	# Two weeks at 15 s of a load between 40 and 80 (the weights are
	# scaled down once on the way), then requests the stream never had,
	# a second apart: nothing has been learned of their level since the
	# model was fitted, so they are decided as the table has them.
	awk 'BEGIN {
		for (i = 0; i < 85000; i++)
			printf "{\"time\":%d,\"pod\":6,\"latency\":300,\"requests\":%d}\n",
			    1000 + 15 * i, int(i / 25) % 2 ? 80 : 40
		for (r = 102; r <= 126; r += 8)
			printf "{\"time\":%d,\"pod\":6,\"latency\":300,\"requests\":%d}\n",
			    3000000 + r / 8, r
	}' > long.json
	run --separate-stderr qs-decide --exploit --no-adapt --table t.csv < long.json
	assert_success
	want=$(tail -4 <<<"$output" | jq -r .action)
	run --separate-stderr qs-decide --exploit --table t.csv < long.json
	assert_success
	[ "${#lines[@]}" -eq 85004 ]
	assert_equal "$(tail -4 <<<"$output" | jq -r .action)" "$want"
}

@test "a long-lived qs-decide --unbuffered stops learning into a model removed beside its table, and starts again when it is back" {
	plan_fixture
	cp t.csv.model saved.model
	fixed=$(greedy_awk t.csv 6 300 80)
	flat_records 80 400 > in.json
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		case $1 in
		200) rm t.csv.model ;;
		210) cp saved.model new.model && mv new.model t.csv.model ;;
		esac
	}
	run roundtrip in.json 30 qs-decide --unbuffered --exploit --table t.csv
	assert_success
	assert_equal "$(cat status)" 0
	run jq -r .action answers
	# Learned a flat load: fewer replicas than the table has.
	[ "${lines[199]}" -lt "$fixed" ]
	# The model gone, the table decides as it is, what was planned in
	# memory from the model dropped with it.
	assert_equal "$(sed -n '201,210p' <<<"$output" | sort -u)" "$fixed"
	# Back, it learns the load again.
	[ "${lines[399]}" -lt "$fixed" ]
}

# The fixture's table without a level window, and a model t.csv.model
# with its latency and two request levels: up to 100 requests, $1 ratio
# samples of 1, and above, the samples $2 ("bin:count ...", bin 40 the
# ratio 1, 45 about 4/3), the same in at and in peak.
two_level_model() {
	qs-sim train --observations "$DATA/plan-observations.csv" --table t.csv \
	    --level-window 0 2>/dev/null
	awk -F, -v a="$1" -v b="$2" '
	function lo(k) { return sprintf("%.17g", exp((k - 40) * 0.05)) }
	function rows(l, h, spec,   n, i, kv, s) {
		n = split(spec, s, " ")
		for (i = 1; i <= n; i++) {
			split(s[i], kv, ":")
			print "at," l "," h "," lo(kv[1]) "," lo(kv[1] + 1) "," kv[2] ",,"
			print "peak," l "," h "," lo(kv[1]) "," lo(kv[1] + 1) "," kv[2] ",,"
		}
	}
	$1 != "level" && $1 != "at" && $1 != "peak"
	END {
		print "level,0,100,,,,100,"; rows(0, 100, "40:" a)
		print "level,100,,,,,200,"; rows(100, "", b)
	}' t.csv.model > new.model
	mv new.model t.csv.model
}

# Records of a flat load of 60 requests, $1 of them every 15 s, then
# requests $2 and, 60 s later, 140: one ratio sample at $2's level.
revisit_records() {
	awk -v n="$1" -v r="$2" 'BEGIN {
		f = "{\"time\":%d,\"pod\":6,\"latency\":300,\"requests\":%d}\n"
		for (i = 0; i < n; i++)
			printf f, 1000 + 15 * i, 60
		printf f, 1000 + 15 * n, r
		printf f, 1060 + 15 * n, 140
	}'
}

@test "one online sample at a thin level does not define it, though the prior's weight outweighs the level's samples" {
	# 72000 samples: an online one weighs 50, the level above 100
	# requests has 10 of its own.
	two_level_model 72000 "40:10"
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 0 140)
	assert_success
	want=$(json_get action <<<"${lines[1]}")
	# The one sample rises by a third: the level is still thin, and
	# borrows every level's ratios, as it did before the sample.
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 0 105)
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_equal "$(json_get action <<<"${lines[1]}")" "$want"
	# Forty samples of its own rising so make it trusted: more replicas.
	two_level_model 72000 "40:10 45:40"
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 0 60)
	assert_success
	[ "$(json_get action <<<"${lines[1]}")" -gt "$want" ]
}

@test "a level revisited after days away is not defined by its first new sample" {
	# The level above 100 requests is trusted (40 samples of 1), and an
	# online sample weighs as one of them, at first.
	two_level_model 1400 "40:40"
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 0 140)
	assert_success
	want=$(json_get action <<<"${lines[1]}")
	# At first a rise counts as one of the level's 41 samples.
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 0 105)
	assert_success
	[ "$(json_get action <<<"${lines[1]}")" -gt "$want" ]
	# After 33 hours at 60 requests an online sample weighs 16 of the
	# level's old ones: it is as if the level had one sample, and it
	# borrows every level's ratios, which hold.
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 8000 140)
	assert_success
	[ "${#lines[@]}" -eq 8002 ]
	assert_equal "$(json_get action <<<"${lines[8001]}")" "$want"
	run --separate-stderr qs-decide --exploit --table t.csv < <(revisit_records 8000 105)
	assert_success
	assert_equal "$(json_get action <<<"${lines[8001]}")" "$want"
}

@test "train --observations warns when no latency curve fits: the table is a guess" {
	# Twelve observations, each at its own rate: no bin has three.
	{
		echo time,pod,latency,requests
		for i in $(seq 1 12); do echo "$((i * 15)),2,$((200 + i * 20)),$((30 + i * 8))"; done
	} > few.csv
	run --separate-stderr qs-sim train --observations few.csv --table t.csv
	assert_success
	assert_equal "${stderr_lines[0]}" "qs-sim: few.csv: no latency curve fits its 12 latency samples (it needs 3 in each of two bins of requests per replica, below twice the ideal): the table is a guess beyond the rates observed; evaluate it before use"
	assert_equal "$(json_get fit <<<"${stderr_lines[1]}")" none
	[ -s t.csv ]
	# With enough of them, no warning: one summary line.
	run --separate-stderr qs-sim train --observations "$DATA/plan-observations.csv" --table u.csv
	assert_success
	[ "${#stderr_lines[@]}" -eq 1 ]
}
