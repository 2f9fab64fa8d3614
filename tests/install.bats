#!/usr/bin/env bats
# make install and make uninstall: DESTDIR, PREFIX and MANPREFIX, the
# installed tools and pages, and an uninstall that removes only its own.

load helpers

# The cases run make in the source tree: one at a time, so that a stale
# build is never rebuilt by two of them at once.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

# The build the suite runs against (make asan sets QS_BIN to its own).
build_dir() {
	local bin=${QS_BIN:-$TOP/build/bin}
	echo "${bin%/bin}"
}

install_to() {
	make -s -C "$TOP" BUILD="$(build_dir)" DESTDIR="$T/dest" "$@"
}

# The files install should write under prefix $1 and man prefix $2.
expected_files() {
	local f
	for f in "$TOP"/cmd/qs-*.c "$TOP"/cmd/qs-*/main.c; do
		f=${f%/main.c}
		f=${f##*/}
		echo "$1/bin/${f%.c}"
	done
	for f in "$TOP"/scripts/qs-*; do
		[ -e "$f" ] && echo "$1/bin/${f##*/}"
	done
	for f in "$TOP"/man/*.[17]; do
		echo "$2/man${f##*.}/${f##*/}"
	done
}

installed_files() {
	(cd "$T/dest" && find . -type f | sed 's|^\.||' | sort)
}

@test "install honours DESTDIR and PREFIX, with fixed modes" {
	run install_to PREFIX=/opt/qscale install
	assert_success
	diff <(expected_files /opt/qscale /opt/qscale/share/man | sort) <(installed_files)
	# Modes are the same whatever the installer's umask.
	run find "$T/dest/opt/qscale/bin" -type f ! -perm 0755
	assert_output ""
	run find "$T/dest/opt/qscale/share/man" -type f ! -perm 0644
	assert_output ""
	[ -f "$T/dest/opt/qscale/share/man/man7/qscale.7" ]
}

@test "MANPREFIX puts the pages elsewhere" {
	run install_to PREFIX=/usr MANPREFIX=/usr/man install
	assert_success
	diff <(expected_files /usr /usr/man | sort) <(installed_files)
}

@test "the installed tools run from there" {
	install_to PREFIX=/opt/qscale install
	bin=$T/dest/opt/qscale/bin
	# Only the installed copies on PATH, not the build's.
	PATH="$bin:/usr/bin:/bin"
	run command -v qs-decide
	assert_output "$bin/qs-decide"
	qs-init-table --layout notebook | cmp - "$DATA/notebook-fresh-table.csv"
	run bash -c "echo '{\"pod\":1,\"latency\":1022,\"requests\":36}' | qs-decide --table <(qs-init-table) --epsilon 0"
	assert_success
	assert_output '{"pod":1,"latency":1022,"requests":36,"action":1,"random":false,"why":"hold"}'
	qs-init-table -o table.csv
	run bash -c "echo '{\"pod\":2,\"latency\":700,\"requests\":10}' | qs-decide --table table.csv --epsilon 0"
	assert_success
	assert_output '{"pod":2,"latency":700,"requests":10,"action":2,"random":false,"why":"hold"}'
	for f in "$bin"/*; do
		run "$f" --version
		assert_success
		assert_output --regexp "^${f##*/} \(qscale\) "
		run "$f" --help
		assert_success
		assert_line -n 0 --partial "usage: ${f##*/}"
	done
}

@test "man -l renders every installed page" {
	install_to PREFIX=/opt/qscale install
	for page in "$T"/dest/opt/qscale/share/man/man*/*; do
		name=${page##*/}
		name=${name%.*}
		sec=${page##*.}
		nd=$(sed -n 's/^\.Nd //p' "$page")
		run --separate-stderr env MANWIDTH=80 man -l "$page"
		assert_success
		assert_line -n 0 --regexp "^${name^^}\($sec\) "
		# The NAME line, joined in case it wraps.
		[[ $(tr -s ' \n' '  ' <<< "$output") == *"NAME $name -- $nd "* ]]
		# troff may only say that an example is too long for 80 columns.
		run grep -v "warning .*: can't break line\$" <<< "$stderr"
		assert_output ""
	done
	run env MANWIDTH=80 man -l "$T/dest/opt/qscale/share/man/man1/qs-decide.1"
	assert_line "     qs-decide --policy [--compat notebook] [--format json | csv] --table file"
	run env MANWIDTH=80 man -l "$T/dest/opt/qscale/share/man/man7/qscale.7"
	assert_line -n 0 --regexp '^QSCALE\(7\) '
	assert_line "           qs-observe | qs-decide --table table.csv | qs-scale > pending.json"
}

@test "uninstall removes what install wrote, and only that" {
	mkdir -p "$T/dest/opt/qscale/bin" "$T/dest/opt/qscale/share/man/man1"
	echo keep > "$T/dest/opt/qscale/bin/other-tool"
	echo keep > "$T/dest/opt/qscale/share/man/man1/other-tool.1"
	install_to PREFIX=/opt/qscale install
	run install_to PREFIX=/opt/qscale uninstall
	assert_success
	assert_output ""
	run installed_files
	assert_output "/opt/qscale/bin/other-tool
/opt/qscale/share/man/man1/other-tool.1"
	# Uninstalling again finds nothing to remove, and is no error.
	run install_to PREFIX=/opt/qscale uninstall
	assert_success
}

@test "install replaces an older installation" {
	install_to PREFIX=/opt/qscale install
	echo old > "$T/dest/opt/qscale/bin/qs-decide"
	chmod 0600 "$T/dest/opt/qscale/bin/qs-decide"
	install_to PREFIX=/opt/qscale install
	cmp "$T/dest/opt/qscale/bin/qs-decide" "$(build_dir)/bin/qs-decide"
	run find "$T/dest/opt/qscale/bin/qs-decide" -perm 0755
	assert_output "$T/dest/opt/qscale/bin/qs-decide"
}
