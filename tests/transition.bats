#!/usr/bin/env bats
# One definition of a transition: what qs-sim train learns offline is what
# qs-reward | qs-update learn online from the same observations.
# shellcheck disable=SC2154 # bats' run --separate-stderr sets stderr

load helpers

# Nothing of the caller's shell may change the defaults compared here.
unset "${!QS_@}"

# Twelve intervals from idle to overloaded and back, so that the learner
# meets states on both sides of the ideal and every rule of the reward.
varied_trace() {
	printf 't,requests\n'
	printf '%s\n' 0,5 1,20 2,45 3,90 4,150 5,160 6,120 7,60 8,30 9,10 10,80 11,140
}

# Train from a fresh table with the given options, then replay the
# history's observations (its reward and Q-values dropped) through
# qs-reward and qs-update into another copy of the fresh table.
# $1: the options of qs-reward, $2 those of qs-update; the rest: those of
# qs-sim train.
offline_online() {
	local rewardopts=$1 updateopts=$2
	shift 2
	rm -f history.csv
	varied_trace > trace.csv
	qs-init-table --max-replicas 4 --latency-buckets 8 --request-width 25 \
	    --request-buckets 4 > fresh.csv
	cp fresh.csv offline.csv
	cp fresh.csv online.csv
	# Train's default start-up delay, 60 s: with a shorter --period some
	# transitions end before their pods are ready, and train drops them
	# as qs-update would.
	run --separate-stderr qs-sim train --trace trace.csv --table offline.csv \
	    --history history.csv --epochs 600 --epsilon 0.5 --seed 11 "$@"
	assert_success
	dropped=0
	if [ -n "$stderr" ]; then
		[[ $stderr =~ ^qs-sim:\ ([0-9]+)\ of\ 600\ transitions\ dropped:\ pods\ not\ ready$ ]]
		dropped=${BASH_REMATCH[1]}
	fi
	# A row for each transition learned.
	assert_equal "$(wc -l < history.csv)" $((601 - dropped))
	# pod, latency, requests, action, new_latency, new_requests, and the
	# applied and new_pod that qs-update's not-ready rule reads.
	cut -d, -f2-7,11,12 history.csv > observed.csv
	# shellcheck disable=SC2086 # the options are words
	qs-reward $rewardopts < observed.csv > rewarded.csv
	# shellcheck disable=SC2086
	run --separate-stderr qs-update --table online.csv $updateopts \
	    < rewarded.csv
	assert_success
	assert_equal "$stderr" ""
	echo "$output" > updated.csv
}

# The column named $2 of CSV file $1.
column() {
	awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
	    { print $c }' "$1"
}

# The online run gives the offline table byte for byte, and the same
# rewards and Q-values row by row.
assert_same_learning() {
	cmp offline.csv online.csv
	run cmp -s fresh.csv offline.csv
	assert_failure
	assert_equal "$(column updated.csv reward)" "$(column history.csv reward)"
	assert_equal "$(column updated.csv q_value)" "$(column history.csv q_value)"
}

@test "the notebook's rules: qs-reward | qs-update learn the table qs-sim train learns" {
	offline_online "" "" --noise 0.1
	assert_same_learning
	# The rules gave rewards of both signs.
	column history.csv reward | grep -q '^-'
	column history.csv reward | grep -q '^[1-9]'
}

@test "the cost rules with their default weights: the same table online and offline" {
	offline_online "--rules cost --max-replicas 4" "" --reward cost --noise 0.1
	assert_same_learning
	# Some reward paid for a violation, some did not.
	column history.csv reward | grep -q '^-0\.9'
	column history.csv reward | grep -q '^-0\.[0-8]'
}

@test "the cost rules with other weights, alpha, gamma and ideal: the same table" {
	offline_online \
	    "--rules cost --max-replicas 4 --cost-weights 0.5,0.3,0.2 --ideal-latency 600" \
	    "--alpha 0.3 --gamma 0.9" \
	    --reward cost --cost-weights 0.5,0.3,0.2 --ideal-latency 600 \
	    --alpha 0.3 --gamma 0.9 --noise 0.1
	assert_same_learning
}

@test "several epochs per interval (--period): the same table online and offline" {
	offline_online "" "" --period 20 --noise 0.1
	assert_same_learning
}

@test "a start-up delay longer than --period: train drops the transitions qs-update drops, and both learn the same table" {
	offline_online "" "" --period 15 --noise 0.1
	assert_same_learning
	(( dropped > 0 && dropped < 300 ))
	# Every transition learned found its pods ready, as qs-update checks.
	assert_equal "$(awk -F, 'NR > 1 && $11 != $12' history.csv)" ""
	assert_equal "$(head -1 history.csv | cut -d, -f11-)" "applied,new_pod"
	# With no delay nothing is dropped: every epoch is learned.
	offline_online "" "" --period 15 --noise 0.1 --startup-delay 0
	assert_equal "$dropped" 0
	assert_same_learning
}

@test "observations outside the table: both paths use the edge buckets and warn" {
	varied_trace > trace.csv
	# The default table's requests end at 54 per window; the trace has 80.
	qs-init-table > fresh.csv
	cp fresh.csv offline.csv
	cp fresh.csv online.csv
	run --separate-stderr qs-sim train --trace trace.csv --table offline.csv \
	    --history history.csv --epochs 300 --epsilon 0.5 --seed 12
	assert_success
	assert_equal "$stderr" "qs-sim: some observations fell outside offline.csv's buckets and were counted in the edge buckets"
	cut -d, -f2-7 history.csv | qs-reward > rewarded.csv
	run --separate-stderr qs-update --table online.csv < rewarded.csv
	assert_success
	[[ $stderr == *"qs-update: transition "*" is partly outside the table; using the edge buckets ("*" state: pod "* ]]
	cmp offline.csv online.csv
	run cmp -s fresh.csv offline.csv
	assert_failure
}

# The states of history $1's rows, one a line: before (pod, latency,
# requests) into file before, after (latency, requests) into file after.
rows() {
	awk -F, 'NR > 1 { print $2, $3, $4 }' "$1" > before
	awk -F, 'NR > 1 { print $6, $7 }' "$1" > after
}

@test "train --wait: each transition is observed the wait after its decision, as qs-run does, several in flight" {
	varied_trace > trace.csv
	# One replica, so that no transition is dropped: row i's after-state
	# is the state decided on four periods later with a 60-s wait, one
	# period later with a 15-s one.
	qs-init-table --min-replicas 1 --max-replicas 1 --latency-buckets 8 \
	    --request-width 25 --request-buckets 4 > fresh.csv
	for w in 15 60; do
		cp fresh.csv t$w.csv
		run --separate-stderr qs-sim train --trace trace.csv --table t$w.csv \
		    --history h$w.csv --epochs 200 --seed 5 --period 15 --noise 0.1 \
		    --wait $w
		assert_success
		assert_equal "$stderr" ""
		assert_equal "$(wc -l < h$w.csv)" 201
	done
	rows h15.csv
	assert_equal "$(cut -d' ' -f2- before | sed 1d | head -n 199)" "$(head -n 199 after)"
	rows h60.csv
	assert_equal "$(cut -d' ' -f2- before | sed 1,4d | head -n 196)" "$(head -n 196 after)"
	run cmp -s t15.csv t60.csv
	assert_failure
	# The history replays through qs-reward | qs-update to the same table.
	cp fresh.csv online.csv
	cut -d, -f2-7,11,12 h60.csv | qs-reward | qs-update --table online.csv > /dev/null
	cmp t60.csv online.csv
}

@test "train at a period below the start-up delay waits the delay by default, and learns more transitions" {
	varied_trace > trace.csv
	qs-init-table --max-replicas 4 --latency-buckets 8 --request-width 25 \
	    --request-buckets 4 > fresh.csv
	for w in default 15 60; do
		cp fresh.csv t-$w.csv
		waitopt=()
		[ "$w" = default ] || waitopt=(--wait "$w")
		run --separate-stderr qs-sim train --trace trace.csv --table t-$w.csv \
		    --epochs 600 --epsilon 0.5 --seed 11 --period 15 --noise 0.1 \
		    "${waitopt[@]}"
		assert_success
		[[ $stderr =~ ^qs-sim:\ ([0-9]+)\ of\ 600\ transitions\ dropped:\ pods\ not\ ready$ ]]
		eval "dropped_$w=${BASH_REMATCH[1]}"
	done
	# The default is the start-up delay, 60 s.
	cmp t-default.csv t-60.csv
	assert_equal "$dropped_default" "$dropped_60"
	echo "# dropped of 600 at --period 15: --wait 15: $dropped_15, --wait 60: $dropped_60" >&3
	(( dropped_60 < dropped_15 ))
	# A period as long as the delay waits a period: the seed's loop.
	cp fresh.csv a.csv
	cp fresh.csv b.csv
	qs-sim train --trace trace.csv --table a.csv --epochs 100 --seed 3 2>/dev/null
	qs-sim train --trace trace.csv --table b.csv --epochs 100 --seed 3 --wait 60 2>/dev/null
	cmp a.csv b.csv
	# The model learner has no epochs to wait for.
	run --separate-stderr qs-sim train --observations "$DATA/plan-observations.csv" \
	    --table m.csv --wait 60
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --wait needs --learner q"
	run --separate-stderr qs-sim train --trace trace.csv --table a.csv --epochs 1 \
	    --period 0.001 --wait 10000
	assert_failure 64
	assert_equal "$stderr" "qs-sim: a --wait of 10000 s spans more than 1000000 periods of 0.001 s: choose a shorter --wait or a longer --period"
}
