#!/usr/bin/env bats
# qs-update: the Q-learning update, the history, crash-safe saves.

load helpers

# An independent implementation of the update, for the notebook's buckets
# (latency 500 x 4, requests 18 x 3, replicas 1..3): prints epoch and Q.
replay_awk() {
	awk -F, -v compat="$1" '
	function bucket(x, w, n,   b) { b = (x <= w) ? 0 : int((x - 1) / w); return b >= n ? n - 1 : b }
	function key(p, l, r) { return p SUBSEP bucket(l, 500, 4) SUBSEP bucket(r, 18, 3) }
	function qmax(k,   a, m) { m = Q[k, 1] + 0; for (a = 2; a <= 3; a++) if (Q[k, a] + 0 > m) m = Q[k, a] + 0; return m }
	NR > 1 {
		s = key($1, $2, $3); s2 = key($4, $5, $6)
		if (compat) { old = int(qmax(s)); nxt = int(qmax(s2)) } else { old = Q[s, $4] + 0; nxt = qmax(s2) }
		Q[s, $4] = 0.9 * old + 0.1 * ($7 + 0.6 * nxt)
		printf "%d %.9f\n", NR - 2, Q[s, $4]
	}'
}

@test "the notebook's first two transitions give its printed -2.0 and -1.0" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	head -3 "$DATA/notebook-history.csv" | cut -d, -f2-8 > in.csv
	run qs-update --table t.csv --compat notebook --format json < in.csv
	assert_success
	assert_line -n 0 '{"pod":1,"latency":1022,"requests":36,"action":1,"new_latency":1089,"new_requests":40,"reward":-20,"q_value":-2,"epoch":0}'
	assert_line -n 1 '{"pod":1,"latency":1089,"requests":40,"action":1,"new_latency":1019,"new_requests":36,"reward":-10,"q_value":-1,"epoch":1}'
	run grep -n ',-2,\|,-1,' t.csv
	assert_line -n 0 "20:1,1001,1500,19,36,-2,0,0"
	assert_line -n 1 "32:1,1001,1500,37,54,-1,0,0"
}

@test "a longer replay matches an independent computation, both rules" {
	cut -d, -f2-8 "$DATA/notebook-history.csv" > in.csv
	for mode in none notebook; do
		cp "$DATA/notebook-fresh-table.csv" t.csv
		qs-update --table t.csv --compat "$mode" < in.csv |
		    awk -F, 'NR > 1 { printf "%d %.9f\n", $9, $8 }' > got
		replay_awk "$([ "$mode" = notebook ] && echo 1 || echo 0)" < in.csv > want
		run diff want got
		assert_success
		assert_equal "$(wc -l < got)" 12
	done
}

@test "many records are one load and one save, equal to one call each" {
	cut -d, -f2-8 "$DATA/notebook-history.csv" > in.csv
	cp "$DATA/notebook-fresh-table.csv" a.csv
	cp "$DATA/notebook-fresh-table.csv" b.csv
	# The table's opens for reading and the renames or links onto it, as
	# the kernel saw them: one each for the 12 records.
	command -v strace > /dev/null || skip "no strace (make deps installs it)"
	# LeakSanitizer cannot run under ptrace (make asan); the calls below
	# check for leaks.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    strace -f -qq -o trace -e trace=open,openat,rename,renameat,renameat2,link,linkat \
	    qs-update --table a.csv < in.csv > /dev/null
	[ "$(wc -l < in.csv)" -eq 13 ]
	assert_equal "$(grep -c -E '^[0-9]+ +open(at)?\(.*"(.*/)?a\.csv", O_RDONLY' trace)" 1
	assert_equal "$(grep -c -E '^[0-9]+ +(rename|renameat2?|linkat?)\(.*, "(.*/)?a\.csv"(, [A-Z_0-9|]+)?\) = 0$' trace)" 1
	head -1 in.csv > hdr
	tail -n +2 in.csv | while read -r line; do
		{ cat hdr; echo "$line"; } | qs-update --table b.csv > /dev/null
	done
	cmp a.csv b.csv
}

@test "the history is created with the notebook's header and grows" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	head -2 "$DATA/notebook-history.csv" | cut -d, -f2-8 > one.csv
	qs-update --table t.csv --history h.csv < one.csv > /dev/null
	echo '{"pod":1,"latency":1089,"requests":40,"action":1,"new_latency":1019,"new_requests":36,"reward":-10,"random":true}' |
	    qs-update --table t.csv --history h.csv > out.json
	run cat h.csv
	assert_line -n 0 "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random"
	assert_line -n 1 "0,1,1022,36,1,1089,40,-20,-2,"
	assert_line -n 2 "1,1,1089,40,1,1019,36,-10,-1,True"
	assert_equal "${#lines[@]}" 3
	run cat out.json
	assert_output --partial '"q_value":-1,"epoch":1}'
}

@test "an existing history's header is followed, time columns included" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	printf 'epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time\n' > h.csv
	echo '{"time":"2026-01-01T00:00:00Z","pod":1,"latency":1,"requests":1,"action":2,"new_latency":2,"new_requests":2,"reward":20,"random":false,"new_time":"2026-01-01T00:01:40Z"}' |
	    qs-update --table t.csv --history h.csv > /dev/null
	run tail -1 h.csv
	assert_output "0,1,1,1,2,2,2,20,2,False,2026-01-01T00:00:00Z,2026-01-01T00:01:40Z"
}

@test "the notebook's history replays into a table in one call" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	run qs-update --table t.csv --compat notebook < "$DATA/notebook-history.csv"
	assert_success
	assert_equal "$(wc -l < t.csv)" 37
	# epoch is renumbered from the history given, or from 0 without one.
	assert_line -n 1 "0,1,1022,36,1,1089,40,-20,-2,False"
	assert_line -n 2 "1,1,1089,40,1,1019,36,-10,-1,False"
	assert_line -n 3 "2,2,559,20,3,310,4,20,2,"
}

@test "rows not updated are kept byte for byte" {
	cp "$DATA/notebook-table.csv" t.csv
	echo '{"pod":3,"latency":1600,"requests":50,"action":2,"new_latency":1,"new_requests":1,"reward":20}' | qs-update --table t.csv > /dev/null
	run diff "$DATA/notebook-table.csv" t.csv
	assert_failure 1
	# 0.9 * 0 + 0.1 * (20 + 0.6 * max(-1.4, -1.46, -1.94)) = 1.916
	assert_output "37c37
< 3,1501,2000,37,54,0.0,0.0,0.0
---
> 3,1501,2000,37,54,0,1.9160000000000001,0"
}

@test "new_pod, when present, is the next state's replica count" {
	qs-init-table -o t.csv
	# Q(pod 2, low, low) = 10 makes the next state's max differ.
	echo '{"pod":2,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":100}' | qs-update --table t.csv >/dev/null
	run qs-update --table t.csv < <(echo '{"pod":3,"latency":1,"requests":1,"action":1,"applied":2,"new_pod":2,"new_latency":1,"new_requests":1,"reward":0}')
	assert_output --partial '"q_value":0.6'
}

# Each failing update leaves table and history as they were.
unchanged() {
	assert_equal "$(digest t.csv)" "$tsum"
	if [ -e h.csv ]; then assert_equal "$(digest h.csv)" "$hsum"; fi
}

prepare() {
	cp "$DATA/notebook-table.csv" t.csv
	cp "$DATA/notebook-history.csv" h.csv
	tsum=$(digest t.csv)
	hsum=$(digest h.csv)
}

@test "an action that is not a column is exit 65; nothing changes" {
	prepare
	run qs-update --table t.csv --history h.csv <<< '{"pod":1,"latency":1,"requests":1,"action":7,"new_latency":1,"new_requests":1,"reward":1}'
	assert_failure 65
	assert_output "qs-update: invalid record in <stdin>: line 1: action 7 is not an action column of the table"
	unchanged
}

@test "a bad record after good ones is exit 65; nothing changes" {
	prepare
	{ cut -d, -f2-8 "$DATA/notebook-history.csv"; echo "1,2,3,x,5,6,7"; } > in.csv
	run qs-update --table t.csv --history h.csv < in.csv
	assert_failure 65
	assert_output "qs-update: invalid record in <stdin>: line 14: field action is not an integer"
	unchanged
	run qs-update --table t.csv --history h.csv <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1}'
	assert_failure 65
	assert_output --partial "field reward is missing"
	unchanged
}

@test "a missing table is exit 66; a malformed one 65" {
	run qs-update --table nope.csv < /dev/null
	assert_failure 66
	assert_output "qs-update: cannot open nope.csv: No such file or directory"
	echo "garbage" > t.csv
	run qs-update --table t.csv < /dev/null
	assert_failure 65
	assert_output "qs-update: invalid table t.csv: line 1: column garbage should be pod"
}

@test "a malformed history is exit 65 and is not touched" {
	prepare
	printf 'epoch,pod\n1,2,3\n' > h.csv
	hsum=$(digest h.csv)
	run qs-update --table t.csv --history h.csv <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'
	assert_failure 65
	assert_output "qs-update: invalid record in h.csv: line 2: expected 2 fields, found 3"
	unchanged
}

@test "an unwritable table directory is exit 73; the table is intact" {
	mkdir ro
	cp "$DATA/notebook-table.csv" ro/t.csv
	touch ro/t.csv.lock
	chmod 666 ro/t.csv.lock
	chmod 555 ro
	sum=$(digest ro/t.csv)
	run as_nobody qs-update --table ro/t.csv <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'
	assert_failure 73
	assert_output --partial "qs-update: cannot create a temporary file for ro/t.csv: Permission denied"
	assert_equal "$(digest ro/t.csv)" "$sum"
	run ls -A ro
	assert_output "t.csv
t.csv.lock"
}

@test "an unwritable history directory is exit 73; the table is intact" {
	prepare
	mkdir ro
	chmod 555 ro
	chmod 666 t.csv
	touch t.csv.lock
	chmod 666 t.csv.lock
	chmod 777 .
	run as_nobody qs-update --table t.csv --history ro/h.csv <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'
	assert_failure 73
	assert_output "qs-update: cannot create ro/h.csv: Permission denied"
	unchanged
	run ls -A ro
	assert_output ""
}

@test "a held lock is exit 75 after --lock-wait" {
	prepare
	exec 9>t.csv.lock
	flock 9
	run qs-update --table t.csv --lock-wait 0.2 <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'
	exec 9>&-
	assert_failure 75
	assert_output "qs-update: t.csv is locked by another process"
	unchanged
}

@test "a full stdout is exit 74 and changes nothing" {
	prepare
	run bash -c "echo '{\"pod\":1,\"latency\":1,\"requests\":1,\"action\":1,\"new_latency\":1,\"new_requests\":1,\"reward\":1}' | qs-update --table t.csv --history h.csv > /dev/full"
	assert_failure 74
	unchanged
}

@test "bad options are exit 64" {
	run qs-update --table t.csv --alpha 2
	assert_failure 64
	run qs-update --table t.csv --compat python
	assert_failure 64
	assert_output "qs-update: invalid --compat: python (notebook or none)"
	run qs-update < /dev/null
	assert_failure 64
	run qs-update --table t.csv --history t.csv < /dev/null
	assert_failure 64
	run qs-update --help
	assert_success
	assert_line -n 0 --partial "usage: qs-update"
	run qs-update --version
	assert_output --regexp '^qs-update \(qscale\) '
}

# Bad input: each is exit 65 with one line naming the line, nothing written.
bad_input() {
	prepare
	run qs-update --table t.csv --history h.csv < in
	assert_failure 65
	assert_output "qs-update: $1"
	unchanged
	run ls -A
	assert_output "h.csv
in
t.csv
t.csv.lock"
}

@test "bad records: huge fields and lines, NUL bytes, quotes, bad UTF-8" {
	good='{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'
	{ echo "$good"; printf '{"pod":1,"note":"%s"}\n' "$(head -c 10485760 /dev/zero | tr '\0' x)"; } > in
	bad_input "invalid record in <stdin>: line 2: line longer than 1 MiB"
	{ echo "pod,latency,requests,action,new_latency,new_requests,reward,note"
	  printf '1,1,1,1,1,1,1,%s\n' "$(head -c 2000000 /dev/zero | tr '\0' 7)"; } > in
	bad_input "invalid record in <stdin>: line 2: line longer than 1 MiB"
	# A quoted field spanning many short lines is bounded as well.
	{ echo "pod,latency,requests,action,new_latency,new_requests,reward,note"
	  printf '1,1,1,1,1,1,1,"'; head -c 2000000 /dev/zero | tr '\0' x | fold -w 1000; } > in
	bad_input "invalid record in <stdin>: line 1049: record longer than 1 MiB"
	{ echo "pod,latency,requests,action,new_latency,new_requests,reward"; printf '1,1,1,1,1\0,1,1\n'; } > in
	bad_input "invalid record in <stdin>: line 2: a field holds a NUL byte"
	{ echo "$good"; printf '{"pod":1,\0"latency":1}\n'; } > in
	run qs-update --table t.csv --history h.csv < in
	assert_failure 65
	assert_output --partial "qs-update: invalid record in <stdin>: line 2: "
	unchanged
	{ echo "pod,latency,requests,action,new_latency,new_requests,reward"; echo '1,1,1,1,"1,1,1'; } > in
	bad_input "invalid record in <stdin>: line 2: error parsing data while strict checking enabled"
	{ echo "pod,latency,requests,action,new_latency,new_requests,reward"; printf '1,1,1,1,1,1,\377\n'; } > in
	bad_input "invalid record in <stdin>: line 2: a field is not valid UTF-8"
	{ printf 'pod,latency,requests,action,new_latency,new_requests,\377\n'; echo '1,1,1,1,1,1,1'; } > in
	bad_input "invalid record in <stdin>: line 1: a field is not valid UTF-8"
}

@test "bad records: NaN, Inf, out-of-range numbers, malformed JSON" {
	prepare
	echo '{"pod":1,"latency":NaN,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}' > in
	run qs-update --table t.csv --history h.csv < in
	assert_failure 65
	assert_output --partial "qs-update: invalid record in <stdin>: line 1: "
	printf 'pod,latency,requests,action,new_latency,new_requests,reward\n1,inf,1,1,1,1,1\n' > in
	bad_input "invalid record in <stdin>: line 2: field latency is not a number"
	printf 'pod,latency,requests,action,new_latency,new_requests,reward\n1,1,1,1,1,1,nan\n' > in
	bad_input "invalid record in <stdin>: line 2: field reward is not a number"
	echo '{"pod":-1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}' > in
	bad_input "invalid record in <stdin>: line 1: field pod is out of range: -1"
	echo '{"pod":1,"latency":1e300,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}' > in
	bad_input "invalid record in <stdin>: line 1: field latency is out of range: 1e+300"
	echo '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1e400}' > in
	run qs-update --table t.csv --history h.csv < in
	assert_failure 65
	unchanged
	echo '{"pod":1,"latency":1,"requests":1,"action":-3,"new_latency":1,"new_requests":1,"reward":1}' > in
	bad_input "invalid record in <stdin>: line 1: field action is out of range: -3"
	echo '{"pod":1,"latency":1,"requests":1,"action":1,"new_pod":99999999999,"new_latency":1,"new_requests":1,"reward":1}' > in
	bad_input "invalid record in <stdin>: line 1: field new_pod is out of range: 99999999999"
	echo '{"pod":1,"pod":2}' > in
	bad_input "invalid record in <stdin>: line 1: duplicate object key near '\"pod\"'"
	echo '{"pod":1' > in
	run qs-update --table t.csv --history h.csv < in
	assert_failure 65
	assert_output --partial "qs-update: invalid record in <stdin>: line 1: "
	unchanged
	echo '[1,2]' > in
	bad_input "invalid record in <stdin>: line 1: not a JSON object"
}

@test "replicas beyond the table go to the edge state with a warning" {
	prepare
	run qs-update --table t.csv <<< '{"pod":40,"latency":1,"requests":1,"action":3,"new_pod":3,"new_latency":1,"new_requests":1,"reward":1}'
	assert_success
	assert_line -n 0 "qs-update: transition 0 is partly outside the table; using the edge buckets (before state: pod 3, latency 0-500, requests 0-18)"
}

@test "an after-state beyond the table is named as such, once per run, the rest counted" {
	prepare
	rec='{"pod":2,"latency":1,"requests":1,"action":3,"new_pod":3,"new_latency":1,"new_requests":900,"reward":1}'
	printf '%s\n%s\n%s\n' "$rec" "$rec" "$rec" > in
	run --separate-stderr qs-update --table t.csv < in
	assert_success
	assert_equal "$stderr" "qs-update: transition 0 is partly outside the table; using the edge buckets (after state: pod 3, latency 0-500, requests 37-54)
qs-update: ... (and 2 more transitions partly outside the table)"
}

# A transition as qs-run finishes it: with the time it began.
TREC='{"time":"2026-12-01T09:00:00Z","pod":1,"latency":1022,"requests":36,"action":2,"new_time":"2026-12-01T09:01:40Z","new_pod":2,"new_latency":900,"new_requests":30,"reward":-5}'

@test "a transition already in the history is skipped with a warning, not applied again" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	qs-update --table t.csv --history h.csv <<< "$TREC" > /dev/null
	once=$(digest t.csv)
	cp t.csv want.csv
	run qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_success
	assert_output "qs-update: <stdin>: line 1 (time 2026-12-01T09:00:00Z): this transition is already in h.csv; not applied again"
	assert_equal "$(digest t.csv)" "$once"
	assert_equal "$(grep -c ',2026-12-01T09:00:00Z,' h.csv)" 1
	assert_equal "$(wc -l < h.csv)" 2
	# Twice in one input: once.  The old one after it is still skipped.
	later=${TREC/09:00:00Z/09:05:00Z}
	qs-update --table want.csv <<< "$later" > /dev/null
	printf '%s\n' "$later" "$later" "$TREC" > in
	run qs-update --table t.csv --history h.csv --format csv < in
	assert_success
	assert_line -n 0 "qs-update: <stdin>: line 2 (time 2026-12-01T09:05:00Z): this transition is already in h.csv; not applied again"
	assert_line -n 1 "qs-update: <stdin>: line 3 (time 2026-12-01T09:00:00Z): this transition is already in h.csv; not applied again"
	assert_line -n 3 --partial "2026-12-01T09:05:00Z,1,1022,36,2,"
	assert_equal "${#lines[@]}" 4
	assert_equal "$(digest t.csv)" "$(digest want.csv)"
	assert_equal "$(wc -l < h.csv)" 3
	# Another table's transition at the same time (another action) is not
	# the same one; nor is one without a time, which cannot tell.
	other=${TREC/\"action\":2/\"action\":3}
	run qs-update --table t.csv --history h.csv <<< "${other/\"new_pod\":2/\"new_pod\":3}"
	assert_success
	assert_equal "$(wc -l < h.csv)" 4
	notime='{"pod":1,"latency":1022,"requests":36,"action":2,"new_latency":900,"new_requests":30,"reward":-5}'
	qs-update --table t.csv --history h.csv <<< "$notime" > /dev/null
	qs-update --table t.csv --history h.csv <<< "$notime" > /dev/null
	assert_equal "$(wc -l < h.csv)" 6
}

@test "an update killed between the history's append and the table's rename: the next restores the table from the history" {
	command -v strace > /dev/null || skip "strace is not installed"
	cp "$DATA/notebook-fresh-table.csv" t.csv
	cp t.csv t0.csv
	# The table a whole update writes, for comparison.
	cp t.csv want.csv
	qs-update --table want.csv --history want-h.csv <<< "$TREC" > /dev/null
	# Killed at the rename that commits the table: the history is ahead.
	run env ASAN_OPTIONS=detect_leaks=0 strace -f -o /dev/null \
	    -e trace=rename,renameat,renameat2 \
	    -e inject=rename,renameat,renameat2:signal=KILL \
	    qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_failure 137
	cmp t.csv t0.csv
	assert_equal "$(wc -l < h.csv)" 2
	# The same transition finished again (the next qs-run tick): the table
	# learns it from the history's row, and the history keeps one row.
	run --separate-stderr qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_success
	assert_output ""
	assert_equal "$stderr" "qs-update: <stdin>: line 1 (time 2026-12-01T09:00:00Z): this transition is in h.csv but not in the table (an update killed before its end); its Q-value restored from the history"
	cmp t.csv want.csv
	assert_equal "$(wc -l < h.csv)" 2
	# Once restored, it is applied: a third time changes nothing.
	run --separate-stderr qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_success
	assert_equal "$stderr" "qs-update: <stdin>: line 1 (time 2026-12-01T09:00:00Z): this transition is already in h.csv; not applied again"
	cmp t.csv want.csv
	# A later transition of the same cell is in the table: an old row
	# found again is applied, never restored over the later one.
	later=${TREC/09:00:00Z/09:05:00Z}
	later=${later/\"reward\":-5/\"reward\":7}
	qs-update --table t.csv --history h.csv <<< "$later" > /dev/null
	cp t.csv after.csv
	run --separate-stderr qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_success
	assert_equal "$stderr" "qs-update: <stdin>: line 1 (time 2026-12-01T09:00:00Z): this transition is already in h.csv; not applied again"
	cmp t.csv after.csv
	run cmp -s t.csv want.csv
	assert_failure
}

@test "the search for a finished transition reads the tail, past rows out of order" {
	cp "$DATA/notebook-fresh-table.csv" t.csv
	# A long history; the transition is followed by a few older rows, as
	# another writer finishing late appends them.
	awk 'BEGIN { print "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time"
		for (i = 0; i < 20000; i++) printf "%d,1,1,1,1,1,1,0,0,False,2026-11-01T%02d:%02d:00Z,\n", i, i / 60 % 24, i % 60
		printf "20000,1,1022,36,2,900,30,-5,0,,2026-12-01T09:00:00Z,\n"
		for (i = 1; i <= 30; i++) printf "%d,2,1,1,1,1,1,0,0,False,2026-12-01T08:59:%02dZ,\n", 20000 + i, i }' > h.csv
	tsum=$(digest t.csv)
	run qs-update --table t.csv --history h.csv <<< "$TREC"
	assert_success
	assert_output "qs-update: <stdin>: line 1 (time 2026-12-01T09:00:00Z): this transition is already in h.csv; not applied again"
	assert_equal "$(digest t.csv)" "$tsum"
	# A later one is not searched for beyond the older rows: it is new.
	run qs-update --table t.csv --history h.csv <<< "${TREC/09:00:00Z/09:10:00Z}"
	assert_success
	assert_line -n 0 --partial '"q_value":'
}

@test "stdout that fails only when closed is exit 74 and changes nothing" {
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	# Valgrind's own close(2) calls differ from run to run: the one to fail
	# cannot be counted.
	[[ $(command -v qs-update) != */valgrind-bin/* ]] || skip "the close to fail cannot be counted under valgrind"
	# LeakSanitizer cannot run under ptrace.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	prepare
	# Find which close(2) is standard output's in a run on copies, then
	# make that one fail with EIO.
	mkdir dry
	cp t.csv h.csv dry/
	(cd dry && strace -o ../trace -e trace=close qs-update --table t.csv --history h.csv <<< "$TREC" > out)
	n=$(grep -n '^close(1)' trace | head -1 | cut -d: -f1)
	[ -n "$n" ]
	rm -r dry trace
	run bash -c "strace -o /dev/null -e trace=close -e inject=close:error=EIO:when=$n \
	    qs-update --table t.csv --history h.csv <<< '$TREC' > out"
	assert_failure 74
	assert_output "qs-update: cannot write standard output: Input/output error"
	unchanged
	compgen -G '.t.csv.*' > /dev/null && return 1
	true
}

@test "a new history records applied and new_pod, and replays to the same table" {
	cp "$DATA/notebook-fresh-table.csv" live.csv
	cp "$DATA/notebook-fresh-table.csv" replayed.csv
	# Chosen 3, applied 2 (a guard of qs-scale); then one as chosen.
	printf '%s\n' "${TREC/\"action\":2/\"action\":3,\"applied\":2}" \
	    "${TREC/09:00:00Z/09:05:00Z}" > in
	qs-update --table live.csv --history h.csv < in > /dev/null
	run cat h.csv
	assert_line -n 0 "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod"
	assert_line -n 1 "0,1,1022,36,3,900,30,-5,-0.5,,2026-12-01T09:00:00Z,2026-12-01T09:01:40Z,2,2"
	assert_line -n 2 "1,1,1022,36,2,900,30,-5,-0.95,,2026-12-01T09:05:00Z,2026-12-01T09:01:40Z,,2"
	# Q(s, 2) was learned twice, Q(s, 3) never.
	run grep '^1,1001,1500,19,36,' live.csv
	assert_output "1,1001,1500,19,36,0,-0.95,0"
	qs-update --table replayed.csv < h.csv > /dev/null
	assert_equal "$(digest replayed.csv)" "$(digest live.csv)"
}

@test "histories without applied still replay, and keep their header when appended to" {
	# A round-1 history (time columns, no applied) and the notebook's own.
	awk -F, -v OFS=, 'NR == 1 { print $0, "time", "new_time"; next }
	    { printf "%s,2026-12-01T%02d:00:00Z,\n", $0, NR }' "$DATA/notebook-history.csv" > old.csv
	for h in old.csv "$DATA/notebook-history.csv"; do
		cp "$DATA/notebook-fresh-table.csv" t.csv
		run qs-update --table t.csv --compat notebook < "$h"
		assert_success
		assert_line -n 1 --partial "0,1,1022,36,1,1089,40,-20,-2,False"
		cp t.csv "$(basename "$h").table"
	done
	assert_equal "$(digest old.csv.table)" "$(digest notebook-history.csv.table)"
	# Appending follows the file's header: no applied column appears.
	cp "$DATA/notebook-fresh-table.csv" t.csv
	qs-update --table t.csv --history old.csv <<< "${TREC/\"action\":2/\"action\":3,\"applied\":2}" > /dev/null
	assert_equal "$(head -1 old.csv)" "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time"
	run tail -1 old.csv
	assert_output "12,1,1022,36,3,900,30,-5,-0.5,,2026-12-01T09:00:00Z,2026-12-01T09:01:40Z"
}

# A transition begun at $1 and observed at $2, with new_pod $3 after
# action 2.
timed() {
	printf '{"time":"%s","pod":1,"latency":1022,"requests":36,"action":2,"new_time":"%s","new_pod":%s,"new_latency":900,"new_requests":30,"reward":-5}\n' "$1" "$2" "$3"
}

# Run qs-update in mode $1 (batch or unbuffered) with the options after
# it on the file in, into t.csv and h.csv; its stdout is in $output, its
# stderr in $err, its status in $status.
update_in() {
	local mode=$1
	shift
	[ "$mode" = batch ] || set -- --unbuffered "$@"
	status=0
	qs-update --table t.csv --history h.csv "$@" <in >out 2>errs || status=$?
	output=$(cat out)
	err=$(cat errs)
}

@test "a stale transition is dropped with a warning, not applied, not in the history" {
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	stale='^qs-update: <stdin>: line 1 \(time 2020-01-01T09:00:00Z\): dropped: stale transition \(age [0-9]{9} s > max 300 s\)$'
	for mode in batch unbuffered; do
		prepare
		timed 2020-01-01T09:00:00Z 2020-01-01T09:01:40Z 2 >in
		update_in "$mode" --max-age 300
		assert_equal "$status" 0
		assert_equal "$output" ""
		assert_regex "$err" "$stale"
		unchanged
		QS_MAX_AGE=300 update_in "$mode"
		assert_equal "$status" 0
		assert_regex "$err" "$stale"
		unchanged
		# A fresh one is kept; so is an old one without --max-age.
		timed "$now" "$now" 2 >in
		update_in "$mode" --max-age 300
		assert_equal "$status" 0
		assert_equal "$err" ""
		assert_regex "$output" '"epoch":12}$'
		timed 2020-01-01T09:00:00Z 2020-01-01T09:01:40Z 2 >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_regex "$output" '"epoch":13}$'
		assert_equal "$(wc -l <h.csv)" 15
	done
}

@test "an instant transition is dropped with a warning, not applied, not in the history" {
	for mode in batch unbuffered; do
		prepare
		timed 2026-01-01T09:00:00Z 2026-01-01T09:00:00Z 2 >in
		update_in "$mode" --min-age 60
		assert_equal "$status" 0
		assert_equal "$output" ""
		assert_equal "$err" "qs-update: <stdin>: line 1 (time 2026-01-01T09:00:00Z): dropped: instant transition (lasted 0 s < min 60 s)"
		unchanged
		# Offsets and fractions count: 09:00:00.5 to 10:00:30+01:00.
		timed 2026-01-01T09:00:00.5Z 2026-01-01T10:00:30+01:00 2 >in
		QS_MIN_AGE=30 update_in "$mode"
		assert_equal "$err" "qs-update: <stdin>: line 1 (time 2026-01-01T09:00:00.5Z): dropped: instant transition (lasted 29.5 s < min 30 s)"
		unchanged
		timed 2026-01-01T09:00:00Z 2026-01-01T09:00:59Z 2 >in
		timed 2026-01-01T09:01:00Z 2026-01-01T09:02:00Z 2 >>in
		update_in "$mode" --min-age 60
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 1 (time 2026-01-01T09:00:00Z): dropped: instant transition (lasted 59 s < min 60 s)"
		assert_regex "$output" '^\{"time":"2026-01-01T09:01:00Z",.*"epoch":12}$'
		assert_equal "$(wc -l <h.csv)" 14
		# Exactly the minimum, to the millisecond, is enough; a millisecond
		# less is not.
		timed 2026-01-01T09:03:00.000Z 2026-01-01T09:03:59.001Z 2 >in
		timed 2026-01-01T09:04:00.000Z 2026-01-01T09:04:59.000Z 2 >>in
		update_in "$mode" --min-age 59.001
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 2 (time 2026-01-01T09:04:00.000Z): dropped: instant transition (lasted 59 s < min 59.001 s)"
		assert_regex "$output" '^\{"time":"2026-01-01T09:03:00.000Z",.*"epoch":13}$'
		assert_equal "$(wc -l <h.csv)" 15
	done
}

@test "a foreign or not-ready transition is dropped with a warning, not applied, not in the history" {
	for mode in batch unbuffered; do
		prepare
		# Five ready for an action of 2: someone else scaled.
		{ timed 2026-01-01T09:00:00Z 2026-01-01T09:01:40Z 5
		  timed 2026-01-01T09:01:00Z 2026-01-01T09:02:40Z 1
		  echo '{"pod":1,"latency":1,"requests":1,"action":3,"applied":2,"new_pod":3,"new_latency":1,"new_requests":1,"reward":1}'; } >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_equal "$output" ""
		# Each named by its line and, when it has one, its time: a caller
		# feeding one record at a time sees line 1 for every one.
		assert_equal "$err" "qs-update: <stdin>: line 1 (time 2026-01-01T09:00:00Z): dropped: foreign or not ready (new_pod 5, action 2)
qs-update: <stdin>: line 2 (time 2026-01-01T09:01:00Z): dropped: foreign or not ready (new_pod 1, action 2)
qs-update: <stdin>: line 3: dropped: foreign or not ready (new_pod 3, applied 2)"
		unchanged
		# The count applied, when there is one, is what must be ready.
		{ timed 2026-01-01T09:00:00Z 2026-01-01T09:01:40Z 2
		  echo '{"pod":1,"latency":1,"requests":1,"action":3,"applied":2,"new_pod":2,"new_latency":1,"new_requests":1,"reward":1}'
		  timed 2026-01-01T09:03:00Z 2026-01-01T09:04:40Z 3; } >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 3 (time 2026-01-01T09:03:00Z): dropped: foreign or not ready (new_pod 3, action 2)"
		assert_equal "$(wc -l <h.csv)" 15
	done
}

@test "a dropped transition is named by its time only when it is fit for a one-line message" {
	long=$(printf '2026-01-01T09:00:00.%036dZ' 0)
	for mode in batch unbuffered; do
		prepare
		# A control character, more than 40 characters, not a string: the
		# line alone.  Only --min-age and --max-age read a time.
		printf '{"time":%s,"pod":1,"latency":1,"requests":1,"action":2,"new_pod":5,"new_latency":1,"new_requests":1,"reward":1}\n' \
		    '"2026-01-01T09:00:00Z\n"' "\"$long\"" 1767258000 '"2026-01-01T09:00:00.123Z"' >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 1: dropped: foreign or not ready (new_pod 5, action 2)
qs-update: <stdin>: line 2: dropped: foreign or not ready (new_pod 5, action 2)
qs-update: <stdin>: line 3: dropped: foreign or not ready (new_pod 5, action 2)
qs-update: <stdin>: line 4 (time 2026-01-01T09:00:00.123Z): dropped: foreign or not ready (new_pod 5, action 2)"
		unchanged
	done
}

@test "malformed times and bad ages are refused; nothing changes" {
	for mode in batch unbuffered; do
		for t in 2026-01-01 2026-13-01T09:00:00Z 2026-02-29T09:00:00Z 2026-04-31T09:00:00Z 2026-01-01T09:00:00 \
		    2026-01-01T24:00:00Z "2026-01-01T09:00:00Z " 2026-01-01T09:00:00+1:00 1767258000; do
			prepare
			timed "$t" 2026-01-01T09:01:00Z 2 >in
			update_in "$mode" --min-age 1
			assert_equal "$status" 65
			assert_equal "$err" "qs-update: invalid record in <stdin>: line 1: field time is not an RFC 3339 time such as 2026-12-01T09:00:00Z"
			unchanged
		done
		timed 2026-01-01T09:00:00Z 2026-01-01T09:01:00 2 >in
		update_in "$mode" --min-age 1
		assert_equal "$status" 65
		assert_equal "$err" "qs-update: invalid record in <stdin>: line 1: field new_time is not an RFC 3339 time such as 2026-12-01T09:00:00Z"
		unchanged
		echo '{"pod":1,"latency":1,"requests":1,"action":"x","new_pod":2,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode"
		assert_equal "$status" 65
		assert_equal "$err" "qs-update: invalid record in <stdin>: line 1: field action is not an integer"
		unchanged
	done
	# A leap day is a day.
	cp "$DATA/notebook-table.csv" t.csv
	timed 2024-02-29T09:00:00Z 2024-02-29T09:01:00Z 2 | qs-update --table t.csv --min-age 60 >/dev/null
	run qs-update --table t.csv --min-age -1 </dev/null
	assert_failure 64
	run qs-update --table t.csv --max-age x </dev/null
	assert_failure 64
	QS_MAX_AGE=-5 run qs-update --table t.csv </dev/null
	assert_failure 64
}

@test "an update counts a visit of its state; a table without visits stays without" {
	qs-init-table -o t.csv
	cp t.csv before.csv
	{
		echo '{"pod":2,"latency":1,"requests":1,"action":3,"new_latency":1,"new_requests":1,"reward":10}'
		echo '{"pod":2,"latency":1,"requests":1,"action":2,"new_latency":1,"new_requests":1,"reward":10}'
		echo '{"pod":1,"latency":900,"requests":40,"action":2,"new_latency":1,"new_requests":1,"reward":20}'
	} | qs-update --table t.csv > /dev/null
	# Two visits of pod 2, 0-500, 0-18 and one of pod 1, 501-1000, 37-54;
	# 0.1 (10 + 0.6 x 1) = 1.06, 0.1 (20 + 0.6 x 1.06) = 2.0636.
	run diff before.csv t.csv
	assert_output "3c3
< 2,0,500,0,18,0,0,0,0
---
> 2,0,500,0,18,0,1.06,1,2
29c29
< 1,501,1000,37,54,0,0,0,0
---
> 1,501,1000,37,54,0,2.0636,0,1"
	# The state is learned now: qs-decide no longer holds there.
	run qs-decide --table t.csv --exploit <<< '{"pod":2,"latency":1,"requests":1}'
	assert_output --partial '"action":2,"random":false,"why":"greedy"'
	# The notebook's layout is kept as it is.
	qs-init-table --layout notebook -o n.csv
	echo '{"pod":2,"latency":1,"requests":1,"action":3,"new_latency":1,"new_requests":1,"reward":10}' |
	    qs-update --table n.csv > /dev/null
	run sed -n '1p;3p' n.csv
	assert_output "pod,initial_latency,end_latency,initial_request,end_request,1,2,3
2,0,500,0,18,0,0,1"
}

@test "numbers are the shortest decimal that reads back, an integral one an integer, in JSON as in CSV" {
	qs-init-table > t.csv
	cp t.csv t2.csv
	run qs-update --table t.csv <<< '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":-0.37}
{"pod":2,"latency":1,"requests":1,"action":2,"new_latency":1,"new_requests":1,"reward":-20.0}'
	assert_success
	assert_output '{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":-0.37,"q_value":-0.037,"epoch":0}
{"pod":2,"latency":1,"requests":1,"action":2,"new_latency":1,"new_requests":1,"reward":-20,"q_value":-2,"epoch":1}'
	run qs-update --table t2.csv <<< 'pod,latency,requests,action,new_latency,new_requests,reward
1,1,1,1,1,1,-0.37
2,1,1,2,1,1,-20.0'
	assert_success
	assert_output 'pod,latency,requests,action,new_latency,new_requests,reward,q_value,epoch
1,1,1,1,1,1,-0.37,-0.037,0
2,1,1,2,1,1,-20,-2,1'
	cmp t.csv t2.csv
}

@test "a record's expected_pod is the count it is checked against, in place of its own; a bad one is exit 65" {
	for mode in batch unbuffered; do
		prepare
		# Its own count (applied 2) is ready, but its writer expected 3.
		echo '{"pod":1,"latency":1,"requests":1,"action":3,"applied":2,"expected_pod":3,"new_pod":2,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 1: dropped: foreign or not ready (new_pod 2, expected_pod 3)"
		unchanged
		# And the other way: 3 ready as expected, though it applied 2.
		echo '{"pod":1,"latency":1,"requests":1,"action":3,"applied":2,"expected_pod":3,"new_pod":3,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode"
		assert_equal "$status" 0
		assert_equal "$err" ""
		assert_equal "$(wc -l <h.csv)" 14
		prepare
		echo '{"pod":1,"latency":1,"requests":1,"action":2,"expected_pod":"x","new_pod":2,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode"
		assert_equal "$status" 65
		assert_equal "$err" 'qs-update: invalid record in <stdin>: line 1: field expected_pod is not an integer'
		unchanged
	done
}

@test "a shadow run's transition at a count outside the table is dropped as foreign, with the good ones learned; a live one is still 65" {
	for mode in batch unbuffered; do
		prepare
		# The other scaler's 7, held: not a column of the table.
		printf '%s\n' '{"pod":7,"latency":1,"requests":1,"action":2,"recommended":2,"applied":7,"new_pod":7,"new_latency":1,"new_requests":1,"reward":1}' \
		    '{"pod":1,"latency":1,"requests":1,"action":3,"recommended":3,"applied":2,"new_pod":2,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode" --drops d
		assert_equal "$status" 0
		assert_equal "$err" "qs-update: <stdin>: line 1: dropped: foreign (applied 7 is not an action of the table)"
		assert_equal "$(grep -c '' <<< "$output")" 1
		assert_equal "$(wc -l <h.csv)" 14
		grep -qx 'foreign 1' d
		prepare
		echo '{"pod":7,"latency":1,"requests":1,"action":2,"applied":7,"new_pod":7,"new_latency":1,"new_requests":1,"reward":1}' >in
		update_in "$mode"
		assert_equal "$status" 65
		assert_equal "$err" 'qs-update: invalid record in <stdin>: line 1: action 7 is not an action column of the table'
		unchanged
	done
}
