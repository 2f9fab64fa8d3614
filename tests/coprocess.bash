# Drive a record filter as a co-process, as a closed loop does: one record
# in, its answer read back, and only then the next record.
# shellcheck shell=bash

# roundtrip in bound cmd...: start cmd with its input and output on FIFOs;
# for each record of the file in (JSON Lines, or CSV whose header goes
# first), write it, then read its answer within bound seconds (for CSV,
# the header line and the row first) and append it to the file answers.
# A function between, when defined, runs after each answer with the
# answer's number; its failure stops the loop.  At the end the input is
# closed, the rest of the output goes to the file rest, and cmd's status
# to the file status; its stderr is in filter.err.
# Returns 0 when every record was answered in time, 1 when an answer did
# not come within bound, 2 when between failed.
roundtrip() {
	local in=$1 bound=$2 line answer n=0 w r pid rc=0 header=
	shift 2
	rm -f to.fifo from.fifo
	mkfifo to.fifo from.fifo
	: >answers
	"$@" <to.fifo >from.fifo 2>filter.err 3>&- &
	pid=$!
	exec {w}>to.fifo {r}<from.fifo
	[ "$(head -c 1 "$in")" = "{" ] || header=1
	while IFS= read -r line; do
		printf '%s\n' "$line" >&"$w"
		if [ "$header" = 1 ]; then
			header=2
			continue
		fi
		if [ "$header" = 2 ]; then
			header=
			if ! IFS= read -r -t "$bound" answer <&"$r"; then
				rc=1
				break
			fi
			printf '%s\n' "$answer" >>answers
		fi
		if ! IFS= read -r -t "$bound" answer <&"$r"; then
			rc=1
			break
		fi
		printf '%s\n' "$answer" >>answers
		n=$((n + 1))
		if declare -F between >/dev/null && ! between "$n"; then
			rc=2
			break
		fi
	done <"$in"
	exec {w}>&-
	cat <&"$r" >rest
	exec {r}<&-
	if wait "$pid"; then
		echo 0 >status
	else
		echo $? >status
	fi
	return "$rc"
}
