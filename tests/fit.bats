#!/usr/bin/env bats
# qs-sim train and eval --observations: the model fitted to past
# observations, from qs-sim serve with known parameters scraped by a real
# Prometheus and exported by qs-observe --range, and from files.

load helpers
load simserve
# One lab for the whole file (setup_file): its observations are exported
# once and the tests read them; they run one at a time, even under --jobs.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

# qs-sim serve's model: latency = 283 + (500 - 283) * rate / ready / 0.353.
BASE=283
CAPACITY=0.353

# A load that rises slowly for 42 s, 14 rows of 3 s, from 3 to 22.5
# requests/s over 30 replicas (0.1 to 0.75 per replica), is observed
# before the trace loops: a 5-s window then never mixes loads far apart,
# and requests in a window are 15 to 112, well above the rounding.
setup_file() {
	lab_file_init
	python3 -c '
print("t,requests")
for i in range(14):
    print("%d,%d" % (i, (3 + 1.5 * i) * 60))' >"$LAB/ramp.csv"
	lab_start "$LAB" --trace "$LAB/ramp.csv" --tick 3 --replicas 30 \
	    --noise 0.02 --seed 3
	local start
	start=$(date +%s)
	lab_wait_data "$LAB" 5s
	# From the first time a whole window has samples to the ramp's top.
	local from=$(($(date +%s) + 6)) to=$((start + 40))
	sleep "$((to - $(date +%s) + 1))"
	qs-observe --prometheus "$PROM_URL" --range "$from,$to" --step 1 \
	    --window 5s --format csv >"$LAB/obs.csv" 2>"$LAB/obs.err"
}

teardown_file() {
	lab_file_done
}

# Whether $1 is within $3 (a fraction) of $2.
within() {
	python3 -c 'import sys
v, want, tol = map(float, sys.argv[1:])
if abs(v - want) > max(tol * abs(want), 1e-12):
    sys.exit("%g is not %g +- %g %%" % (v, want, 100 * tol))' "$@"
}

# Field $1 of the JSON line in file $2.
fit_get() {
	json_get "$1" <"$2"
}

@test "the fit recovers qs-sim serve's latency curve within 5 %, from Prometheus through qs-observe --range" {
	[ -s "$LAB/obs.csv" ] || { cat "$LAB/obs.err"; false; }
	rows=$(($(wc -l <"$LAB/obs.csv") - 1))
	[ "$rows" -ge 20 ]
	run --separate-stderr qs-sim eval --observations "$LAB/obs.csv" --window 5 \
	    --policy static:30 --fit-out fit.json
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(fit_get observations fit.json)" "$rows"
	assert_equal "$(fit_get fitted fit.json)" "$rows"
	assert_equal "$(fit_get interval fit.json)" 1
	assert_equal "$(fit_get window fit.json)" 5
	within "$(fit_get base fit.json)" "$BASE" 0.05
	within "$(fit_get capacity fit.json)" "$CAPACITY" 0.05
	# A 5-s window averages the per-second noise of 0.02.
	within "$(fit_get noise fit.json)" 0.02 1
	# eval ran over the observed requests, one interval per row.
	output=$(head -1 <<<"$output")
	assert_equal "$(json_get intervals <<<"$output")" "$rows"
}

@test "a table trained from those observations is in live units and drives qs-sim serve" {
	run --separate-stderr qs-sim train --observations "$LAB/obs.csv" --window 5 \
	    --learner q --table table.csv --min-replicas 20 --max-replicas 40 \
	    --request-width 20 --request-buckets 6 --epochs 3000 --seed 1 \
	    --history history.csv --startup-delay 0
	assert_success
	# The fit on standard error, one JSON line, and no clamping.
	[ "${#stderr_lines[@]}" -eq 1 ]
	within "$(json_get capacity <<<"$stderr")" "$CAPACITY" 0.05
	# No rescaling: training saw the requests the observations hold, on
	# average (its own window smooths them once more: the extremes less).
	python3 - "$LAB/obs.csv" history.csv <<-'EOF'
	import csv, sys
	obs = [float(r["requests"]) for r in csv.DictReader(open(sys.argv[1]))]
	hist = [float(r["requests"]) for r in csv.DictReader(open(sys.argv[2]))]
	want, got = sum(obs) / len(obs), sum(hist) / len(hist)
	assert abs(got - want) <= 0.05 * want, (want, got)
	assert max(hist) <= max(obs) and min(hist) >= min(obs), (obs, hist)
	assert max(hist) >= 0.85 * max(obs), (max(obs), max(hist))
	EOF
	# Live, the same window: the state is inside the table, and its
	# action is what the deployment is scaled to.
	run --separate-stderr bash -c "qs-observe --prometheus '$PROM_URL' --pod 30 --window 5s |
	    qs-decide --table table.csv --epsilon 0 |
	    qs-scale --server '$SIM_URL' --deployment web --down-window 0"
	assert_success
	assert_equal "$stderr" ""
	action=$(json_get action <<<"$output")
	requests=$(json_get requests <<<"$output")
	[ "$requests" -ge 10 ] && [ "$requests" -le 120 ]
	assert_equal "$(SIM_URL=$SIM_URL sim_state replicas)" "$action"
}

@test "bad observation files are refused with 65 and one line, and change nothing" {
	check() {
		run --separate-stderr qs-sim train --observations "$1" --table table.csv
		assert_failure 65
		assert_output ""
		[ "${#stderr_lines[@]}" -eq 1 ]
		assert_equal "$stderr" "$2"
		[ ! -e table.csv ]
	}
	printf 'time,pod,latency\n1,1,300\n2,1,320\n' >a.csv
	check a.csv "qs-sim: invalid observations a.csv: line 2: field requests is missing"
	printf 'pod,latency,requests\n1,300,3\n1,320,6\n' >b.csv
	check b.csv "qs-sim: invalid observations b.csv: line 2: no time"
	printf '{"time":"2026-12-01T10:00:00Z","pod":1,"latency":300,"requests":3}\n' >c.json
	check c.json "qs-sim: invalid observations c.json: a single row; the time step needs two or more"
	printf 'time,pod,latency,requests\n2,1,300,3\n2,1,320,6\n' >d.csv
	check d.csv "qs-sim: invalid observations d.csv: line 3: its time is not after the previous row's"
	printf 'time,pod,latency,requests\n3,1,300,3\n2,1,320,6\n' >e.csv
	check e.csv "qs-sim: invalid observations e.csv: line 3: its time is not after the previous row's"
	printf 'time,pod,latency,requests\nnoon,1,300,3\n2,1,320,6\n' >f.csv
	check f.csv "qs-sim: invalid observations f.csv: line 2: time is not RFC 3339 or seconds since the epoch"
	printf 'time,pod,latency,requests\n1,1,300,3\n2,1,300,3\n' >g.csv
	check g.csv "qs-sim: cannot fit g.csv: the request rate per replica never varies; observe a range where the load changes"
	printf 'time,pod,latency,requests\n1,1,300,3\n2,1,290,6\n3,1,280,9\n' >h.csv
	check h.csv "qs-sim: cannot fit h.csv: latency does not rise with the request rate per replica"
	# A hole of a day in 1-s steps is another range: the trace would be huge.
	printf 'time,pod,latency,requests\n1,1,300,3\n2,1,320,6\n3,1,330,9\n86400,1,300,3\n' >j.csv
	check j.csv "qs-sim: invalid observations j.csv: rows 3 and 4 are more than 10000 time steps (1 s) apart"
	printf '' >i.csv
	check i.csv "qs-sim: invalid observations i.csv: no rows"
	run --separate-stderr qs-sim eval --observations missing.csv --policy hpa
	assert_failure 66
	assert_equal "$stderr" "qs-sim: cannot open missing.csv: No such file or directory"
}

@test "a known linear curve from a file: exact, its time step and gaps from time, a history's columns" {
	# latency = 200 + 100 * rate per replica (capacity 3 at 500 ms),
	# requests counted over 30 s, every 15 s, with one time missing.
	python3 - <<-'EOF'
	import json
	with open("obs.json", "w") as f:
	    for i, (pod, req) in enumerate([(1, 6), (2, 30), (4, 120), (2, 90), (3, 27)]):
	        t = 1764583200 + 15 * (i if i < 3 else i + 1)
	        f.write(json.dumps({"epoch": i, "time": t, "pod": pod,
	            "latency": 200 + 100 * req / 30 / pod, "requests": req,
	            "action": pod}) + "\n")
	EOF
	run --separate-stderr qs-sim eval --observations obs.json --policy static:2
	assert_success
	within "$(json_get base <<<"$stderr")" 200 1e-9
	within "$(json_get capacity <<<"$stderr")" 3 1e-9
	within "$(json_get noise <<<"$stderr")" 0 0
	assert_equal "$(json_get interval <<<"$stderr")" 15
	assert_equal "$(json_get observations <<<"$stderr")" 5
	assert_equal "$(json_get gaps <<<"$stderr")" 1
	# Five rows and the missing one held: six intervals.
	assert_equal "$(json_get intervals <<<"$output")" 6
	# The trace is requests per 15-s row at the rate of a 30-s window:
	# the static run's series shows them halved, unscaled otherwise.
	qs-sim eval --observations obs.json --policy static:2 --series s.csv 2>/dev/null
	run cut -d, -f2 s.csv
	assert_output "requests
3
15
60
60
45
13.5"
}

@test "what the fit sets cannot be given too; --fit-out needs --observations" {
	printf 'time,pod,latency,requests\n1,1,300,3\n2,1,320,6\n' >o.csv
	for opt in "--trace x.csv" "--capacity 1" "--noise 0" "--interval 60" "--scale 2" "--peak-replicas 3"; do
		# shellcheck disable=SC2086 # the option and its value
		run --separate-stderr qs-sim eval --observations o.csv --policy hpa $opt
		assert_failure 64
		assert_equal "${stderr_lines[0]}" "qs-sim: ${opt%% *} and --observations exclude each other: the model and the trace are fitted to the observations"
	done
	run --separate-stderr qs-sim eval --trace o.csv --policy hpa --fit-out f.json
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: --fit-out needs --observations"
	run --separate-stderr qs-sim eval --observations o.csv --policy hpa --window 0
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --observations needs the --window their requests were counted over, above 0"
	[ ! -e f.json ]
}
