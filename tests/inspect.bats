#!/usr/bin/env bats
# README.md, "Inspecting with Unix tools": every example runs on the fixtures and prints what the
# page shows; the examples that depend on the clock or on the columns'
# order are checked on histories written for the purpose.

load helpers

DOC="$TOP/README.md"

# Split the page into cmd.N (each ```sh block) and out.N (the ```text
# block after it, when there is one).
split_doc() {
	awk '/^```sh$/ { n++; f = "cmd." n; printf "" > f; next }
	     /^```text$/ { f = "out." n; printf "" > f; next }
	     /^```$/ { f = ""; next }
	     f != "" { print > f }' "$DOC"
}

# The command of the example whose block contains text $1.
doc_cmd() {
	split_doc
	grep -l -F -- "$1" cmd.* | head -n 1 | xargs cat
}

fixtures() {
	cp "$DATA/notebook-table.csv" table.csv
	cp "$DATA/notebook-history.csv" history.csv
}

@test "every example in the README prints what it shows" {
	fixtures
	split_doc
	n=0
	for c in cmd.*; do
		k=${c#cmd.}
		[ -e "out.$k" ] || continue
		run --separate-stderr bash -o pipefail "$c"
		assert_success
		assert_equal "$stderr" ""
		# column pads empty last fields; the page has no trailing blanks.
		# shellcheck disable=SC2001 # per line, which ${output//} is not
		diff "out.$k" <(sed 's/ *$//' <<< "$output")
		n=$((n + 1))
	done
	# Every example but the one by time has its output on the page.
	[ "$n" -eq 9 ]
	[ "$(printf '%s\n' cmd.* | wc -l)" -eq 10 ]
}

@test "the policy awk finds on the table alone agrees with qs-decide --policy" {
	qs-init-table -o table.csv
	qs-update --table table.csv --compat notebook < "$DATA/notebook-history.csv" > /dev/null
	cmd=$(doc_cmd 'if (learned) print')
	run bash -c "$cmd"
	assert_success
	# Eight states were visited; the header makes nine.
	assert_equal "${#lines[@]}" 9
	qs-decide --policy --table table.csv |
	    awk -F, 'NR > 1 { print $1 " " $2 "-" $3 " " $4 "-" $5 " " $6 }' | sort > policy
	printf '%s\n' "${lines[@]:1}" | tr -s ' ' | sort > learned
	[ "$(comm -23 learned policy | wc -l)" -eq 0 ]
	[ "$(wc -l < learned)" -eq 8 ]
}

@test "the last day by time: rows newer than a day, header kept" {
	t() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
	{
		echo "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time"
		echo "0,1,1022,36,1,1089,40,-20,-2,False,$(t '3 days ago'),$(t '3 days ago')"
		echo "1,1,1089,40,1,1019,36,-10,-1,False,$(t '25 hours ago'),$(t '25 hours ago')"
		echo "2,1,1019,36,2,571,18,10,1,True,$(t '23 hours ago'),$(t '23 hours ago')"
		echo "3,2,571,18,2,480,16,20,2,False,$(t '10 minutes ago'),$(t '8 minutes ago')"
	} > history.csv
	cmd=$(doc_cmd "since=")
	run --separate-stderr bash -c "$cmd"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line -n 0 --regexp '^epoch +pod +latency .* time +new_time$'
	assert_line -n 1 --regexp '^2 +1 +1019 +36 +2 +571 +18 +10 +1 +True '
	assert_line -n 2 --regexp '^3 +2 +571 '
	# A history without times says so instead of guessing.
	cp "$DATA/notebook-history.csv" history.csv
	run --separate-stderr bash -c "$cmd"
	assert_output ""
	assert_equal "$stderr" "no time column"
}

@test "the history examples find their columns by name" {
	# The notebook's history with its columns in another order, as a
	# history with time columns in front would have them.
	awk -F, -v OFS=, '{ print $10, $8, $5, $1, $2, $3, $4, $6, $7, $9 }' "$DATA/notebook-history.csv" > history.csv
	run bash -c "$(doc_cmd 'mean_reward')"
	assert_success
	assert_output "action  transitions  mean_reward
1       3            -16.67
2       5            10.00
3       4            5.00"
	run bash -c "$(doc_cmd 'int($c["epoch"] / 50)')"
	assert_output "0-49 0.00
50-99 3.33"
	run bash -c "$(doc_cmd 'at or under 500 ms')"
	assert_output "5 of 12 transitions ended at or under 500 ms"
	run bash -c "$(doc_cmd 'actions were random')"
	assert_output "0 of 7 actions were random"
}

@test "the exploration count reads every spelling of random qscale accepts" {
	printf 'epoch,action,reward,random\n0,1,0,True\n1,1,0,true\n2,1,0,1\n3,1,0,False\n4,1,0,false\n5,1,0,0\n6,1,0,\n' > history.csv
	run bash -c "$(doc_cmd 'actions were random')"
	assert_success
	assert_output "3 of 6 actions were random"
}

@test "the last rows of a history written by qs-update" {
	qs-init-table -o table.csv
	for i in 1 2 3 4 5 6 7; do
		echo "{\"pod\":1,\"latency\":$((900 + i)),\"requests\":20,\"action\":2,\"new_latency\":450,\"new_requests\":20}"
	done | qs-reward | qs-update --table table.csv --history history.csv > /dev/null
	run bash -c "$(doc_cmd 'tail -n 5')"
	assert_success
	assert_equal "${#lines[@]}" 6
	assert_line -n 0 --regexp '^epoch +pod +latency +requests +action +new_latency +new_requests +reward +q_value +random$'
	assert_line -n 1 --regexp '^2 +1 +903 '
	assert_line -n 5 --regexp '^6 +1 +907 '
}

@test "README.md, one epoch by hand: the records each tool adds to, as shown" {
	# The "$ " lines of the section's transcript, with their continuation
	# lines, each followed by the output the page shows.
	awk '/^## / { on = $0 == "## One epoch, by hand"; next }
	     !on || !/^    / { next }
	     /^    \$ / { n++; sub(/^    \$ /, ""); print > ("cmd." n); next }
	     /^        / && n { print > ("cmd." n); next }
	     n { sub(/^    /, ""); print > ("out." n) }' "$DOC"
	[ "$(printf '%s\n' cmd.* | wc -l)" -eq 3 ]
	for c in cmd.*; do
		k=${c#cmd.}
		run --separate-stderr bash -o pipefail "$c"
		assert_success
		assert_equal "$stderr" ""
		if [ -e "out.$k" ]; then
			assert_output "$(cat "out.$k")"
		else
			assert_output ""
		fi
	done
}
