# Start and stop qs-sim serve for the qs-scale and qs-sim suites.
# shellcheck shell=bash

# Start qs-sim serve on a port the kernel picks, with extra options "$@";
# sets SIM_PID, PORT and URL.  The server's fd 3 is closed so that bats
# does not wait for it.
start_sim() {
	local i
	rm -f "$T/port"
	qs-sim serve --listen 127.0.0.1:0 --port-file "$T/port" "$@" \
	    >"$T/sim.out" 2>"$T/sim.err" 3>&- &
	SIM_PID=$!
	for i in $(seq 200); do
		[ -s "$T/port" ] && break
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ -s "$T/port" ] || { cat "$T/sim.err" >&2; return 1; }
	PORT=$(cat "$T/port")
	URL="http://127.0.0.1:$PORT"
	[ "$i" -gt 0 ]
}

stop_sim() {
	if [ -n "${SIM_PID:-}" ]; then
		kill "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
		SIM_PID=
	fi
}

# A field of qs-sim's /qs-sim/state.
sim_state() {
	curl -fsS "${SIM_URL:-$URL}/qs-sim/state" | json_get "$1"
}

# Print field $1 (a dotted path) of the JSON document on stdin.
json_get() {
	python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)' "$1"
}

# Move the server's clock $1 seconds on (POST /qs-sim/advance): with
# --tick 0 nothing else moves it.
sim_advance() {
	curl -fsS -X POST "${SIM_URL:-$URL}/qs-sim/advance?seconds=$1" >/dev/null
}

# Make the next count calls fail with status (POST /qs-sim/fail).
sim_fail() {
	curl -fsS -X POST "${SIM_URL:-$URL}/qs-sim/fail?status=$1&count=${2:-1}${3:+&method=$3}" >/dev/null
}

# A kubeconfig for the real kubectl, pointing at url; HOME keeps its cache.
write_kubeconfig() {
	export HOME="$T" KUBECONFIG="$T/kubeconfig"
	cat >"$KUBECONFIG" <<EOC
apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: $1
contexts:
- name: sim
  context:
    cluster: sim
    namespace: ${2:-default}
    user: sim
current-context: sim
users:
- name: sim
  user: {}
EOC
}

# A self-signed certificate for 127.0.0.1 in $T/$1.pem and key $T/$1.key.
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
	    -keyout "$T/$1.key" -out "$T/$1.pem" -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 2>/dev/null
}
