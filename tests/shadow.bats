#!/usr/bin/env bats
# Shadow mode: qs-run decides and learns beside whatever scales the
# deployment (kubectl scale standing in for the HPA), and never scales it,
# against qs-sim serve, the real kubectl and a real Prometheus.

load helpers
load simserve
# One lab for the whole file, whose deployment the tests scale: one at a time.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

setup_file() {
	lab_file_init
	lab_start "$LAB" --rate 0.6 --replicas 3 --seed 3
	lab_wait_data "$LAB" 3s
}

teardown_file() {
	lab_file_done
}

# Settings for the tools, exploring at every decision with a fixed seed, so
# that qscale's choice is not the count the other scaler keeps; the
# deployment at 3 replicas, as the other scaler set it.
use_lab() {
	lab_tool_opts 5
	export QS_DECIDE_OPTS="--seed 5 --epsilon 1"
	[ -e table.csv ] || qs-init-table --max-replicas 5 --request-width 2 -o table.csv
	write_kubeconfig "$SIM_URL"
	hpa 3
}

# The other scaler: kubectl scale, as an HPA would set the count.
hpa() {
	kubectl scale deployment web --replicas="$1" >/dev/null
}

# The deployment's replicas, read back with kubectl.
replicas() {
	kubectl get deployment web -o 'jsonpath={.spec.replicas}'
}

# The values of a column of a CSV file with a header, one a line.
column() {
	awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) n = i; next } { print $n }' "$1"
}

# The value of series $1 in st/metrics.prom (nothing when absent).
metric() {
	awk -v k="$1" '$1 == k { print $2 }' st/metrics.prom
}

# The action columns (by their header) where tables $1 and $2 differ.
changed_columns() {
	awk -F, 'NR == FNR { a[FNR] = $0; next }
	    FNR == 1 { for (i = 1; i <= NF; i++) h[i] = $i }
	    $0 != a[FNR] { split(a[FNR], o, ","); for (i = 1; i <= NF; i++) if ($i != o[i] && h[i] ~ /^[0-9]+$/) print h[i] }' "$1" "$2" | sort -u
}

@test "a shadow qs-run never scales; it learns where the real count held, drops where the HPA scaled, keeps its recommendations" {
	use_lab
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(replicas)" 3
	first=$(cat st/pending/*.json)
	[[ $first == *'"applied":3,"scaled":false'* ]]
	[[ $first =~ \"recommended\":([0-9]+) ]]
	rec=${BASH_REMATCH[1]}
	# The seed explores away from the real count: a shadow that followed
	# it would show nothing.
	[ "$rec" != 3 ]
	assert_equal "$(metric qscale_shadow)" 1
	assert_equal "$(metric qscale_recommended_replicas)" "$rec"
	assert_equal "$(metric qscale_applied_replicas)" 3
	# The HPA scales in the middle of the first transition: its after-state
	# is not its count's, and it is dropped.
	sleep 1
	hpa 4
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(replicas)" 4
	[ ! -e history.csv ] || [ "$(grep -c '' history.csv)" -le 1 ]
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 1
	assert_equal "$(metric qscale_applied_replicas)" 4
	second=$(cat st/pending/*.json)
	[[ $second =~ \"action\":([0-9]+).*\"recommended\":([0-9]+),\"applied\":4,\"scaled\":false ]]
	action=${BASH_REMATCH[1]} rec=${BASH_REMATCH[2]}
	# The second one's count held: it is learned at the real count, 4,
	# with qscale's choice and recommendation beside it.
	cp table.csv before.csv
	sleep 1
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(replicas)" 4
	assert_equal "$(metric 'qscale_transitions_learned_total')" 1
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 1
	assert_equal "$(grep -c '' history.csv)" 2
	assert_equal "$(column history.csv applied)" 4
	assert_equal "$(column history.csv new_pod)" 4
	assert_equal "$(column history.csv recommended)" "$rec"
	assert_equal "$(column history.csv action)" "$action"
	[[ $stderr =~ "-> action "[0-9]+" ("[a-z]+") recommended $rec applied 4 -> pod 4 " ]]
	# The Q-value is learned in the real count's column, not qscale's.
	assert_equal "$(changed_columns before.csv table.csv)" 4
}

@test "QS_SHADOW in the config file or the environment is --shadow; a bad value, or with qs-scale --dry-run, is 64" {
	use_lab
	echo QS_SHADOW=1 > qscale.conf
	run --separate-stderr qs-run --once --config qscale.conf --state-dir st
	assert_success
	assert_equal "$(replicas)" 3
	grep -q '"recommended":' st/pending/*.json
	rm -r st
	QS_SHADOW=1 run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(replicas)" 3
	grep -q '"recommended":' st/pending/*.json
	rm -r st
	for bad in 2 yes ''; do
		QS_SHADOW=$bad run --separate-stderr qs-run --once --state-dir st
		if [ -z "$bad" ]; then
			# Empty is unset: a live run, whose recommendation is the
			# count it set.
			assert_success
			assert_equal "$(metric qscale_shadow)" 0
			assert_equal "$(metric qscale_recommended_replicas)" "$(metric qscale_applied_replicas)"
			assert_equal "$(metric qscale_applied_replicas)" "$(replicas)"
			continue
		fi
		assert_failure 64
		assert_equal "$stderr" "qs-run: invalid QS_SHADOW: $bad (0 or 1)"
	done
	hpa 3
	rm -rf st
	QS_SCALE_OPTS="$QS_SCALE_OPTS --dry-run" run --separate-stderr qs-run --once --shadow --state-dir st
	assert_failure 64
	[[ $stderr == *"qs-scale: --shadow and --dry-run exclude each other"* ]]
	assert_equal "$(replicas)" 3
	assert_equal "$(find st/pending -name '*.json' | wc -l)" 0
}

@test "a shadow qs-run beside a scaler that goes beyond the table's actions drops those transitions as foreign and goes on" {
	use_lab
	# The other scaler allows more replicas than qscale's table has.
	hpa 7
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	[[ $(cat st/pending/*.json) == *'"applied":7,"scaled":false'* ]]
	cp table.csv before.csv
	sleep 1
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(replicas)" 7
	[[ $stderr =~ "qs-update: <stdin>: line 1 (time "[0-9T:.-]+"Z): dropped: foreign (applied 7 is not an action of the table)" ]]
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 1
	assert_equal "$(metric qscale_transitions_learned_total)" 0
	cmp before.csv table.csv
	# The next tick does not meet it again: it was dropped, not kept.
	assert_equal "$(find st/pending -name '*.json' | wc -l)" 1
	sleep 1
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$(metric 'qscale_transitions_dropped_total{reason="foreign"}')" 2
}

@test "a shadow qs-run on a history begun live says, once, that its recommendations are not kept" {
	use_lab
	echo 'epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod' > history.csv
	run --separate-stderr qs-run --once --shadow --state-dir st --wait 1 --max-age 60
	assert_success
	assert_equal "$stderr" "qs-run: history.csv has no recommended column (it was begun by a live run): the counts qscale would set are not kept; give a new --history"
	# A history a shadow run began has it: nothing said.
	rm -r st history.csv
	run --separate-stderr qs-run --once --shadow --state-dir st --history new.csv --wait 1 --max-age 60
	assert_success
	assert_equal "$stderr" ""
	echo 'epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod,recommended' > new.csv
	rm -r st
	run --separate-stderr qs-run --once --shadow --state-dir st --history new.csv --wait 1 --max-age 60
	assert_success
	assert_equal "$stderr" ""
}

@test "qs-scale --shadow in QS_SCALE_OPTS is a shadow run: its gauge says 1" {
	use_lab
	QS_SCALE_OPTS="$QS_SCALE_OPTS --shadow" run --separate-stderr qs-run --once --state-dir st
	assert_success
	assert_equal "$(replicas)" 3
	grep -q '"recommended":' st/pending/*.json
	assert_equal "$(metric qscale_shadow)" 1
}
