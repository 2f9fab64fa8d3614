#!/usr/bin/env bats
# qs-reward: the notebook's reward rules.

load helpers

@test "every feasible (ideal before, ideal after, pods, latency) case gives the notebook's reward" {
	qs-reward < "$DATA/reward-cases.csv" > out.csv
	# Columns: case,pod,action,latency,new_latency,expected,reward
	run awk -F, 'NR > 1 && $6 != $7 { print $1 ": expected " $6 ", got " $7 }' out.csv
	assert_success
	assert_output ""
	run awk -F, 'NR > 1' out.csv
	assert_equal "${#lines[@]}" 26
}

@test "every reward the notebook printed is reproduced" {
	cut -d, -f1-7 "$DATA/notebook-history.csv" > h.csv
	qs-reward < h.csv > out.csv
	assert_equal "$(head -1 out.csv)" "epoch,pod,latency,requests,action,new_latency,new_requests,reward"
	# The notebook's reward (column 8) against ours (column 8 of out.csv).
	run bash -c "paste -d, '$DATA/notebook-history.csv' out.csv | awk -F, 'NR > 1 && \$8 != \$18 { print \"epoch \" \$1 \": \" \$8 \" vs \" \$18 }'"
	assert_success
	assert_output ""
	assert_equal "$(wc -l < out.csv)" 13
}

@test "JSON in, JSON out, unknown fields pass through" {
	run qs-reward <<< '{"pod":1,"action":1,"latency":1022,"new_latency":1089,"x":"keep"}'
	assert_success
	assert_output '{"pod":1,"action":1,"latency":1022,"new_latency":1089,"x":"keep","reward":-20}'
}

@test "--ideal-latency moves the objective" {
	run qs-reward --ideal-latency 1100 <<< '{"pod":1,"action":1,"latency":1022,"new_latency":1089}'
	assert_success
	assert_output '{"pod":1,"action":1,"latency":1022,"new_latency":1089,"reward":10}'
	QS_IDEAL_LATENCY=1100 run qs-reward <<< '{"pod":1,"action":1,"latency":1022,"new_latency":1089}'
	assert_output --partial '"reward":10}'
}

@test "CSV numbers beyond a long pass through as reals (fuzzing regression)" {
	run qs-reward <<< $'pod,action,latency,new_latency,big\n2,2,400,400,8888888888888888888888888888881'
	assert_success
	assert_output "pod,action,latency,new_latency,big,reward
2,2,400,400,8.888888888888888e+30,10"
}

@test "--format csv converts" {
	run qs-reward --format csv <<< '{"pod":1,"action":2,"latency":1002,"new_latency":571}'
	assert_success
	assert_line -n 0 "pod,action,latency,new_latency,reward"
	assert_line -n 1 "1,2,1002,571,10"
}

@test "a record without new_latency is refused with its line, exit 65" {
	printf '{"pod":1,"action":1,"latency":1,"new_latency":2}\n{"pod":1,"action":1,"latency":1}\n' > in.json
	run qs-reward < in.json
	assert_failure 65
	assert_line "qs-reward: invalid record in <stdin>: line 2: field new_latency is missing"
}

@test "malformed JSON and non-numbers are exit 65" {
	run qs-reward <<< '{"pod":1,'
	assert_failure 65
	assert_output --partial "qs-reward: invalid record in <stdin>: line 1:"
	run qs-reward <<< '{"pod":"one","action":1,"latency":1,"new_latency":2}'
	assert_failure 65
	assert_output "qs-reward: invalid record in <stdin>: line 1: field pod is not an integer"
	run qs-reward <<< '{"pod":-1,"action":1,"latency":1,"new_latency":2}'
	assert_failure 65
	assert_output "qs-reward: invalid record in <stdin>: line 1: field pod is out of range: -1"
}

@test "bad options are exit 64 with the usage" {
	run qs-reward --rules bogus
	assert_failure 64
	assert_output "qs-reward: invalid --rules: bogus (notebook or cost)"
	run qs-reward --ideal-latency abc
	assert_failure 64
	run qs-reward --nope
	assert_failure 64
	assert_output --partial "usage: qs-reward"
}

@test "--help and --version go to stdout" {
	run qs-reward --help
	assert_success
	assert_line -n 0 --partial "usage: qs-reward"
	run qs-reward --version
	assert_success
	assert_output --regexp '^qs-reward \(qscale\) [0-9]'
}

@test "a full stdout is exit 74" {
	run bash -c 'echo "{\"pod\":1,\"action\":1,\"latency\":1,\"new_latency\":2}" | qs-reward > /dev/full'
	assert_failure 74
	assert_output --partial "qs-reward: cannot write standard output"
}

@test "--rules cost weighs the SLO, the replicas used and the change (man page example)" {
	# -(0.09 * 3 / 10 + 0.01): within the ideal, three of ten replicas, a change.
	run qs-reward --rules cost --max-replicas 10 <<< '{"pod":2,"action":3,"latency":700,"new_latency":400}'
	assert_success
	assert_output '{"pod":2,"action":3,"latency":700,"new_latency":400,"reward":-0.037000000000000005}'
	# -(1 + 0.5 * 2 / 4): above the ideal, half the budget, no change.
	run qs-reward --rules cost --max-replicas 4 --cost-weights 1,0.5,2 --format csv <<< '{"pod":2,"action":2,"latency":700,"new_latency":900}'
	assert_success
	assert_line -n 1 "2,2,700,900,-1.25"
	QS_MAX_REPLICAS=4 run qs-reward --rules cost <<< '{"pod":2,"action":2,"latency":700,"new_latency":100}'
	assert_output --partial '"reward":-0.045}'
}

@test "--rules cost needs a budget; weights need the cost rules" {
	run qs-reward --rules cost < /dev/null
	assert_failure 64
	assert_output "qs-reward: the cost rules need --max-replicas"
	run qs-reward --cost-weights 1,1,1 < /dev/null
	assert_failure 64
	assert_output "qs-reward: --cost-weights needs --rules cost"
	run qs-reward --rules cost --max-replicas 3 --cost-weights 1,2 < /dev/null
	assert_failure 64
	assert_output "qs-reward: invalid --cost-weights: 1,2 (three numbers: perf,res,adp)"
	run qs-reward --rules cost --max-replicas 3 --cost-weights 1,-2,1 < /dev/null
	assert_failure 64
}

@test "the reward is for the applied count when the record has one" {
	# Chosen 1 (down), applied 3 (kept): the notebook gives 10, not 20.
	run qs-reward <<< '{"pod":3,"action":1,"applied":3,"latency":400,"new_latency":400}'
	assert_success
	assert_output '{"pod":3,"action":1,"applied":3,"latency":400,"new_latency":400,"reward":10}'
	run qs-reward <<< '{"pod":3,"action":1,"latency":400,"new_latency":400}'
	assert_output --partial '"reward":20}'
	# A null applied (a CSV row with the cell empty) falls back to action.
	printf 'pod,action,applied,latency,new_latency\n3,1,,400,400\n' > in.csv
	run qs-reward < in.csv
	assert_output $'pod,action,applied,latency,new_latency,reward\n3,1,,400,400,20'
	run qs-reward <<< '{"pod":3,"action":1,"applied":"x","latency":400,"new_latency":400}'
	assert_failure 65
	assert_output "qs-reward: invalid record in <stdin>: line 1: field applied is not an integer"
}
