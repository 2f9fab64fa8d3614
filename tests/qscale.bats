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
