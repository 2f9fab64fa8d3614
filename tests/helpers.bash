# Shared setup for the bats suites: hermetic temporary directory, C locale,
# the binaries under test first on PATH, bats-support and bats-assert.
# shellcheck shell=bash

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load.bash
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load.bash
# The suites use run's flags (--separate-stderr, -N): without this, bats
# warns (BW02) at every one of them.
bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
# shellcheck disable=SC2034 # used by the suites that load this file
DATA="$TOP/tests/data"
export LC_ALL=C
export PATH="${QS_BIN:-$TOP/build/bin}:$TOP/scripts:$PATH"
# Sealed from the caller's environment: every QS_* variable the tools and
# scripts read (QS_EPSILON, QS_OBSERVE_OPTS...) is unset, but the harness's
# own, and the in-cluster variables that change --backend auto.
for v in $(compgen -v QS_); do
	case $v in
	QS_BIN | QS_CRASH_RUNS) ;;
	*) unset "$v" ;;
	esac
done
unset v KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

setup() {
	T=$(mktemp -d)
	cd "$T" || return 1
}

teardown() {
	if declare -F local_teardown >/dev/null; then
		local_teardown
	fi
	cd / && rm -rf "$T"
}

# A free TCP port on 127.0.0.1, picked by the kernel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sha256 of a file, to show that a failing command left it unchanged.
digest() {
	sha256sum "$1" | cut -d' ' -f1
}

# Run a command as an unprivileged user, so that directory permissions
# apply even when the suite runs as root (as CI does).
as_nobody() {
	if [ "$(id -u)" -eq 0 ]; then
		chmod a+rx "$T"
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

# A lab for a whole file, from setup_file: scripts/lab.bash's functions,
# the binaries under test first on PATH, and LAB an empty directory for
# lab_start, exported to the tests.
lab_file_init() {
	# shellcheck source=../scripts/lab.bash
	. "$BATS_TEST_DIRNAME/../scripts/lab.bash"
	export PATH="${QS_BIN:-$BATS_TEST_DIRNAME/../build/bin}:$PATH"
	LAB=$(mktemp -d)
	export LAB
}

# The end of lab_file_init's lab, from teardown_file.
lab_file_done() {
	# shellcheck source=../scripts/lab.bash
	. "$BATS_TEST_DIRNAME/../scripts/lab.bash"
	lab_stop "$LAB"
	rm -rf "$LAB"
}

# The settings a loop's tools take against lab_file_init's lab, as a
# user's config would give them: the deployment web, from 1 replica to at
# most $1.
lab_tool_opts() {
	export QS_OBSERVE_OPTS="--prometheus $PROM_URL --window 3s --deployment web --kube-server $SIM_URL --retries 0"
	export QS_SCALE_OPTS="--server $SIM_URL --deployment web --min-replicas 1 --max-replicas $1"
}
