#!/usr/bin/env bats
# qs-plot: histories, eval series and Q-table policies as pictures.

load helpers


# PNG files start with \211PNG\r\n\032\n.
is_png() {
	[ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ]
}

make_inputs() {
	printf 't,requests\n0,10\n1,40\n2,70\n3,26\n4,5\n' > trace.csv
	qs-sim train --trace trace.csv --table table.csv --history history.csv \
	    --epochs 200 --seed 1
	qs-sim eval --trace trace.csv --policy table:table.csv --series run.csv \
	    > /dev/null
}

# What an SVG says: its texts, and each line against the data it shows.
PLOTCHECK="$TOP/tests/plotcheck.py"
texts() {
	python3 "$PLOTCHECK" texts "$1" | grep -v '^[-0-9. ]*$'
}
line_shows() {
	python3 "$PLOTCHECK" series "$@"
}

# A Q-table with a known greedy action in every state; "$1" is added to
# every value, which changes no greedy action.
greedy_table() {
	qs-init-table --latency-buckets 3 --request-buckets 2 --max-replicas 3 |
	    awk -F, -v OFS=, -v add="${1:-0}" 'NR == 1 { print; next }
	{
		g = 6 + ($1 + int($2 / 500) + int($4 / 19)) % 3
		for (i = 6; i < NF; i++) $i = (i == g) + add
		$NF = 1
		print
	}'
}

@test "series: requests, latency against the ideal line, and replicas, as the run has them" {
	make_inputs
	run --separate-stderr qs-plot -o run.svg --title "table policy" --ideal-latency 400 series run.csv
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	run texts run.svg
	assert_output "$(printf '%s\n' 'table policy' requests 'latency (ms)' latency ideal replicas interval)"
	line_shows run.svg 31,119,180 run.csv t requests
	line_shows run.svg 214,39,40 run.csv t latency 0,0,0 400
	line_shows run.svg 44,160,44 run.csv t replicas
	# The checks see a wrong column, and an ideal line elsewhere.
	run line_shows run.svg 31,119,180 run.csv t latency
	assert_failure 1
	run line_shows run.svg 214,39,40 run.csv t latency 0,0,0 500
	assert_failure 1
}

@test "history: by epoch, the action as replicas; a PNG by the suffix" {
	make_inputs
	run qs-plot -o history.svg history history.csv
	assert_success
	run texts history.svg
	assert_output "$(printf '%s\n' requests 'latency (ms)' latency ideal replicas epoch)"
	line_shows history.svg 31,119,180 history.csv epoch requests
	line_shows history.svg 214,39,40 history.csv epoch new_latency 0,0,0 500
	line_shows history.svg 44,160,44 history.csv epoch action
	run qs-plot -o h.png history history.csv
	assert_success
	is_png h.png
	[[ "$(file -b h.png)" == "PNG image data, 1000 x 750"* ]]
	# Another run is another picture; the same run the same one.
	head -n 101 history.csv >half.csv
	qs-plot -o half.png history half.csv
	qs-plot -o again.png history history.csv
	run cmp -s h.png half.png
	assert_failure
	cmp h.png again.png
}

@test "table: one heat map of the greedy action per latency bucket" {
	greedy_table >t.csv
	run qs-plot -o t.svg table t.csv
	assert_success
	run texts t.svg
	for l in 0-500 501-1000 1001-1500; do
		assert_line "latency $l ms"
	done
	assert_equal "$(grep -c '^latency' <<<"$output")" 3
	assert_equal "$(grep -c '^replicas chosen$' <<<"$output")" 1
	assert_equal "$(grep -c '^requests (bucket)$' <<<"$output")" 3
	python3 "$PLOTCHECK" greedy t.svg t.csv
	python3 "$PLOTCHECK" images t.svg >t.img
	[ "$(sort -u t.img | wc -l)" -eq 3 ]
	# Values that keep every greedy action draw the same maps.
	greedy_table 7 >same.csv
	qs-plot -o same.svg table same.csv
	python3 "$PLOTCHECK" images same.svg >same.img
	cmp t.img same.img
	# One state's greedy action changed: its panel, and only it, changes.
	awk -F, -v OFS=, '$1 == 2 && $2 == 501 && $4 == 0 { $6 = 0; $7 = 0; $8 = 5 } 1' t.csv >one.csv
	run cmp -s t.csv one.csv
	assert_failure
	qs-plot -o one.svg table one.csv
	python3 "$PLOTCHECK" greedy one.svg one.csv
	run python3 "$PLOTCHECK" greedy one.svg t.csv
	assert_failure 1
	python3 "$PLOTCHECK" images one.svg >one.img
	run diff t.img one.img
	assert_equal "$(grep -c '^[<>]' <<<"$output")" 2
	[ "$(sed -n 2p t.img)" != "$(sed -n 2p one.img)" ]
	# A tie goes to the action nearest the replicas, then the higher, as
	# qs-decide chooses: 3 replicas tied between 1 and 2 choose 2.
	sed 's/^3,0,500,0,18,.*/3,0,500,0,18,1,1,0,1/' t.csv >tie.csv
	qs-plot -o tie.svg table tie.csv
	python3 "$PLOTCHECK" greedy tie.svg tie.csv
	run python3 "$PLOTCHECK" greedy tie.svg t.csv
	assert_failure 1
	sed 's/^3,0,500,0,18,.*/3,0,500,0,18,0,1,0,1/' t.csv >two.csv
	python3 "$PLOTCHECK" greedy tie.svg two.csv
	# At most six panels.
	qs-init-table --latency-buckets 8 >wide.csv
	run qs-plot -o wide.svg table wide.csv
	assert_success
	python3 "$PLOTCHECK" greedy wide.svg wide.csv
	run texts wide.svg
	assert_equal "$(grep -c '^latency .* ms$' <<<"$output")" 6
	assert_line "latency buckets 1-6 of 8"
	run qs-plot -o policy.png table wide.csv
	assert_success
	is_png policy.png
}

@test "user text is never run by gnuplot: backquotes and \$( ) in --title and -o" {
	make_inputs
	mkdir out
	title='`touch pwned1` $(touch pwned2) "quoted"'
	for kind in series history table; do
		case $kind in
		series) in=run.csv ;;
		history) in=history.csv ;;
		table) in=table.csv ;;
		esac
		run --separate-stderr qs-plot --title "$title" -o 'out/`touch pwned3`$(touch pwned4).svg' "$kind" "$in"
		assert_success
		assert_equal "$stderr" ""
		run ls out
		assert_output '`touch pwned3`$(touch pwned4).svg'
		run texts 'out/`touch pwned3`$(touch pwned4).svg'
		assert_line --index 0 "$title"
		rm out/*
	done
	run ls pwned1 pwned2 pwned3 pwned4 out/pwned3 out/pwned4
	assert_failure
	# A table's numbers are the panels' titles: text there is refused.
	greedy_table | sed '2s/,0,500,/,`touch pwned5`,500,/' >evil.csv
	run --separate-stderr qs-plot -o evil.svg table evil.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid table evil.csv: not a Q-table"
	[ ! -e pwned5 ]
	[ ! -e evil.svg ]
}

@test "the man page's examples run" {
	make_inputs
	qs-sim eval --trace trace.csv --policy table:table.csv --series run.csv
	qs-plot -o run.png --title "table policy" series run.csv
	qs-plot -o policy.png table table.csv
	qs-plot -o history.svg history history.csv
	is_png run.png
	is_png policy.png
	grep -q '<svg' history.svg
}

@test "bad usage exits 64, bad input 65, a missing input 66, and no picture" {
	make_inputs
	run --separate-stderr qs-plot series run.csv
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-plot: -o is required"
	run --separate-stderr qs-plot -o x.gif series run.csv
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-plot: the output must end in .png or .svg: x.gif"
	run --separate-stderr qs-plot -o x.png pie run.csv
	assert_failure 64
	run --separate-stderr qs-plot --bogus -o x.png series run.csv
	assert_failure 64
	run --separate-stderr qs-plot -o x.png series nope.csv
	assert_failure 66
	assert_equal "$stderr" "qs-plot: cannot open nope.csv: No such file or directory"
	mkdir dir.csv
	run --separate-stderr qs-plot -o x.png series dir.csv
	assert_failure 66
	assert_equal "$stderr" "qs-plot: cannot open dir.csv: Is a directory"
	run --separate-stderr qs-plot -o x.png series history.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid series history.csv: it needs the columns t, requests, latency, replicas and a row"
	run --separate-stderr qs-plot -o x.png table run.csv
	assert_failure 65
	# A header and no row, short and long.
	head -n 1 run.csv >empty.csv
	run --separate-stderr qs-plot -o x.png series empty.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid series empty.csv: it needs the columns t, requests, latency, replicas and a row"
	head -n 1 history.csv >empty.csv
	run --separate-stderr qs-plot -o x.png history empty.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid history empty.csv: it needs the columns epoch, requests, new_latency, action and a row"
	qs-init-table | head -n 1 >empty.csv
	run --separate-stderr qs-plot -o x.png table empty.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid table empty.csv: no rows"
	assert [ ! -e x.png ]
	run qs-plot --help
	assert_success
	assert_line -n 0 "usage: qs-plot [--ideal-latency ms] [--title text] -o file history | series | table file"
}

@test "history: the replicas are the applied count where the history has it" {
	make_inputs
	# A new history's columns: applied differs from the action, and one
	# row without it (an older record) shows its action.
	# (train's own applied and new_pod, columns 11 and 12, replaced.)
	awk -F, -v OFS=, '{ NF = 10 }
	    NR == 1 { print $0, "time", "new_time", "applied", "new_pod"; next }
	    { a = $5 == 1 ? 3 : 1; if (NR == 50) a = ""
	      print $0, "2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z", a, a }' history.csv > new.csv
	awk -F, -v OFS=, 'NR == 1 { print $0, "shown"; next } { print $0, $13 != "" ? $13 : $5 }' new.csv > want.csv
	run --separate-stderr qs-plot -o new.svg history new.csv
	assert_success
	assert_equal "$stderr" ""
	line_shows new.svg 44,160,44 want.csv epoch shown
	line_shows new.svg 214,39,40 new.csv epoch new_latency 0,0,0 500
	run line_shows new.svg 44,160,44 new.csv epoch action
	assert_failure 1
}

@test "table: one colour box for the figure, each action one colour in every panel" {
	# The latency buckets choose from different actions: 1 and 2 in the
	# first, 2 and 3 in the second, 3 alone in the third.
	qs-init-table --latency-buckets 3 --request-buckets 2 --max-replicas 3 |
	    awk -F, -v OFS=, 'NR == 1 { print; next }
	{
		b = int($2 / 500)
		g = 6 + b + ($1 + int($4 / 19)) % 2
		if (b == 2) g = 8
		for (i = 6; i < NF; i++) $i = (i == g)
		$NF = 1
		print
	}' >mixed.csv
	run --separate-stderr qs-plot -o mixed.svg table mixed.csv
	assert_success
	assert_equal "$stderr" ""
	python3 "$PLOTCHECK" greedy mixed.svg mixed.csv
	# A colour box of three bands, labelled with the actions.
	run texts mixed.svg
	assert_equal "$(grep -c '^replicas chosen$' <<<"$output")" 1
	assert_line "blank: unlearned,"
	# Unlearned states are blank: no visits, or every value 0.
	awk -F, -v OFS=, 'NR > 1 && $1 == 2 { $NF = 0 } NR > 1 && $1 == 3 && $4 == 0 { for (i = 6; i < NF; i++) $i = 0 } 1' mixed.csv >unlearned.csv
	qs-plot -o unlearned.svg table unlearned.csv
	python3 "$PLOTCHECK" greedy unlearned.svg unlearned.csv
	run python3 "$PLOTCHECK" greedy unlearned.svg mixed.csv
	assert_failure 1
	assert_output --partial "'blank'"
}

@test "table: whole replicas up, request buckets as ranges across, no text over another" {
	qs-init-table --max-replicas 20 --latency-buckets 8 --request-buckets 40 --request-width 25 |
	    awk -F, -v OFS=, 'NR == 1 { print; next }
	{ for (i = 6; i < NF; i++) $i = -(i - 5 - $4 / 50) ^ 2; $NF = ($1 + $4) % 5 != 0; print }' >wide.csv
	run --separate-stderr qs-plot -o wide.svg table wide.csv
	assert_success
	python3 "$PLOTCHECK" greedy wide.svg wide.csv
	python3 "$PLOTCHECK" overlap wide.svg
	# Every number is a whole count or a range of whole counts from 0.
	python3 "$PLOTCHECK" texts wide.svg >wide.txt
	run grep -vE '^([0-9]+|[0-9]+-[0-9]+)$' <<<"$(grep '^[-0-9. e+]*$' wide.txt)"
	assert_output ""
	run cat wide.txt
	assert_line "0-25"
	assert_line "101-125"
	for p in 1 19; do assert_line "$p"; done
	# The default table, small: every bucket and replica count labelled.
	qs-init-table >small.csv
	qs-plot -o small.svg table small.csv
	python3 "$PLOTCHECK" overlap small.svg
	run python3 "$PLOTCHECK" texts small.svg
	for l in 0-18 19-36 37-54; do
		assert_equal "$(grep -cx -- "$l" <<<"$output")" 4
	done
	run python3 "$PLOTCHECK" texts small.svg
	assert_equal "$(grep -cx '[123]' <<<"$output")" 15
	refute_output --regexp '(^|[^0-9])[0-9]+[.][0-9]'
}

@test "series and history: the ideal line inside the panel above or below every latency; whole replicas" {
	make_inputs
	# Every latency above the ideal, and every one below it.
	awk -F, -v OFS=, 'NR > 1 { $3 = 1300 + ($1 % 3) * 200 } 1' run.csv >high.csv
	awk -F, -v OFS=, 'NR > 1 { $3 = 100 + ($1 % 3) * 20 } 1' run.csv >low.csv
	for ideal in 400 1000 2000; do
		qs-plot -o high.svg --ideal-latency "$ideal" series high.csv
		line_shows high.svg 214,39,40 high.csv t latency 0,0,0 "$ideal"
		python3 "$PLOTCHECK" inside high.svg 0,0,0
		qs-plot -o low.svg --ideal-latency "$ideal" series low.csv
		line_shows low.svg 214,39,40 low.csv t latency 0,0,0 "$ideal"
		python3 "$PLOTCHECK" inside low.svg 0,0,0
	done
	# Replicas 1 to 3 and intervals 0 to 4: whole ticks only.
	for f in run.csv high.csv; do
		qs-plot -o r.svg series "$f"
		python3 "$PLOTCHECK" overlap r.svg
		run python3 "$PLOTCHECK" texts r.svg
		refute_output --regexp '(^|[^0-9])[0-9]+[.][0-9]'
	done
	qs-plot -o h.svg history history.csv
	python3 "$PLOTCHECK" overlap h.svg
	run python3 "$PLOTCHECK" texts h.svg
	refute_output --regexp '(^|[^0-9])[0-9]+[.][0-9]'
}

@test "history: more than 1000 rows are drawn as 1000 bins, their means as lines and a min-max band" {
	# 5000 rows, a day's cycle of requests; replicas 1 to 8.
	awk 'BEGIN {
		OFS = ","
		print "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod"
		for (i = 0; i < 5000; i++) {
			q = 40 + int(30 * sin(i / 400)) + i % 7
			r = 1 + int(q / 10) % 8
			print i, r, 300, q, r, 250 + q * 5 + i % 11, q, 10, 1, "False", "t", "t", r, r
		}
	}' >long.csv
	# The bins as qs-plot(1) describes them: 5 rows each, their means.
	awk -F, -v OFS=, 'NR == 1 { print "epoch,requests,new_latency,applied"; next }
	{ n++; x += $1; q += $4; l += $6; r += $13 }
	n == 5 { print x / 5, q / 5, l / 5, r / 5; n = x = q = l = r = 0 }' long.csv >bins.csv
	assert_equal "$(wc -l <bins.csv)" 1001
	run --separate-stderr qs-plot -o long.svg history long.csv
	assert_success
	assert_equal "$stderr" ""
	for c in 31,119,180 214,39,40 44,160,44; do
		run python3 "$PLOTCHECK" count long.svg "$c"
		assert_output 1000
	done
	line_shows long.svg 31,119,180 bins.csv epoch requests
	line_shows long.svg 214,39,40 bins.csv epoch new_latency 0,0,0 500
	line_shows long.svg 44,160,44 bins.csv epoch applied
	python3 "$PLOTCHECK" inside long.svg 0,0,0
	python3 "$PLOTCHECK" overlap long.svg
	run texts long.svg
	assert_line "each point: a bin of 5 rows"
	assert_equal "$(grep -c '^min-max$' <<<"$output")" 3
	# The bands, in the lines' lighter colours: the key's sample, and
	# filled polygons (one between each two bins where min and max meet).
	for c in '166, 200, 227' '239, 169, 169' '169, 219, 169'; do
		[ "$(grep -c "<polygon fill = 'rgb($c)'" long.svg)" -ge 2 ]
	done
	# 1000 rows, and one without its last newline, are drawn as they are.
	head -n 1001 long.csv >k.csv
	qs-plot -o k.svg history k.csv
	line_shows k.svg 44,160,44 k.csv epoch applied
	head -c -1 k.csv >nonl.csv
	qs-plot -o nonl.svg history nonl.csv
	line_shows nonl.svg 44,160,44 k.csv epoch applied
	run texts k.svg
	refute_line --partial "bin"
}

@test "table: an edge latency bucket with no real end is titled as open" {
	qs-init-table --latency-buckets 2 |
	    awk -F, -v OFS=, 'NR > 1 && $2 == 501 { $3 = 1000000000 } 1' >t.csv
	run qs-plot -o t.svg table t.csv
	assert_success
	run texts t.svg
	assert_line "latency 0-500 ms"
	assert_line "latency above 500 ms"
	refute_line --partial "1000000000"
}

# A shadow history from a training one: applied 1 to 3, what another
# scaler ran, and recommended 2 to 5, what qscale would have run, beyond
# applied's range; rows from $1 on are live (no recommended).
shadow_history() {
	awk -F, -v OFS=, -v live="${1:-0}" '{ NF = 10 }
	    NR == 1 { print $0, "time", "new_time", "applied", "new_pod", "recommended"; next }
	    { a = 1 + NR % 3; w = 2 + ($5 + NR) % 4; if (live && NR - 1 >= live) w = ""
	      print $0, "2026-12-01T00:00:00Z", "2026-12-01T00:01:00Z", a, a, w }' history.csv
}

# Plot shadow history $1 as $2, quietly, and check that its key names both
# counts and that both lines draw the data of $3 (the same rows as $1).
shadow_plot() {
	run --separate-stderr qs-plot -o "$2" history "$1"
	assert_success
	assert_equal "$stderr" ""
	run texts "$2"
	assert_output "$(printf '%s\n' requests 'latency (ms)' latency ideal replicas epoch applied recommended)"
	line_shows "$2" 44,160,44 "$3" epoch applied
	line_shows "$2" 255,127,14 "$3" epoch recommended
}

@test "history: a shadow history draws the recommended count beside the applied one, both in the key" {
	make_inputs
	shadow_history >shadow.csv
	shadow_plot shadow.csv shadow.svg shadow.csv
	line_shows shadow.svg 214,39,40 shadow.csv epoch new_latency 0,0,0 500
	run line_shows shadow.svg 255,127,14 shadow.csv epoch applied
	assert_failure 1
	# Dashed, to be told apart without its colour.
	grep -q "<path stroke='rgb(255, 127,  14)' stroke-dasharray=" shadow.svg
	python3 "$PLOTCHECK" overlap shadow.svg
	# The rows after the shadow run, live, have no recommended: a gap.
	shadow_history 150 >handover.csv
	run --separate-stderr qs-plot -o handover.svg history handover.csv
	assert_success
	line_shows handover.svg 255,127,14 handover.csv epoch recommended
	line_shows handover.svg 44,160,44 handover.csv epoch applied
	# The column without a value, and a live history: no second line.
	shadow_history 1 >empty.csv
	qs-plot -o empty.svg history empty.csv
	run texts empty.svg
	assert_output "$(printf '%s\n' requests 'latency (ms)' latency ideal replicas epoch)"
	run grep -c "rgb(255, 127,  14)" empty.svg
	assert_output 0
}

@test "history: a long shadow history draws the bins' mean recommended count beside the applied band" {
	awk 'BEGIN {
		OFS = ","
		print "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod,recommended"
		for (i = 0; i < 3000; i++) {
			q = 40 + int(30 * sin(i / 400)) + i % 7
			r = 1 + int(q / 10) % 8
			w = i % 2 ? 9 : 10
			if (i >= 2990) w = ""
			print i, r, 300, q, r, 250 + q * 5, q, 10, 1, "False", "t", "t", r, r, w
		}
	}' >long.csv
	# 3 rows a bin; the last bins' recommended is the mean of those with one.
	awk -F, -v OFS=, 'NR == 1 { print "epoch,applied,recommended"; next }
	{ n++; x += $1; r += $13; if ($15 != "") { w += $15; m++ } }
	n == 3 { print x / 3, r / 3, m ? w / m : ""; n = x = r = w = m = 0 }' long.csv >bins.csv
	run --separate-stderr qs-plot -o long.svg history long.csv
	assert_success
	assert_equal "$stderr" ""
	line_shows long.svg 44,160,44 bins.csv epoch applied
	line_shows long.svg 255,127,14 bins.csv epoch recommended
	run texts long.svg
	assert_output "$(printf '%s\n' 'each point: a bin of 3 rows' requests min-max mean 'latency (ms)' min-max latency ideal replicas epoch min-max applied recommended)"
	python3 "$PLOTCHECK" overlap long.svg
}

@test "CRLF, as the C tools read it: a shadow history still draws its recommended count, a table its policy" {
	make_inputs
	shadow_history >shadow.csv
	sed 's/$/\r/' shadow.csv >crlf.csv
	shadow_plot crlf.csv crlf.svg shadow.csv
	greedy_table 0 >g.csv
	sed 's/$/\r/' g.csv >gcrlf.csv
	qs-plot -o g.svg table gcrlf.csv
	python3 "$PLOTCHECK" greedy g.svg g.csv
}

@test "an input on a pipe is drawn as the file is: a history from <(...), a table from standard input" {
	make_inputs
	shadow_history >shadow.csv
	run --separate-stderr qs-plot -o pipe.svg history <(cat shadow.csv)
	assert_success
	assert_equal "$stderr" ""
	line_shows pipe.svg 255,127,14 shadow.csv epoch recommended
	line_shows pipe.svg 44,160,44 shadow.csv epoch applied
	greedy_table 0 >g.csv
	# shellcheck disable=SC2002 # a pipe, not a file, on standard input
	cat g.csv | qs-plot -o g.svg table /dev/stdin
	python3 "$PLOTCHECK" greedy g.svg g.csv
}
