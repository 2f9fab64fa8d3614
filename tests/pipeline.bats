#!/usr/bin/env bats
# The tools composed as DESIGN.md, the README and the manual pages show
# them, against qs-sim serve and a real Prometheus, configured by the
# environment alone.

load helpers
# One lab for the whole file (setup_file), whose state the tests change or
# time: they run one at a time, even under bats --jobs.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup_file() {
	lab_file_init
	lab_start "$LAB" --rate 0.6 --replicas 1 --seed 9
	lab_wait_data "$LAB" 5s
}

teardown_file() {
	lab_file_done
}

setup() {
	T=$(mktemp -d)
	cd "$T" || return 1
	export QS_PROMETHEUS_URL=$PROM_URL QS_KUBE_SERVER=$SIM_URL QS_DEPLOYMENT=web
}

@test "one epoch by hand, as the README and the manual pages write it" {
	qs-init-table -o table.csv
	run bash -c 'qs-observe | qs-decide --table table.csv | qs-scale > pending.json'
	assert_success
	run cat pending.json
	assert_output --regexp '^\{"time":"[^"]+","pod":1,"latency":[0-9]+,"requests":[0-9]+,"action":[1-3],"random":(true|false),"why":"[a-z]+","applied":[1-3],"scaled":(true|false)\}$'
	sleep 1
	run bash -c 'qs-observe --next < pending.json | qs-reward | qs-update --table table.csv --history history.csv'
	assert_success
	assert_output --regexp '"new_pod":[1-3],"new_latency":[0-9]+,"new_requests":[0-9]+,"reward":-?[0-9]+,"q_value":-?[0-9.]+,"epoch":0\}$'
	assert_equal "$(wc -l < history.csv)" 2
	run head -1 history.csv
	assert_output "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod"
	run bash -c 'qs-observe --next < pending.json | qs-reward | qs-update --table table.csv'
	assert_success
	assert_output --partial '"epoch":0}'
}

@test "a record flattened to CSV is a history row" {
	qs-init-table -o table.csv
	qs-observe --format csv | qs-decide --table table.csv | qs-scale > pending.csv
	run head -1 pending.csv
	assert_output "time,pod,latency,requests,action,random,why,applied,scaled"
	qs-observe --next < pending.csv | qs-reward | qs-update --table table.csv > done.csv
	run head -1 done.csv
	assert_output "time,pod,latency,requests,action,random,why,applied,scaled,new_time,new_pod,new_latency,new_requests,reward,q_value,epoch"
}
