#!/usr/bin/env bats
# Reliability (issue 7): qs-update killed at random moments, many updates
# at once, injected faults, stdout closed or full, stray temporary files,
# file modes and symlinks.

load helpers

REC='{"pod":7,"latency":3000,"requests":100,"action":9,"new_latency":1200,"new_requests":50,"reward":-10,"random":false}'

local_teardown() {
	if [ -n "${small:-}" ] && mountpoint -q "$small"; then
		umount "$small"
	fi
}

# A table of 20 replicas x 20 x 20 buckets with full-precision values
# (3 MB), and a history of a few rows.
big_table() {
	qs-init-table --max-replicas 20 --latency-buckets 20 --request-buckets 20 --layout notebook |
	    awk -F, -v OFS=, 'BEGIN { srand(42) }
		NR > 1 { for (i = 6; i <= NF; i++) $i = sprintf("%.17g", (rand() - 0.5) * 100) } 1' > "$1"
}

# Every line of a CSV file has the header's field count; the file ends
# with a newline.
whole_rows() {
	[ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || return 1
	awk -F, 'NR == 1 { n = NF } NF != n { bad = 1 } END { exit bad }' "$1"
}

# Pick a random delay in seconds from bash's seeded RANDOM, up to span ms
# (which can exceed a second: valgrind).
delay() {
	local us=$(( (RANDOM * 32768 + RANDOM) % ($1 * 1000) ))
	printf '%d.%06d' $((us / 1000000)) $((us % 1000000))
}

@test "qs-update killed at 200 random moments leaves the old or the new table and whole history rows" {
	runs=${QS_CRASH_RUNS:-200}
	big_table base.csv
	cut -d, -f2-8 "$DATA/notebook-history.csv" | head -4 |
	    qs-update --table base.csv --history base-h.csv > /dev/null
	# The same update once, uninterrupted, gives the new versions.
	cp base.csv new.csv
	cp base-h.csv new-h.csv
	start=$(date +%s%N)
	qs-update --table new.csv --history new-h.csv <<< "$REC" > /dev/null
	span=$(( ($(date +%s%N) - start) * 3 / 2000000 + 5 ))
	run cmp -s base.csv new.csv
	assert_failure
	run cmp -s base-h.csv new-h.csv
	assert_failure
	echo "$REC" > rec.json

	RANDOM=7
	old=0 new=0 ahead=0 stray=0
	for ((i = 0; i < runs; i++)); do
		cp base.csv t.csv
		cp base-h.csv h.csv
		qs-update --table t.csv --history h.csv < rec.json > /dev/null 2>&1 &
		pid=$!
		sleep "$(delay "$span")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true

		qs-decide --table t.csv < /dev/null || fail "run $i: the table does not load"
		whole_rows h.csv || fail "run $i: a partial history row"
		if cmp -s t.csv base.csv; then
			if cmp -s h.csv base-h.csv; then
				old=$((old + 1))
			elif cmp -s h.csv new-h.csv; then
				# Killed between the history's fsync and the rename:
				# the history, which replays into the table, is ahead.
				ahead=$((ahead + 1))
			else
				fail "run $i: the history is neither old nor new"
			fi
		elif cmp -s t.csv new.csv; then
			cmp -s h.csv new-h.csv || fail "run $i: new table, old history"
			new=$((new + 1))
		else
			fail "run $i: the table is neither the old nor the new one"
		fi
		for f in .t.csv.*; do
			[ -e "$f" ] || continue
			stray=$((stray + 1))
			rm -f "$f"
		done
	done
	echo "# $runs kills: $old old, $ahead history ahead, $new new; $stray stray temporary files" >&3
	# Every other outcome failed above; both of these must have occurred,
	# or the kills missed the moments the test is about.
	[ "$old" -gt 0 ] || fail "no kill landed before the commit"
	[ "$new" -gt 0 ] || fail "no kill landed after the commit"
}

@test "stray temporary files: an old unlocked one is removed, a fresh or locked one kept" {
	cp "$DATA/notebook-table.csv" t.csv
	echo stale > .t.csv.AAAAAA
	echo fresh > .t.csv.BBBBBB
	echo locked > .t.csv.CCCCCC
	echo other > .t.csv.DDDDDDD
	echo mine > .u.csv.EEEEEE
	touch -d '2 minutes ago' .t.csv.AAAAAA .t.csv.CCCCCC .t.csv.DDDDDDD .u.csv.EEEEEE
	exec 8< .t.csv.CCCCCC
	flock 8
	run qs-update --table t.csv <<< "$REC1"
	exec 8<&-
	assert_success
	run ls -A
	assert_output ".t.csv.BBBBBB
.t.csv.CCCCCC
.t.csv.DDDDDDD
.u.csv.EEEEEE
t.csv
t.csv.lock"
}

# n distinct transitions on distinct states (replicas 1..5 x latency
# buckets 1..4, request bucket 1), each leading to a state of request
# bucket 3 that none updates: every applied update sets one cell to 1.
transitions() {
	local p l
	for p in 1 2 3 4 5; do
		for l in 250 750 1250 1750; do
			echo "{\"pod\":$p,\"latency\":$l,\"requests\":1,\"action\":$(( (p + l / 500) % 20 + 1 )),\"new_latency\":1,\"new_requests\":50,\"reward\":10}"
		done
	done
}

# Start 20 updates together (fd 9, the test's hold on the lock, is not
# passed on), release the lock, and print how many exited 0 and 75.
race() {
	local i=0 line rc ok=0 busy=0
	local -a pids
	while read -r line; do
		qs-update --table t.csv --history h.csv "$@" <<< "$line" > "out.$i" 2> "err.$i" 9>&- &
		pids[i]=$!
		i=$((i + 1))
	done < <(transitions)
	exec 9>&-
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[i]}" || rc=$?
		case $rc in
		0) ok=$((ok + 1)) ;;
		75)
			busy=$((busy + 1))
			assert_equal "$(cat "err.$i")" "qs-update: t.csv is locked by another process"
			assert_equal "$(cat "out.$i")" "" ;;
		*) fail "update $i: exit $rc: $(cat "err.$i")" ;;
		esac
	done
	echo "$ok $busy" > counts
}

# The table holds exactly n cells of 1 (visits not counted), the history
# n rows with epochs 0..n-1, both whole.
applied() {
	run awk -F, 'NR == 1 { m = $NF == "visits" ? NF - 1 : NF }
	    NR > 1 { for (i = 6; i <= m; i++) if ($i == 1) n++; else if ($i != 0) bad++ }
	    END { print n + 0, bad + 0 }' t.csv
	assert_output "$1 0"
	whole_rows t.csv
	whole_rows h.csv
	run qs-decide --table t.csv < /dev/null
	assert_success
	if [ "$1" -eq 0 ]; then
		[ ! -e h.csv ]
		return
	fi
	run bash -c "tail -n +2 h.csv | cut -d, -f1 | sort -n | tr '\n' ' '"
	assert_output "$(seq -s ' ' 0 $(($1 - 1))) "
}

@test "20 updates at once with the default wait: all applied, none lost" {
	qs-init-table --max-replicas 20 --request-buckets 3 -o t.csv
	# Hold the lock while they start, so that they all contend at once.
	exec 9> t.csv.lock
	flock 9
	race
	read -r ok busy < counts
	assert_equal "$ok $busy" "20 0"
	applied 20
}

@test "20 updates at once with --lock-wait 0: each applied whole or refused with 75" {
	big_table t.csv
	awk -F, -v OFS=, 'NR > 1 { for (i = 6; i <= NF; i++) $i = 0 } 1' t.csv > z.csv
	mv z.csv t.csv
	race --lock-wait 0
	read -r ok busy < counts
	echo "# --lock-wait 0: $ok applied, $busy refused" >&3
	assert_equal $((ok + busy)) 20
	[ "$ok" -ge 1 ]
	applied "$ok"
}

# Faults: the documented status, one line on stderr, nothing changed.
prepare() {
	cp "$DATA/notebook-table.csv" t.csv
	cp "$DATA/notebook-history.csv" h.csv
	tsum=$(digest t.csv)
	hsum=$(digest h.csv)
}

unchanged() {
	assert_equal "$(digest t.csv)" "$tsum"
	assert_equal "$(digest h.csv)" "$hsum"
	run ls -A
	assert_output "${1:-h.csv
t.csv
t.csv.lock}"
}

REC1='{"pod":1,"latency":1,"requests":1,"action":1,"new_latency":1,"new_requests":1,"reward":1}'

injector() {
	cc -shared -fPIC -o "$BATS_TEST_TMPDIR/inject.so" "$TOP/tests/inject.c" -ldl
	# An uninstrumented preload must not stop the sanitizer builds.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
}

@test "ENOSPC when the table is synced: exit 74, nothing changes" {
	injector
	prepare
	run env QS_INJECT=fsync LD_PRELOAD="$BATS_TEST_TMPDIR/inject.so" \
	    qs-update --table t.csv --history h.csv <<< "$REC1"
	assert_failure 74
	assert_output "qs-update: cannot write t.csv: No space left on device"
	unchanged
}

@test "ENOSPC when the history is appended: exit 74, nothing changes" {
	injector
	prepare
	run env QS_INJECT=write LD_PRELOAD="$BATS_TEST_TMPDIR/inject.so" \
	    qs-update --table t.csv --history h.csv --format csv <<< "$REC1"
	assert_failure 74
	# The record was on stdout before the append failed; the status says
	# it does not count.
	assert_line -n 2 "qs-update: cannot write h.csv: No space left on device"
	assert_equal "${#lines[@]}" 3
	unchanged
	rm h.csv
	run env QS_INJECT=write LD_PRELOAD="$BATS_TEST_TMPDIR/inject.so" \
	    qs-update --table t.csv --history h.csv <<< "$REC1"
	assert_failure 74
	assert_line -n 1 "qs-update: cannot write h.csv: No space left on device"
	assert_equal "$(digest t.csv)" "$tsum"
	[ ! -e h.csv ]
}

@test "ENOSPC when qs-init-table syncs: exit 74, no file left" {
	injector
	run env QS_INJECT=fsync LD_PRELOAD="$BATS_TEST_TMPDIR/inject.so" qs-init-table -o t.csv
	assert_failure 74
	assert_output "qs-init-table: cannot write t.csv: No space left on device"
	run ls -A
	assert_output ""
}

@test "a real full file system (tmpfs, as root): table and history, exit 74" {
	small="$T/small"
	mkdir "$small"
	if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=64k tmpfs "$small" 2>/dev/null; then
		skip "cannot mount a tmpfs here"
	fi
	cp "$DATA/notebook-table.csv" "$small/"
	# A history of exactly one page, so that a row needs a new one.
	h="$small/notebook-history.csv"
	sed '1s/$/,note/; 2,$s/$/,/' "$DATA/notebook-history.csv" > "$h"
	pad=$((4096 - $(wc -c < "$h") - 21))
	printf '99,1,1,1,1,1,1,1,1,,%s\n' "$(head -c "$pad" /dev/zero | tr '\0' x)" >> "$h"
	assert_equal "$(wc -c < "$h")" 4096
	dd if=/dev/zero of="$small/fill" bs=4k 2>/dev/null || true
	tsum=$(digest "$small/notebook-table.csv")
	hsum=$(digest "$small/notebook-history.csv")
	run qs-update --table "$small/notebook-table.csv" <<< "$REC1"
	assert_failure 74
	assert_output "qs-update: cannot write $small/notebook-table.csv: No space left on device"
	cp "$DATA/notebook-table.csv" t.csv
	run qs-update --table t.csv --history "$small/notebook-history.csv" <<< "$REC1"
	assert_failure 74
	assert_line -n 1 "qs-update: cannot write $small/notebook-history.csv: No space left on device"
	assert_equal "$(digest t.csv)" "$(digest "$DATA/notebook-table.csv")"
	assert_equal "$(digest "$small/notebook-table.csv")" "$tsum"
	assert_equal "$(digest "$small/notebook-history.csv")" "$hsum"
	run ls -A "$small"
	assert_output "fill
notebook-history.csv
notebook-table.csv
notebook-table.csv.lock"
}

@test "a read-only history file is exit 73; nothing changes" {
	prepare
	chmod 444 h.csv
	chmod 666 t.csv
	touch t.csv.lock
	chmod 666 t.csv.lock
	chmod 777 .
	run as_nobody qs-update --table t.csv --history h.csv <<< "$REC1"
	assert_failure 73
	assert_output "qs-update: cannot open h.csv: Permission denied"
	unchanged
}

@test "stdout closed: exit 74, one line, nothing changes" {
	prepare
	run bash -c "qs-update --table t.csv --history h.csv >&- <<< '$REC1'"
	assert_failure 74
	assert_output "qs-update: cannot write standard output: Bad file descriptor"
	unchanged
	run bash -c "qs-decide --table t.csv >&- <<< '{\"pod\":1,\"latency\":1,\"requests\":1}'"
	assert_failure 74
	assert_output "qs-decide: cannot write standard output: Bad file descriptor"
	run bash -c "qs-reward >&- <<< '$REC1'"
	assert_failure 74
	assert_output "qs-reward: cannot write standard output: Bad file descriptor"
	run bash -c "qs-init-table >&-"
	assert_failure 74
	assert_output "qs-init-table: cannot write standard output: Bad file descriptor"
}

@test "stdin closed: exit 74; stdout full: exit 74; one line, nothing changes" {
	prepare
	run bash -c "qs-update --table t.csv --history h.csv <&-"
	assert_failure 74
	assert_output "qs-update: cannot read <stdin>: Bad file descriptor"
	unchanged
	run bash -c "qs-update --table t.csv --history h.csv > /dev/full <<< '$REC1'"
	assert_failure 74
	assert_output "qs-update: cannot write standard output: No space left on device"
	unchanged
}

@test "files are created with the umask; an existing table keeps its mode" {
	(umask 077 && qs-init-table -o a.csv)
	(umask 022 && qs-init-table -o b.csv)
	run stat -c '%a %n' a.csv b.csv
	assert_output "600 a.csv
644 b.csv"
	(umask 077 && qs-update --table a.csv --history ha.csv <<< "$REC1" > /dev/null)
	(umask 022 && qs-update --table b.csv --history hb.csv <<< "$REC1" > /dev/null)
	chmod 640 b.csv
	(umask 077 && qs-update --table b.csv <<< "$REC1" > /dev/null)
	run stat -c '%a %n' ha.csv a.csv.lock hb.csv b.csv.lock b.csv
	assert_output "600 ha.csv
600 a.csv.lock
644 hb.csv
644 b.csv.lock
640 b.csv"
}

@test "symlinks: a history or lock link is refused; a table link is replaced, not written through" {
	prepare
	ln -s h.csv hl.csv
	run qs-update --table t.csv --history hl.csv <<< "$REC1"
	assert_failure 73
	assert_output "qs-update: cannot open hl.csv: Too many levels of symbolic links"
	unchanged "h.csv
hl.csv
t.csv
t.csv.lock"
	ln -s t.csv tl.csv
	ln -s /nonexistent tl.csv.lock
	run qs-update --table tl.csv <<< "$REC1"
	assert_failure 73
	assert_output "qs-update: cannot open lock tl.csv.lock: Too many levels of symbolic links"
	rm tl.csv.lock
	run qs-update --table tl.csv <<< "$REC1"
	assert_success
	[ ! -L tl.csv ]
	assert_equal "$(digest t.csv)" "$tsum"
}

@test "20 updates of 20 tables on one new history at once, 10 failing: every row once, one header" {
	qs-init-table --max-replicas 20 --request-buckets 3 -o base.csv
	for round in 1 2 3; do
		rm -f h.csv
		i=0
		pids=() bad=()
		while read -r line; do
			i=$((i + 1))
			cp base.csv "t$i.csv"
			qs-update --table "t$i.csv" --history h.csv <<< "$line" > /dev/null 2> "err.$i" &
			pids+=($!)
			# A failing writer among them rolls back only its own work.
			if [ $((i % 2)) -eq 0 ]; then
				cp base.csv "bad$i.csv"
				qs-update --table "bad$i.csv" --history h.csv <<< "${line/\"action\":/\"action\":9}" \
				    > /dev/null 2>&1 &
				bad+=($!)
			fi
		done < <(transitions)
		for i in "${!pids[@]}"; do
			wait "${pids[i]}" || fail "round $round, update $i: $(cat "err.$((i + 1))")"
		done
		for i in "${!bad[@]}"; do
			rc=0
			wait "${bad[i]}" || rc=$?
			assert_equal "$rc" 65
		done
		whole_rows h.csv
		assert_equal "$(grep -c '^epoch,' h.csv)" 1
		run bash -c "tail -n +2 h.csv | cut -d, -f2-5 | sort"
		assert_output "$(transitions | sed 's/.*"pod":\([0-9]*\),"latency":\([0-9]*\),"requests":1,"action":\([0-9]*\).*/\1,\2,1,\3/' | sort)"
		run bash -c "tail -n +2 h.csv | cut -d, -f1 | sort -n | tr '\n' ' '"
		assert_output "$(seq -s ' ' 0 19) "
	done
}

# Run a command with at most $1 KiB of address space.
limited() {
	local kib=$1
	shift
	(ulimit -v "$kib" && exec "$@")
}

# Sanitizer builds reserve terabytes of address space: no limit for them.
need_limit() {
	limited "$1" qs-update --version > /dev/null 2>&1 ||
	    skip "the tools do not start with ulimit -v $1"
}

# 256 MiB of one line, through a pipe, to a command limited to 64 MiB.
huge_line() {
	local byte=$1
	shift
	head -c 268435456 /dev/zero | tr '\0' "$byte" | limited 65536 "$@"
}

@test "a line over the limit is exit 65 after reading at most the limit, in bounded memory" {
	need_limit 65536
	run huge_line x qs-reward
	assert_failure 65
	assert_output "qs-reward: invalid record in <stdin>: line 1: line longer than 1 MiB"
	prepare
	run huge_line 1 qs-update --table t.csv --history h.csv
	assert_failure 65
	assert_output "qs-update: invalid record in <stdin>: line 1: line longer than 1 MiB"
	unchanged
	run huge_line 1 qs-decide --table /dev/stdin
	assert_failure 65
	assert_output "qs-decide: invalid table /dev/stdin: line 1: line longer than 16 MiB"
	# The reader stops at the limit: the rest of the input is never read.
	strace -o /dev/null true 2>/dev/null || skip "strace cannot trace here"
	head -c 20000000 /dev/zero | tr '\0' x > long
	run strace -o trace -e trace=read qs-reward < long
	assert_failure 65
	run awk -F' = ' '/^read\(0,/ { n += $NF } END { print (n <= 1048577 + 65536) }' trace
	assert_output 1
}

# 200 well-formed records of 900 kB, more than 64 MiB in all, to qs-update
# limited to 64 MiB.
fat_records() {
	awk 'BEGIN { pad = "x"; while (length(pad) < 900000) pad = pad pad; pad = substr(pad, 1, 900000)
		for (i = 0; i < 200; i++) printf "{\"pod\":1,\"latency\":%d,\"requests\":1,\"action\":1,\"new_latency\":1,\"new_requests\":1,\"reward\":1,\"note\":\"%s\"}\n", i, pad }' |
	    limited 65536 qs-update --table t.csv --history h.csv > out
}

@test "out of memory is exit 71 and changes nothing; it is never the end of the input" {
	need_limit 65536
	prepare
	run fat_records
	assert_failure 71
	assert_output "qs-update: out of memory: Cannot allocate memory"
	[ ! -s out ]
	rm out
	unchanged
	rm h.csv
	run fat_records
	assert_failure 71
	assert_output "qs-update: out of memory: Cannot allocate memory"
	rm out
	assert_equal "$(digest t.csv)" "$tsum"
	run ls -A
	assert_output "t.csv
t.csv.lock"
	# A table that never ends is a bad table, not an empty one.
	run limited 1048576 qs-decide --table /dev/zero < /dev/null
	assert_failure 65
	assert_output "qs-decide: invalid table /dev/zero: line 1: line longer than 16 MiB"
}

# Whether every pid given has the file $1 open.
all_open() {
	local f=$1 pid
	shift
	for pid in "$@"; do
		# shellcheck disable=SC2010 # the link targets are what is read
		ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "-> $f\$" || return 1
	done
}

@test "writers waiting for a new history that its creator removes on failure lose no row" {
	qs-init-table --max-replicas 20 --request-buckets 3 -o base.csv
	cp base.csv bad.csv
	mkfifo slow
	exec 7<> slow
	# The creator of h.csv holds it, waiting for its input.
	qs-update --table bad.csv --history h.csv < slow > /dev/null 2> bad.err 7>&- &
	creator=$!
	for ((n = 0; n < 100; n++)); do
		[ -e h.csv ] && break
		sleep 0.1
	done
	i=0
	pids=()
	while read -r line; do
		i=$((i + 1))
		cp base.csv "t$i.csv"
		qs-update --table "t$i.csv" --history h.csv --lock-wait 60 <<< "$line" > /dev/null 2> "err.$i" 7>&- &
		pids+=($!)
	done < <(transitions)
	waiting=0
	for ((n = 0; n < 300; n++)); do
		all_open "$T/h.csv" "${pids[@]}" && waiting=1 && break
		sleep 0.1
	done
	# Now it fails and removes the file the others have open.
	echo '{"pod":1}' >&7
	exec 7>&-
	assert_equal "$waiting" 1
	rc=0
	wait "$creator" || rc=$?
	assert_equal "$rc" 65
	for i in "${!pids[@]}"; do
		wait "${pids[i]}" || fail "update $i: $(cat "err.$((i + 1))")"
	done
	whole_rows h.csv
	assert_equal "$(grep -c '^epoch,' h.csv)" 1
	run bash -c "tail -n +2 h.csv | cut -d, -f1 | sort -n | tr '\n' ' '"
	assert_output "$(seq -s ' ' 0 19) "
}
