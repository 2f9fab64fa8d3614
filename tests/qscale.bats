#!/usr/bin/env bats
# qscale(7): the overview page is lint clean; tests/docs.bats runs its
# EXAMPLES.

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

@test "a stray operand is a one-line usage error naming it, then the usage, exit 64" {
	for t in qs-init-table qs-observe qs-decide qs-reward qs-update qs-scale qs-run \
	    "qs-sim train" "qs-sim eval" "qs-sim serve"; do
		# shellcheck disable=SC2086 # $t is a tool and its command
		run --separate-stderr $t extra < /dev/null
		assert_failure 64
		assert_output ""
		[[ "${stderr%%$'\n'*}" == "${t%% *}: unexpected operand: extra" ]] || {
			echo "$t: $stderr"
			return 1
		}
		[[ "$stderr" == *$'\n'"usage: $t"* ]]
	done
	run --separate-stderr qs-sim
	assert_failure 64
	[[ "${stderr%%$'\n'*}" == "qs-sim: a command is required" ]]
}

@test "an unknown option, a missing value or a bad one is a usage error that says why, exit 64" {
	# Each tool, an option of it that takes a value, and a number option.
	while IFS=, read -r t opt num; do
		name=$t
		# shellcheck disable=SC2086 # $t is a tool and its command
		run --separate-stderr $t --bogus < /dev/null
		assert_failure 64
		assert_output ""
		assert_equal "${stderr_lines[0]}" "$name: unrecognized option '--bogus'"
		[[ ${stderr_lines[1]} == "usage: $t"* ]] || { echo "$t: $stderr"; return 1; }
		# shellcheck disable=SC2086 # the same
		run --separate-stderr $t "$opt" < /dev/null
		assert_failure 64
		assert_equal "${stderr_lines[0]}" "$name: option '$opt' requires an argument"
		[[ ${stderr_lines[1]} == "usage: $t"* ]]
		# A bad value: one line, the value and what it should be.
		# shellcheck disable=SC2086 # the same
		run --separate-stderr $t "$num" x < /dev/null
		assert_failure 64
		assert_equal "${#stderr_lines[@]}" 1
		[[ $stderr =~ ^qs-[a-z-]+:\ invalid\ $num:\ x\ \(.+\)$ ]] || { echo "$t: $stderr"; return 1; }
	done <<-'EOT'
	qs-init-table,--output,--max-replicas
	qs-observe,--format,--retries
	qs-decide,--table,--epsilon
	qs-reward,--format,--ideal-latency
	qs-update,--table,--alpha
	qs-scale,--format,--retries
	qs-sim train,--table,--epochs
	qs-sim eval,--policy,--seed
	qs-sim serve,--listen,--rate
	qs-run,--table,--period
	EOT
}
