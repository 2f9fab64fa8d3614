#!/usr/bin/env bats
# qs-plot: histories, eval series and Q-table policies as pictures.

load helpers

bats_require_minimum_version 1.5.0

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

@test "series: a PNG of requests, latency and replicas" {
	make_inputs
	run --separate-stderr qs-plot -o run.png --title "table policy" series run.csv
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	is_png run.png
	[[ "$(file -b run.png)" == "PNG image data, 1000 x 750"* ]]
}

@test "history: a PNG, or an SVG by the suffix" {
	make_inputs
	run qs-plot -o h.png --ideal-latency 400 history history.csv
	assert_success
	is_png h.png
	run qs-plot -o history.svg history history.csv
	assert_success
	grep -q '<svg' history.svg
}

@test "table: a heat map of the greedy policy" {
	make_inputs
	run qs-plot -o policy.png table table.csv
	assert_success
	is_png policy.png
	qs-init-table --latency-buckets 8 > wide.csv
	run qs-plot -o wide.png table wide.csv
	assert_success
	is_png wide.png
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
	assert_equal "$stderr" "qs-plot: cannot open nope.csv: No such file"
	run --separate-stderr qs-plot -o x.png series history.csv
	assert_failure 65
	assert_equal "$stderr" "qs-plot: invalid series history.csv: it needs the columns t, requests, latency, replicas and a row"
	run --separate-stderr qs-plot -o x.png table run.csv
	assert_failure 65
	assert [ ! -e x.png ]
	run qs-plot --help
	assert_success
	assert_line -n 0 "usage: qs-plot [--ideal-latency ms] [--title text] -o file history | series | table file"
}
