#!/usr/bin/env bats
# Loading and saving tables and histories: line ends, byte order marks,
# special files, unrecognised headers, torn tails, one-line messages.

load helpers

REC='{"pod":1,"latency":1,"requests":1,"action":2,"new_latency":1,"new_requests":1,"reward":1}'

small_table() {
	qs-init-table --latency-buckets 2 --request-buckets 2 -o "$1"
}

@test "a table of lone CRs is refused at load (65); an update changes nothing and makes no lock" {
	small_table t.csv
	tr '\n' '\r' < t.csv > cr.csv
	sum=$(digest cr.csv)
	run qs-decide --table cr.csv --policy
	assert_failure 65
	assert_output "qs-decide: invalid table cr.csv: line 1: a carriage return not followed by a line feed (lines end in LF or CRLF)"
	run qs-update --table cr.csv <<< "$REC"
	assert_failure 65
	assert_output "qs-update: invalid table cr.csv: line 1: a carriage return not followed by a line feed (lines end in LF or CRLF)"
	assert_equal "$(digest cr.csv)" "$sum"
	[ ! -e cr.csv.lock ]
}

@test "one stray CR inside an LF table is refused, naming its line" {
	small_table t.csv
	sed '3s/,0,/,0\r,/' t.csv > cr.csv
	sum=$(digest cr.csv)
	run qs-update --table cr.csv <<< "$REC"
	assert_failure 65
	assert_output "qs-update: invalid table cr.csv: line 3: a carriage return not followed by a line feed (lines end in LF or CRLF)"
	assert_equal "$(digest cr.csv)" "$sum"
}

@test "a CRLF table loads, and an update keeps CRLF on the rewritten row and every other byte" {
	small_table t.csv
	sed 's/$/\r/' t.csv > crlf.csv
	qs-update --table t.csv <<< "$REC" > /dev/null
	sed 's/$/\r/' t.csv > want.csv
	run qs-update --table crlf.csv <<< "$REC"
	assert_success
	run cmp crlf.csv want.csv
	assert_success
	run qs-decide --table crlf.csv --policy
	assert_success
}

@test "400 random layouts with stray CRs: each update is refused unchanged or saved correctly" {
	small_table t.csv
	qs-update --table t.csv <<< "$REC" > /dev/null
	mv t.csv want.csv
	small_table t.csv
	# Each layout ends every line in LF, CRLF or a lone CR, and may have
	# a CR inside a line; seeds 1..400 make the run the same every time.
	python3 - t.csv <<-'EOF'
	import random, sys
	lines = open(sys.argv[1], "rb").read().split(b"\n")[:-1]
	for seed in range(1, 401):
	    rnd = random.Random(seed)
	    out = b""
	    for l in lines:
	        if rnd.random() < 0.05:
	            i = rnd.randrange(len(l) + 1)
	            l = l[:i] + b"\r" + l[i:]
	        out += l + rnd.choice([b"\n", b"\r\n", b"\r\n", b"\r"] if rnd.random() < 0.3 else [b"\n"])
	    open("layout-%d.csv" % seed, "wb").write(out)
	EOF
	refused=0 saved=0 corrupt=0
	for i in $(seq 1 400); do
		f=layout-$i.csv
		cp "$f" before.csv
		if qs-update --table "$f" <<< "$REC" > /dev/null 2> err; then
			if tr -d '\r' < "$f" | cmp -s - want.csv && qs-decide --table "$f" --policy > /dev/null; then
				saved=$((saved + 1))
			else
				corrupt=$((corrupt + 1))
			fi
		elif [ "$?" -eq 65 ] && cmp -s "$f" before.csv && [ "$(wc -l < err)" -eq 1 ]; then
			refused=$((refused + 1))
		else
			corrupt=$((corrupt + 1))
		fi
	done
	echo "# refused $refused, saved $saved, corrupt $corrupt" >&3
	assert_equal "$corrupt" 0
	assert_equal "$((refused + saved))" 400
}

@test "a UTF-8 byte order mark is named, in a table and in a record stream" {
	small_table t.csv
	printf '\357\273\277' | cat - t.csv > bom.csv
	run qs-decide --table bom.csv --policy
	assert_failure 65
	assert_output "qs-decide: invalid table bom.csv: line 1: the file starts with a UTF-8 byte order mark"
	run qs-decide --table t.csv < <(printf '\357\273\277{"pod":1,"latency":1,"requests":1}\n')
	assert_failure 65
	assert_output "qs-decide: invalid record in <stdin>: line 1: starts with a UTF-8 byte order mark"
	run qs-update --table t.csv < <(printf '\357\273\277pod,latency,requests\n1,1,1\n')
	assert_failure 65
	assert_output "qs-update: invalid record in <stdin>: line 1: starts with a UTF-8 byte order mark"
}

@test "a FIFO as the table or the history is refused before locking, without blocking" {
	small_table t.csv
	mkfifo fifo.csv
	run timeout 20 qs-update --table fifo.csv <<< "$REC"
	assert_failure 66
	assert_output "qs-update: cannot open fifo.csv: not a regular file"
	[ ! -e fifo.csv.lock ]
	sum=$(digest t.csv)
	run timeout 20 qs-update --table t.csv --history fifo.csv <<< "$REC"
	assert_failure 73
	assert_output "qs-update: cannot open fifo.csv: not a regular file"
	[ ! -e t.csv.lock ]
	assert_equal "$(digest t.csv)" "$sum"
	run timeout 20 qs-decide --table fifo.csv --policy
	assert_failure 65
	assert_output "qs-decide: invalid table fifo.csv: line 1: the file is empty"
}

@test "a missing or invalid table leaves no FILE.lock behind" {
	run qs-update --table nope.csv <<< "$REC"
	assert_failure 66
	assert_output "qs-update: cannot open nope.csv: No such file or directory"
	[ ! -e nope.csv.lock ]
	echo garbage > bad.csv
	run qs-update --table bad.csv <<< "$REC"
	assert_failure 65
	[ ! -e bad.csv.lock ]
}

@test "a history with an unrecognised header is exit 65, naming the file; nothing changes" {
	small_table t.csv
	tsum=$(digest t.csv)
	printf 'Epoch,Pod,Latency,Requests,Action,New_latency,New_requests,Reward,Q_value,Random\n' > caps.csv
	printf 'epoch;pod;latency;requests;action;new_latency;new_requests;reward;q_value;random\n0;1;1;1;1;1;1;1;0.1;False\n' > semi.csv
	printf 'epoch,pod,latency,requests,action,new_latency,new_requests,reward\n' > short.csv
	for h in caps.csv semi.csv short.csv; do
		hsum=$(digest "$h")
		run qs-update --table t.csv --history "$h" <<< "$REC"
		assert_failure 65
		assert_equal "$(digest "$h")" "$hsum"
		assert_equal "$(digest t.csv)" "$tsum"
	done
	run qs-update --table t.csv --history caps.csv <<< "$REC"
	assert_output "qs-update: invalid history caps.csv: line 1: unrecognised header: no column epoch"
	run qs-update --table t.csv --history semi.csv <<< "$REC"
	assert_output "qs-update: invalid history semi.csv: line 1: unrecognised header: no column epoch"
	run qs-update --table t.csv --history short.csv <<< "$REC"
	assert_output "qs-update: invalid history short.csv: line 1: unrecognised header: no column q_value"
}

@test "a known header in another order, with time and extra columns, is still accepted" {
	small_table t.csv
	printf 'pod,epoch,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,note\n' > h.csv
	run qs-update --table t.csv --history h.csv <<< "${REC%\}},\"note\":\"kept\"}"
	assert_success
	assert_equal "$(sed -n 2p h.csv)" "1,0,1,1,2,1,1,1,0.1,,,,kept"
}

@test "a torn history tail longer than a read block is repaired at its last newline" {
	small_table t.csv
	qs-update --table t.csv --history good.csv <<< "$REC" > /dev/null
	for n in 1 65535 65536 65537 131072 200000; do
		cp good.csv h.csv
		head -c "$n" /dev/zero | tr '\0' 'x' >> h.csv
		run qs-update --table t.csv --history h.csv <<< "$REC"
		assert_success
		assert_line "qs-update: h.csv: dropping an incomplete last line left by an interrupted write"
		assert_equal "$(head -2 h.csv | digest /dev/stdin)" "$(digest good.csv)"
		assert_equal "$(wc -l < h.csv)" 3
		assert_equal "$(wc -c < h.csv)" "$(($(wc -c < good.csv) + $(tail -1 h.csv | wc -c)))"
	done
	# A file that is all one torn line is emptied, then gets a header.
	head -c 70000 /dev/zero | tr '\0' 'x' > h.csv
	run qs-update --table t.csv --history h.csv <<< "$REC"
	assert_success
	assert_equal "$(head -1 h.csv)" "$(head -1 good.csv)"
	assert_equal "$(wc -l < h.csv)" 2
}

@test "every error message is one line: newlines and CRs in values are escaped" {
	small_table t.csv
	{ head -1 t.csv; printf '"1\n2",0,500,0,18,0,0,0\n'; } > nl.csv
	run qs-decide --table nl.csv --policy
	assert_failure 65
	assert_output 'qs-decide: invalid table nl.csv: line 3: pod "1\n2" is not a non-negative integer'
	run qs-observe --prometheus $'http://127.0.0.1:1/\r\nx' --deployment web --pod 1
	assert_failure
	assert_equal "${#lines[@]}" 1
	assert_output --partial 'http://127.0.0.1:1/\r\nx'
	run qs-decide --cpa --table t.csv <<< '{"metrics":[{"resource":"a\nb","value":5}]}'
	assert_failure 65
	assert_output 'qs-decide: invalid CPA input in <stdin>: metric 1 (a\nb): value is not a string'
}

@test "a table replaced while qs-update waits for the lock is loaded again: no update is lost" {
	small_table t.csv
	small_table new.csv
	qs-update --table new.csv <<< '{"pod":3,"latency":1,"requests":1,"action":3,"new_latency":1,"new_requests":1,"reward":5}' > /dev/null
	cp new.csv want.csv
	qs-update --table want.csv <<< "$REC" > /dev/null
	exec 9> t.csv.lock
	flock -x 9
	qs-update --table t.csv --lock-wait 60 <<< "$REC" > out 2> err 9>&- &
	pid=$!
	# Wait until it has loaded t.csv (it holds the file open), bounded.
	for _ in $(seq 1 300); do
		readlink /proc/"$pid"/fd/* 2>/dev/null | grep -qx "$T/t.csv" && break
		sleep 0.1
	done
	run readlink /proc/"$pid"/fd/*
	assert_line "$T/t.csv"
	mv new.csv t.csv
	exec 9>&-
	wait "$pid"
	run cmp t.csv want.csv
	assert_success
}
