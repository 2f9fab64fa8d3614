#!/usr/bin/env bats
# qscale(7): the overview page is lint clean and its EXAMPLES run.

load helpers

@test "qscale.7 is mandoc clean and names every tool" {
	run mandoc -Tlint -Wwarning "$TOP/man/qscale.7"
	assert_success
	assert_output ""
	run bash -c "MANWIDTH=80 man -l '$TOP/man/qscale.7' 2>&1 >/dev/null"
	assert_output ""
	for t in qs-init-table qs-observe qs-decide qs-reward qs-update qs-scale qs-sim qs-run qs-plot; do
		grep -q "^\.Xr $t 1 *,*\$" "$TOP/man/qscale.7"
	done
}

@test "qscale.7 example: a fresh table, and a greedy decision from it" {
	run qs-init-table -o table.csv
	assert_success
	assert_output ""
	run bash -c "echo '{\"pod\":1,\"latency\":1022,\"requests\":36}' | qs-decide --table table.csv --epsilon 0"
	assert_success
	assert_output '{"pod":1,"latency":1022,"requests":36,"action":1,"random":false}'
}

@test "qscale.7 example: learn from transitions observed by hand" {
	qs-init-table -o table.csv
	printf 'pod,latency,requests,action,new_latency,new_requests\n1,1022,36,2,480,30\n' > transitions.csv
	run bash -c "qs-reward < transitions.csv | qs-update --table table.csv --history history.csv"
	assert_success
	assert_output "pod,latency,requests,action,new_latency,new_requests,reward,q_value,epoch
1,1022,36,2,480,30,20,2,0"
	run cat history.csv
	assert_output "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random
0,1,1022,36,2,480,30,20,2,"
	run grep -v ',0,0,0$' table.csv
	assert_output "pod,initial_latency,end_latency,initial_request,end_request,1,2,3
1,1001,1500,19,36,0,2,0"
}

@test "qscale.7 example: the greedy action of every state" {
	qs-init-table -o table.csv
	printf 'pod,latency,requests,action,new_latency,new_requests\n1,1022,36,2,480,30\n' | qs-reward | qs-update --table table.csv > /dev/null
	run bash -c "qs-decide --policy --table table.csv | column -t -s,"
	assert_success
	assert_equal "${#lines[@]}" 37
	assert_line -n 0 --regexp '^pod +initial_latency +end_latency +initial_request +end_request +action$'
	assert_line --regexp '^1 +1001 +1500 +19 +36 +2$'
	run bash -c "qs-decide --policy --table table.csv | grep -c ',1\$'"
	assert_output 35
}

@test "qscale.7 example: the mean reward of each action over the history" {
	cp "$DATA/notebook-history.csv" history.csv
	run bash -c "awk -F, 'NR > 1 { n[\$5]++; s[\$5] += \$8 } END { for (a in n) print a, s[a] / n[a] }' history.csv | sort -n"
	assert_success
	assert_output "1 -16.6667
2 10
3 5"
}
