#!/usr/bin/env bats
# The manual pages as tests: each page's EXAMPLES run as the transcript
# they show (extracted by tests/man-examples.py, as tests/inspect.bats
# extracts the README's), --help prints the SYNOPSIS, every page documents
# exit 71, and every tool prints the version of file VERSION.

load helpers
load simserve
# The examples share one lab: they run one at a time.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

# A simulated deployment web and a real Prometheus scraping it, for the
# examples that observe and scale.
setup_file() {
	lab_file_init
	lab_start "$LAB" --rate 0.6 --replicas 1 --seed 9
	lab_wait_data "$LAB" 5s
}

teardown_file() {
	lab_file_done
}

# The tools, built and scripted.
tools() {
	local f
	for f in "$TOP"/cmd/qs-*.c "$TOP"/cmd/qs-*/main.c "$TOP"/scripts/qs-*; do
		f=${f%/main.c}
		f=${f##*/}
		echo "${f%.c}"
	done
}

# The C tools, whose allocations can fail.
c_tools() {
	tools | while read -r t; do
		[ -e "$TOP/scripts/$t" ] || echo "$t"
	done
}

# Run page $1 (in man/, or a path)'s EXAMPLES in the current directory,
# in order: each command succeeds and prints what the page shows after
# it, its standard error and then its standard output; when the page
# shows nothing, nothing on standard error (unless ALLOW_STDERR is set:
# progress reports).  Commands containing one of the strings in NOT_RUN
# are counted, not run.  A command ending in & runs in the background
# until the page ends; when it names a --port-file, the next command
# waits for that file, and function examples_started runs, if defined.
# Sets ran and skipped.
run_examples() {
	local ex=$BATS_TEST_TMPDIR/examples page=$1 f out err
	[[ $page == */* ]] || page=$TOP/man/$page
	rm -rf "$ex"
	python3 "$TOP/tests/man-examples.py" "$page" "$ex" || return 1
	ran=0 skipped=0 out=
	for f in "$ex"/*; do
		case $f in
		*.file.*)
			cp "$f" "${f##*.file.}"
			;;
		*.cmd)
			out=
			if [ -n "${NOT_RUN:-}" ] && grep -q -F -f <(printf '%s\n' "${NOT_RUN[@]}") "$f"; then
				skipped=$((skipped + 1))
				continue
			fi
			if [[ $(tail -n 1 "$f") =~ \&\ *$ ]]; then
				start_background "$f" || return 1
				ran=$((ran + 1))
				continue
			fi
			run --separate-stderr bash -o pipefail "$f"
			[ "$status" -eq 0 ] || { fail "$1: exit $status: $(cat "$f"): $stderr"; return 1; }
			out=$output err=$stderr
			[ -n "$err" ] && out=$err${out:+$'\n'$out}
			ran=$((ran + 1))
			[ -e "${f%.cmd}.out" ] || [ -z "$err" ] || [ -n "${ALLOW_STDERR:-}" ] ||
			    { fail "$1: $(cat "$f"): $err"; return 1; }
			;;
		*.out)
			# column pads empty last fields; the pages have no
			# trailing blanks.
			# shellcheck disable=SC2001 # per line, which ${out//} is not
			diff "$f" <(sed 's/ *$//' <<< "$out") || {
				fail "$1: example ${f##*/} is not what the page shows"
				return 1
			}
			;;
		esac
	done
	stop_background
}

# Start example $1 (ending in &) in a session of its own, so that all of
# it can be stopped; wait for its --port-file.
start_background() {
	local port_file
	setsid bash "$1" > "$1.log" 2>&1 3>&- < /dev/null &
	echo "$!" >> "$BATS_TEST_TMPDIR/background"
	port_file=$(sed -n 's/.*--port-file \([^ ]*\).*/\1/p' "$1")
	[ -n "$port_file" ] || return 0
	for _ in $(seq 100); do
		[ -s "$port_file" ] && break
		sleep 0.1
	done
	[ -s "$port_file" ] || { fail "$(cat "$1"): no $port_file: $(cat "$1.log")"; return 1; }
	if declare -F examples_started > /dev/null; then
		examples_started
	fi
}

stop_background() {
	local pid
	[ -e "$BATS_TEST_TMPDIR/background" ] || return 0
	while read -r pid; do
		kill -- "-$pid" 2>/dev/null || true
	done < "$BATS_TEST_TMPDIR/background"
	rm -f "$BATS_TEST_TMPDIR/background"
}

local_teardown() {
	stop_background
	stop_sim
}

# The environment the pages assume: Prometheus, the API server and the
# deployment, as a user's shell would have them.
use_lab() {
	export QS_PROMETHEUS_URL=$PROM_URL QS_KUBE_SERVER=$SIM_URL QS_DEPLOYMENT=web
}

@test "qs-init-table(1) EXAMPLES run" {
	run_examples qs-init-table.1
	assert_equal "$ran $skipped" "3 0"
	# 10 x 4 x 3 states; 5 range columns, 10 actions and visits.
	[ "$(wc -l < table.csv)" -eq 121 ]
	[ "$(head -1 table.csv | tr ',' '\n' | wc -l)" -eq 16 ]
}

@test "qs-decide(1) EXAMPLES run as shown, the loop's step against the lab" {
	use_lab
	cp "$DATA/notebook-table.csv" table.csv
	cp "$DATA/cpa-evaluate.json" evaluate.json
	run_examples qs-decide.1
	assert_equal "$ran $skipped" "5 0"
	[ -s pending.json ]
}

@test "qs-reward(1) EXAMPLES run as shown, the second half of an epoch against the lab" {
	use_lab
	qs-init-table -o table.csv
	# The action is what the lab runs: another count is not learned from.
	n=$(qs-observe | sed 's/.*"pod":\([0-9]*\).*/\1/')
	echo "{\"pod\":1,\"latency\":1022,\"requests\":36,\"action\":$n}" > pending.json
	run_examples qs-reward.1
	assert_equal "$ran $skipped" "4 0"
	assert_output --regexp '^\{"pod":1,"latency":1022,"requests":36,"action":'"$n"',"new_time":"[^"]+","new_pod":[0-9]+,"new_latency":[0-9]+,"new_requests":[0-9]+,"reward":-?[0-9]+,"q_value":-?[0-9.]+,"epoch":0\}$'
}

@test "qs-update(1) EXAMPLES run as shown" {
	cp "$DATA/notebook-history.csv" history.csv
	run_examples qs-update.1
	assert_equal "$ran $skipped" "4 0"
	# The twelve transitions visited eight states, which the thirteenth
	# revisits; the header makes nine rows.
	[ "$(grep -c -v ',0,0,0$' table.csv)" -eq 9 ]
	[ "$(wc -l < history.csv)" -eq 14 ]
}

@test "qs-scale(1) EXAMPLES: the dry run through kubeconfig" {
	# A deployment of its own, of 1 replica whatever the other tests did.
	start_sim --replicas 1
	write_kubeconfig "$URL"
	# The second needs a cluster at 10.0.0.1 and its credentials.
	NOT_RUN=("https://10.0.0.1:6443")
	run_examples qs-scale.1
	assert_equal "$ran $skipped" "3 1"
}

@test "qs-observe(1) EXAMPLES run against the lab's Prometheus" {
	use_lab
	echo secret > token
	# The lab's deployment serves one path, not /api.
	NOT_RUN=("--path /api")
	run_examples qs-observe.1
	assert_equal "$ran $skipped" "5 1"
	assert_output --regexp '^\{"time":"[^"]+","pod":2,"latency":[0-9]+,"requests":[0-9]+\}$'
}

@test "qs-run(1) EXAMPLES run against the lab" {
	use_lab
	qs-init-table -o table.csv
	# qs-run reports each epoch on standard error.
	ALLOW_STDERR=1
	run_examples qs-run.1
	assert_equal "$ran $skipped" "2 0"
	# Five transitions, each learned or, when a newer decision changed the
	# count before its end, dropped; then a tick that starts the sixth.
	learned=$(awk '$1 == "qscale_transitions_learned_total" { print $2 }' metrics.prom)
	foreign=$(awk '$1 == "qscale_transitions_dropped_total{reason=\"foreign\"}" { print $2 }' metrics.prom)
	echo "learned $learned, dropped $foreign" >&2
	[ "$((learned + foreign))" -eq 5 ]
	[ "$(wc -l < history.csv)" -eq $((learned + 1)) ]
	[ "$(find state/pending -name '*.json' | wc -l)" -eq 1 ]
}

@test "qs-sim(1) EXAMPLES run: serve with curl and kubectl, train, eval" {
	cp "$TOP/data/traces/nasa_http_1995_jul01-14_1m.csv" trace.csv
	examples_started() {
		write_kubeconfig "http://127.0.0.1:$(cat port)"
	}
	# train reports observations outside the table's buckets, kubectl
	# the injected 503 of its first call.
	ALLOW_STDERR=1
	run_examples qs-sim.1
	assert_equal "$ran $skipped" "15 0"
	[ "$(grep -c . t.csv)" -eq 37 ]
	[ "$(wc -l < h.csv)" -eq 501 ]
	head -c 8 run.png | od -An -tx1 | grep -q '89 50 4e 47'
}

@test "qs-plot(1) EXAMPLES run" {
	printf 't,requests\n0,10\n1,40\n2,70\n3,26\n4,5\n' > trace.csv
	qs-sim train --trace trace.csv --table table.csv --history history.csv --epochs 200 --seed 1
	# A shadow run's history: applied and recommended, after the time columns.
	awk -F, -v OFS=, '{ NF = 10 } NR == 1 { print $0, "time,new_time,applied,new_pod,recommended"; next }
	    { print $0, "t", "t", 2, 2, $5 }' history.csv > shadow.csv
	run_examples qs-plot.1
	assert_equal "$ran $skipped" "5 0"
	head -c 8 shadow.png | od -An -tx1 | grep -q '89 50 4e 47'
	head -c 8 policy.png | od -An -tx1 | grep -q '89 50 4e 47'
	grep -q '<svg' history.svg
}

@test "qscale(7) EXAMPLES run as shown" {
	run_examples qscale.7
	assert_equal "$ran $skipped" "5 0"
	run cat history.csv
	assert_output "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random
0,1,1022,36,2,480,30,20,2,"
	run grep -v ',0,0,0$' table.csv
	assert_output "pod,initial_latency,end_latency,initial_request,end_request,1,2,3,visits
1,1001,1500,19,36,0,2,0,1"
	# The greedy action of every state: 2 where it learned; elsewhere
	# nothing is learned and each state holds its own count.
	run bash -c "qs-decide --policy --table table.csv | column -t -s,"
	assert_equal "${#lines[@]}" 37
	assert_line --regexp '^1 +1001 +1500 +19 +36 +2$'
	[ "$(qs-decide --policy --table table.csv | grep -c ',1$')" -eq 11 ]
}

@test "an example that fails, or prints other than its page shows, fails the page" {
	sed 's/^\.Dl 2 20$/.Dl 2 21/' "$TOP/man/qscale.7" > wrong.7
	run run_examples "$PWD/wrong.7"
	assert_failure
	assert_output --regexp "wrong.7: example [0-9]+.out is not what the page shows"
	rm -f table.csv history.csv
	sed 's/^\$ qs-init-table -o table.csv$/$ qs-init-table --bogus/' "$TOP/man/qscale.7" > failing.7
	run run_examples "$PWD/failing.7"
	assert_failure
	assert_output --partial "failing.7: exit 64: qs-init-table --bogus"
}

@test "--help prints the man page's SYNOPSIS, for every tool" {
	# Whitespace and mandoc's blanks around | aside.
	norm() { tr -s ' \n' ' ' | sed 's/ | /|/g; s/^ //; s/ $//'; }
	usage() { "$@" --help 2>&1 | sed -n '/^usage:/,/^$/p' | sed 's/^usage: //'; }
	n=0
	for t in $(tools); do
		if [ "$t" = qs-sim ]; then
			u=$({ usage qs-sim serve; usage qs-sim train; usage qs-sim eval; } | norm)
		else
			u=$(usage "$t" | norm)
		fi
		s=$(mandoc -Tascii "$TOP/man/$t.1" | sed 's/.\x08//g' |
		    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | norm)
		[ -n "$u" ] || fail "$t: no usage"
		[ "$u" = "$s" ] || fail "$t: --help: $u
SYNOPSIS: $s"
		n=$((n + 1))
	done
	[ "$n" -eq 10 ]
}

@test "every tool's page documents exit 71, out of memory, as qscale(7) does" {
	for t in $(c_tools); do
		grep -q -x '\.It 71' "$TOP/man/$t.1" || fail "$t.1 does not document 71"
	done
	[ "$(c_tools | wc -l)" -eq 8 ]
	grep -q -x '\.It 71' "$TOP/man/qscale.7"
}

@test "every tool prints the version of file VERSION" {
	v=$(cat "$TOP/VERSION")
	for t in $(tools); do
		run "$t" --version
		assert_success
		assert_output "$t (qscale) $v"
	done
}

@test "qs-sim(1) renders its SEE ALSO citation whole, title in quotes" {
	run bash -c "mandoc -Tascii '$TOP/man/qs-sim.1' | col -b | sed -n '/^SEE ALSO/,\$p' | tr -s ' \n' '  '"
	assert_success
	assert_output --partial 'F. Rossi, M. Nardelli, and V. Cardellini, "Horizontal and Vertical Scaling of Container-based Applications using Reinforcement Learning", IEEE CLOUD, 2019.'
}

@test "a timeout exits 75 in qs-scale(1), qs-observe(1) and qscale(7) alike" {
	for page in qs-scale.1 qs-observe.1 qscale.7; do
		# The text of the 75 entry of EXIT STATUS.
		run bash -c "mandoc -Tascii '$TOP/man/$page' | col -bx | sed -n '/^EXIT STATUS/,/^[A-Z]/p' | sed -n '/^ *75 /,/^\$/p' | tr -s ' \n' '  '"
		assert_success
		[[ $output == *" 75 "*timeout* ]] || { echo "$page: $output"; return 1; }
	done
}
