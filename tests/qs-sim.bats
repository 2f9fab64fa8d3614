#!/usr/bin/env bats
# qs-sim serve: the cluster stand-in, checked with curl, promtool and the
# real kubectl.  qs-sim train and qs-sim eval: the learning loop offline,
# and policies judged on traces; expected figures are computed here,
# independently of libqs, with awk (tests/data/qlearn.awk) or by hand.

load helpers
load simserve

local_teardown() {
	stop_sim
	if [ -n "${PROM_PID:-}" ]; then
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
}

# GET path with curl; stores the status in $code and the body in $T/body.
get() {
	code=$(curl -sS -o "$T/body" -w '%{http_code}' "$@")
}

# The value of the sample of metric $1 for pod $2 in $T/metrics.
sample() {
	awk -v m="$1" -v p="pod=\"$2\"" 'index($0, m "{") == 1 && index($0, p) { print $2 }' "$T/metrics"
}

@test "qs-sim --help and --version" {
	run qs-sim --help
	assert_success
	assert_line --index 0 "usage: qs-sim serve [option ...]"
	assert_output --partial "serve   stand in for a cluster"
	assert_output --partial "train   learn a Q-table offline"
	run qs-sim serve --help
	assert_success
	assert_line --index 0 --partial "usage: qs-sim serve [--deployment name]"
	assert_output --partial "--startup-delay s"
	run qs-sim --version
	assert_success
	assert_output --regexp '^qs-sim \(qscale\) [0-9.]+$'
}

@test "qs-sim rejects bad usage with exit 64" {
	run qs-sim
	assert_failure 64
	assert_line --index 0 "qs-sim: a command is required"
	assert_line --index 1 "usage: qs-sim serve [option ...]"
	run qs-sim dance
	assert_failure 64
	run qs-sim serve --bogus
	assert_failure 64
	assert_line --index 0 "qs-sim serve: unrecognized option '--bogus'"
	assert_line --index 1 --partial "usage: qs-sim serve"
	run qs-sim serve extra
	assert_failure 64
	run qs-sim serve --listen nowhere
	assert_failure 64
	assert_output "qs-sim: invalid listen address nowhere: not ADDRESS:PORT with a numeric address"
	for bad in -1 0.0001 x; do
		run qs-sim serve --tick "$bad"
		assert_failure 64
		assert_output "qs-sim: invalid --tick: $bad (0 for a manual clock, or a number from 0.001 to 86400)"
	done
	run qs-sim serve --tls-cert x.pem
	assert_failure 64
	assert_output "qs-sim: --tls-cert and --tls-key go together"
}

@test "qs-sim serve fails cleanly on a missing trace or a taken port" {
	run qs-sim serve --trace "$T/missing.csv"
	assert_failure 66
	assert_output "qs-sim: cannot open $T/missing.csv: No such file or directory"
	printf 't,requests\n0,abc\n' >"$T/bad.csv"
	run qs-sim serve --trace "$T/bad.csv"
	assert_failure 65
	start_sim
	run qs-sim serve --listen "127.0.0.1:$PORT"
	assert_failure 69
	assert_output "qs-sim: cannot listen on 127.0.0.1:$PORT: address in use or not available"
}

@test "qs-sim serve prints a readiness line and writes the port file" {
	start_sim --deployment api --namespace prod
	[[ $PORT =~ ^[0-9]+$ ]]
	run cat "$T/sim.out"
	assert_output "qs-sim: serving deployment api in namespace prod on http://127.0.0.1:$PORT"
	get "$URL/healthz"
	[ "$code" = 200 ]
}

@test "qs-sim serve stops cleanly on SIGTERM and SIGINT" {
	for sig in TERM INT; do
		start_sim
		kill -s "$sig" "$SIM_PID"
		rc=0
		wait "$SIM_PID" || rc=$?
		SIM_PID=
		[ "$rc" = 0 ]
		[ ! -e "$T/port" ]
		run cat "$T/sim.err"
		assert_output ""
	done
}

@test "qs-sim serve answers the deployment, its scale and its pods as Kubernetes does" {
	start_sim --replicas 2 --deployment web --namespace default
	get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$code" = 200 ]
	[ "$(json_get kind <"$T/body")" = Deployment ]
	[ "$(json_get apiVersion <"$T/body")" = apps/v1 ]
	[ "$(json_get metadata.name <"$T/body")" = web ]
	[ "$(json_get metadata.resourceVersion <"$T/body")" = 1 ]
	[ "$(json_get spec.replicas <"$T/body")" = 2 ]
	[ "$(json_get status.readyReplicas <"$T/body")" = 2 ]
	get "$URL/apis/apps/v1/namespaces/default/deployments/web/scale"
	[ "$code" = 200 ]
	[ "$(json_get kind <"$T/body")" = Scale ]
	[ "$(json_get apiVersion <"$T/body")" = autoscaling/v1 ]
	[ "$(json_get spec.replicas <"$T/body")" = 2 ]
	[ "$(json_get status.selector <"$T/body")" = app=web ]
	get "$URL/apis/apps/v1/namespaces/default/deployments"
	[ "$(json_get kind <"$T/body")" = DeploymentList ]
	[ "$(json_get items.0.metadata.name <"$T/body")" = web ]
	get "$URL/api/v1/namespaces/default/pods"
	[ "$code" = 200 ]
	[ "$(json_get kind <"$T/body")" = PodList ]
	pod=$(json_get items.1.metadata.name <"$T/body")
	[[ $pod =~ ^web-[a-z0-9]{10}-[a-z0-9]{5}$ ]]
	[ "$(json_get items.1.status.phase <"$T/body")" = Running ]
	get "$URL/api/v1/namespaces/default/pods/$pod"
	[ "$code" = 200 ]
	[ "$(json_get metadata.name <"$T/body")" = "$pod" ]
	# Another namespace has nothing.
	get "$URL/api/v1/namespaces/other/pods"
	[ "$(json_get items <"$T/body")" = "[]" ]
}

@test "qs-sim serve scales through PATCH and PUT of the scale subresource" {
	start_sim --replicas 1
	s="$URL/apis/apps/v1/namespaces/default/deployments/web/scale"
	get -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":3}}' "$s"
	[ "$code" = 200 ]
	[ "$(json_get spec.replicas <"$T/body")" = 3 ]
	[ "$(json_get metadata.resourceVersion <"$T/body")" = 2 ]
	[ "$(sim_state replicas)" = 3 ]
	get -X PUT -H 'Content-Type: application/json' \
	    -d '{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","resourceVersion":"2"},"spec":{"replicas":2}}' "$s"
	[ "$code" = 200 ]
	[ "$(sim_state replicas)" = 2 ]
	# A stale resourceVersion is a conflict.
	get -X PUT -H 'Content-Type: application/json' \
	    -d '{"metadata":{"resourceVersion":"2"},"spec":{"replicas":5}}' "$s"
	[ "$code" = 409 ]
	[ "$(json_get kind <"$T/body")" = Status ]
	[ "$(json_get reason <"$T/body")" = Conflict ]
	[ "$(json_get code <"$T/body")" = 409 ]
	[ "$(sim_state replicas)" = 2 ]
}

@test "qs-sim serve answers errors with Status objects" {
	start_sim --replicas 1
	d="$URL/apis/apps/v1/namespaces/default/deployments"
	get "$d/nope"
	[ "$code" = 404 ]
	run json_get message <"$T/body"
	assert_output 'deployments.apps "nope" not found'
	[ "$(json_get kind <"$T/body")" = Status ]
	[ "$(json_get apiVersion <"$T/body")" = v1 ]
	[ "$(json_get status <"$T/body")" = Failure ]
	[ "$(json_get reason <"$T/body")" = NotFound ]
	get "$URL/apis/apps/v1/namespaces/other/deployments/web"
	[ "$code" = 404 ]
	get "$URL/apis/batch/v1"
	[ "$code" = 404 ]
	get -X DELETE "$d/web"
	[ "$code" = 405 ]
	[ "$(json_get reason <"$T/body")" = MethodNotAllowed ]
	get -X PATCH -H 'Content-Type: application/json-patch+json' -d '[]' "$d/web/scale"
	[ "$code" = 415 ]
	get -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":-1}}' "$d/web/scale"
	[ "$code" = 422 ]
	[ "$(json_get reason <"$T/body")" = Invalid ]
	get -X PATCH -H 'Content-Type: application/merge-patch+json' -d 'nonsense' "$d/web/scale"
	[ "$code" = 400 ]
	[ "$(sim_state replicas)" = 1 ]
}

@test "qs-sim serve takes a merge patch by its exact media type" {
	start_sim --replicas 1
	s="$URL/apis/apps/v1/namespaces/default/deployments/web/scale"
	n=1
	for ct in 'application/merge-patch+json; charset=utf-8' \
	    'Application/Merge-Patch+JSON' 'application/merge-patch+json ;x=y' \
	    'application/strategic-merge-patch+json'; do
		n=$((n + 1))
		get -X PATCH -H "Content-Type: $ct" -d "{\"spec\":{\"replicas\":$n}}" "$s"
		[ "$code" = 200 ]
		[ "$(sim_state replicas)" = "$n" ]
	done
	for ct in 'application/merge-patch+jsonx' 'application/merge-patch+json-seq' \
	    'application/merge-patch' 'application/strategic-merge-patch+json5' \
	    'text/plain; type=application/merge-patch+json' \
	    'application/merge-patch+json,text/plain'; do
		get -X PATCH -H "Content-Type: $ct" -d '{"spec":{"replicas":9}}' "$s"
		[ "$code" = 415 ]
		[ "$(json_get reason <"$T/body")" = UnsupportedMediaType ]
	done
	[ "$(sim_state replicas)" = "$n" ]
}

@test "qs-sim serve fails the next calls with a chosen status" {
	start_sim --replicas 1
	d="$URL/apis/apps/v1/namespaces/default/deployments/web"
	get -X POST "$URL/qs-sim/fail?status=503&count=2"
	[ "$code" = 200 ]
	get "$d"
	[ "$code" = 503 ]
	[ "$(json_get reason <"$T/body")" = ServiceUnavailable ]
	[ "$(json_get message <"$T/body")" = "qs-sim: failure 503 injected by /qs-sim/fail" ]
	# /metrics and /qs-sim are not part of the API and do not count.
	get "$URL/metrics"
	[ "$code" = 200 ]
	get "$d"
	[ "$code" = 503 ]
	get "$d"
	[ "$code" = 200 ]
	# Only PATCH calls.
	get -X POST "$URL/qs-sim/fail?status=500&method=PATCH"
	get "$d"
	[ "$code" = 200 ]
	get -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":2}}' "$d/scale"
	[ "$code" = 500 ]
	[ "$(sim_state replicas)" = 1 ]
	for bad in 'status=200' 'status=abc' 'status=503&count=-1' 'status=503&method=get'; do
		get -X POST "$URL/qs-sim/fail?$bad"
		[ "$code" = 400 ]
	done
	get -X POST "$URL/qs-sim/delay?seconds=x"
	[ "$code" = 400 ]
	get "$URL/qs-sim/fail"
	[ "$code" = 405 ]
}

@test "qs-sim serve requires the bearer token given with --token-file" {
	printf 'letmein\n' >"$T/token"
	start_sim --token-file "$T/token"
	get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$code" = 401 ]
	[ "$(json_get reason <"$T/body")" = Unauthorized ]
	get -H 'Authorization: Bearer letmein' "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$code" = 200 ]
	get "$URL/metrics"
	[ "$code" = 200 ]
}

@test "qs-sim serve speaks TLS with --tls-cert and --tls-key" {
	make_cert server
	start_sim --tls-cert "$T/server.pem" --tls-key "$T/server.key"
	run cat "$T/sim.out"
	assert_output "qs-sim: serving deployment web in namespace default on https://127.0.0.1:$PORT"
	get --cacert "$T/server.pem" "https://127.0.0.1:$PORT/apis/apps/v1/namespaces/default/deployments/web"
	[ "$code" = 200 ]
	run curl -sS "https://127.0.0.1:$PORT/metrics"
	assert_failure
}

@test "qs-sim serve has the discovery documents" {
	start_sim
	get "$URL/api"
	[ "$(json_get kind <"$T/body")" = APIVersions ]
	[ "$(json_get versions.0 <"$T/body")" = v1 ]
	get "$URL/apis"
	[ "$(json_get kind <"$T/body")" = APIGroupList ]
	[ "$(json_get groups.0.preferredVersion.groupVersion <"$T/body")" = apps/v1 ]
	get "$URL/apis/apps"
	[ "$(json_get kind <"$T/body")" = APIGroup ]
	get "$URL/api/v1"
	[ "$(json_get kind <"$T/body")" = APIResourceList ]
	[ "$(json_get resources.0.name <"$T/body")" = pods ]
	get "$URL/apis/apps/v1"
	[ "$(json_get groupVersion <"$T/body")" = apps/v1 ]
	[ "$(json_get resources.1.name <"$T/body")" = deployments/scale ]
	[ "$(json_get resources.1.group <"$T/body")" = autoscaling ]
	get "$URL/version"
	[ "$(json_get major <"$T/body")" = 1 ]
}

@test "qs-sim serve /metrics passes promtool and has one series per ready pod" {
	start_sim --replicas 3 --rate 2
	curl -fsS "$URL/metrics" >"$T/metrics"
	run promtool check metrics <"$T/metrics"
	assert_success
	assert_output ""
	[ "$(grep -c '^http_server_requests_total{path="/test",pod="web-' "$T/metrics")" = 3 ]
	[ "$(grep -c '^http_server_request_duration_seconds_sum{path="/test",pod="web-' "$T/metrics")" = 3 ]
	[ "$(grep -c '^http_server_request_duration_seconds_count{path="/test",pod="web-' "$T/metrics")" = 3 ]
	grep -qx '# TYPE http_server_requests_total counter' "$T/metrics"
	# The pods are those the API lists.
	curl -fsS "$URL/api/v1/namespaces/default/pods" >"$T/pods"
	for i in 0 1 2; do
		pod=$(json_get "items.$i.metadata.name" <"$T/pods")
		grep -q "pod=\"$pod\"" "$T/metrics"
	done
}

@test "a real Prometheus scrapes qs-sim serve" {
	command -v prometheus >/dev/null || skip "prometheus is not installed"
	start_sim --replicas 2 --rate 3 --noise 0
	pp=$(free_port)
	cat >"$T/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
scrape_configs:
- job_name: sim
  static_configs:
  - targets: ['127.0.0.1:$PORT']
EOC
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	    --web.listen-address="127.0.0.1:$pp" >"$T/prom.log" 2>&1 3>&- &
	PROM_PID=$!
	q="http://127.0.0.1:$pp/api/v1/query"
	# Wait, boundedly, until two scrapes make a rate.
	for _ in $(seq 200); do
		v=$(curl -fsS "$q" --data-urlencode 'query=sum(irate(http_server_requests_total{path="/test"}[1m]))' 2>/dev/null |
		    json_get data.result.0.value.1 2>/dev/null) && break
		sleep 0.1
	done
	echo "rate: $v" >&2
	# Three requests per second in all, shared by the two pods; irate over
	# two scrapes moves with the scrapes' timing on a loaded machine.
	awk -v v="$v" 'BEGIN { exit !(v > 2.7 && v < 3.3) }'
	run bash -c "curl -fsS '$q' --data-urlencode 'query=count(http_server_requests_total)' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"result\"][0][\"value\"][1])'"
	assert_success
	assert_output 2
}

@test "qs-sim serve counters only grow, and follow scaling" {
	start_sim --replicas 2 --rate 5 --tick 0
	pod=$(curl -fsS "$URL/api/v1/namespaces/default/pods" | json_get items.0.metadata.name)
	# 5 requests/s for 10 s, shared by two pods, then by four.
	sim_advance 10
	curl -fsS "$URL/metrics" >"$T/metrics"
	[ "$(sample http_server_requests_total "$pod")" = 25 ]
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":4}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	sim_advance 10
	curl -fsS "$URL/metrics" >"$T/metrics"
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 4 ]
	[ "$(sample http_server_requests_total "$pod")" = 37.5 ]
	[ "$(sim_state requests)" = 100.0 ]
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":1}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	curl -fsS "$URL/metrics" >"$T/metrics"
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 1 ]
	[ "$(sample http_server_requests_total "$pod")" = 37.5 ]
	run promtool check metrics <"$T/metrics"
	assert_success
}

@test "qs-sim serve keeps new replicas unready for --startup-delay" {
	start_sim --replicas 1 --startup-delay 3600
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":3}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	[ "$(sim_state replicas)" = 3 ]
	[ "$(sim_state ready)" = 1 ]
	get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$(json_get status.readyReplicas <"$T/body")" = 1 ]
	[ "$(json_get status.unavailableReplicas <"$T/body")" = 2 ]
	get "$URL/api/v1/namespaces/default/pods"
	[ "$(json_get items.2.status.phase <"$T/body")" = Pending ]
	curl -fsS "$URL/metrics" >"$T/metrics"
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 1 ]
}

@test "qs-sim serve readies new replicas after --startup-delay" {
	start_sim --replicas 1 --startup-delay 5 --tick 0
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":2}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	sim_advance 4
	[ "$(sim_state ready)" = 1 ]
	get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$(json_get metadata.resourceVersion <"$T/body")" = 2 ]
	sim_advance 1
	[ "$(sim_state ready)" = 2 ]
	# A change of status is a new version of the object.
	get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	[ "$(json_get status.readyReplicas <"$T/body")" = 2 ]
	[ "$(json_get metadata.resourceVersion <"$T/body")" = 3 ]
}

@test "qs-sim serve replays a trace, one row per interval of its clock" {
	start_sim --trace "$DATA/trace-step.csv" --tick 0 --noise 0
	# Row 0 has 60 requests per 60 s interval, the rows after it 120.
	[ "$(sim_state rate)" = 1.0 ]
	sim_advance 59.5
	[ "$(sim_state rate)" = 1.0 ]
	[ "$(sim_state requests)" = 59.5 ]
	sim_advance 0.5
	[ "$(sim_state time)" = 60.0 ]
	[ "$(sim_state rate)" = 2.0 ]
	# Each row's rate counts for exactly its interval.
	sim_advance 30
	[ "$(sim_state requests)" = 120.0 ]
}

@test "qs-sim serve --tick moves the model one row per tick of wall time" {
	start_sim --trace "$DATA/trace-step.csv" --tick 0.2 --noise 0
	# Bounded: the clock is the wall's, so wait for it to pass row 0.
	for _ in $(seq 100); do
		t=$(sim_state time)
		awk -v t="$t" 'BEGIN { exit !(t >= 60) }' && break
		sleep 0.05
	done
	[ "$(sim_state rate)" = 2.0 ]
	stop_sim
	start_sim --trace "$DATA/trace-step.csv" --tick 3600 --noise 0
	[ "$(sim_state rate)" = 1.0 ]
}

@test "qs-sim serve --tick 0: only the advance hook moves the clock" {
	start_sim --replicas 2 --rate 5 --tick 0
	for _ in 1 2 3; do
		curl -fsS "$URL/metrics" >"$T/metrics"
		get "$URL/apis/apps/v1/namespaces/default/deployments/web"
	done
	[ "$(sim_state time)" = 0.0 ]
	[ "$(sim_state uptime)" = 0.0 ]
	[ "$(sim_state requests)" = 0.0 ]
	get -X POST "$URL/qs-sim/advance?seconds=2.5"
	[ "$code" = 200 ]
	[ "$(json_get time <"$T/body")" = 2.5 ]
	[ "$(json_get uptime <"$T/body")" = 2.5 ]
	[ "$(json_get requests <"$T/body")" = 12.5 ]
	[ "$(sim_state time)" = 2.5 ]
	# Bad calls change nothing.
	for bad in 'seconds=-1' 'seconds=x' 'seconds=nan' 'seconds=2592001' ''; do
		get -X POST "$URL/qs-sim/advance?$bad"
		[ "$code" = 400 ]
		[ "$(json_get reason <"$T/body")" = BadRequest ]
	done
	get "$URL/qs-sim/advance?seconds=1"
	[ "$code" = 405 ]
	[ "$(sim_state time)" = 2.5 ]
}

@test "qs-sim serve latency follows the notebook's calibration" {
	# The notebook saw 1022 ms for one pod and 36 requests in 30 s.
	start_sim --replicas 1 --rate 1.2 --noise 0 --tick 0
	run sim_state latency
	assert_output --regexp '^1020\.[0-9]+$'
	sim_advance 30
	curl -fsS "$URL/metrics" >"$T/metrics"
	pod=$(curl -fsS "$URL/api/v1/namespaces/default/pods" | json_get items.0.metadata.name)
	sum=$(sample http_server_request_duration_seconds_sum "$pod")
	count=$(sample http_server_request_duration_seconds_count "$pod")
	[ "$count" = 36 ]
	awk -v s="$sum" -v c="$count" 'BEGIN { l = s / c; exit !(l > 1.0206 && l < 1.0208) }'
}

@test "qs-sim serve survives half-open connections: bounded threads, normal requests answered" {
	# A soft limit of 256 descriptors, as a small container might give:
	# the server raises it towards the hard one, which must allow more.
	[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ] ||
	    skip "the hard limit on descriptors is below 1024"
	ulimit -S -n 256
	start_sim --replicas 1
	# A slowloris from a bounded loop: 400 connections to 127.0.0.1, each
	# with half a request; then a whole request, then all are closed.
	cat >"$T/slow.py" <<'EOC'
import os, resource, socket, sys
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
try:
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        held.append(s)
    print("held", len(held))
    print("threads", len(os.listdir("/proc/%s/task" % pid)))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            answer += b
    except OSError as e:
        answer = str(e).encode()
    print("answer", answer.split(b"\r\n", 1)[0].decode(errors="replace"))
    print("body", answer.rsplit(b"\r\n\r\n", 1)[-1].decode(errors="replace"))
finally:
    for s in held:
        s.close()
EOC
	run python3 "$T/slow.py" "$PORT" 400 "$SIM_PID"
	assert_success
	assert_line --index 0 "held 400"
	threads=$(awk '$1 == "threads" { print $2 }' <<<"$output")
	echo "threads: $threads" >&2
	[ "$threads" -le 8 ]
	assert_line --index 2 "answer HTTP/1.1 200 OK"
	assert_line --index 3 "body ok"
	get "$URL/healthz"
	[ "$code" = 200 ]
	run cat "$T/sim.err"
	assert_output ""
}

@test "the real kubectl gets, lists and scales the simulated deployment" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 2
	write_kubeconfig "$URL"
	run kubectl get deployment
	assert_success
	assert_line --index 0 --regexp '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$'
	assert_line --index 1 --regexp '^web +2/2 +2 +2 +[0-9]+s$'
	run kubectl get pods
	assert_success
	assert_line --index 0 --regexp '^NAME +READY +STATUS +RESTARTS +AGE$'
	assert_line --index 1 --regexp '^web-[a-z0-9]{10}-[a-z0-9]{5} +1/1 +Running +0 +[0-9]+s$'
	[ "${#lines[@]}" = 3 ]
	run kubectl scale deployment web --replicas=4
	assert_success
	assert_output "deployment.apps/web scaled"
	[ "$(sim_state replicas)" = 4 ]
	curl -fsS "$URL/metrics" >"$T/metrics"
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 4 ]
	run kubectl get deployment web -o jsonpath='{.status.readyReplicas}'
	assert_success
	assert_output 4
	# The preconditioned form takes the GET and PUT path.
	run kubectl scale deployment web --replicas=1 --current-replicas=4
	assert_success
	[ "$(sim_state replicas)" = 1 ]
	run kubectl get deployment nope
	assert_failure
	assert_output --partial 'deployments.apps "nope" not found'
}

@test "the notebook's kubectl get pods --field-selector counts ready pods" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --startup-delay 3600
	write_kubeconfig "$URL"
	run kubectl scale deployment.v1.apps/web --replicas=3
	assert_success
	run kubectl get pods --field-selector=status.phase=Running
	assert_success
	[ "${#lines[@]}" = 2 ]
	assert_line --index 1 --regexp '^web-[a-z0-9-]+ +1/1 +Running '
	run kubectl get pods -l app=web
	assert_success
	[ "${#lines[@]}" = 4 ]
	assert_line --index 3 --regexp '^web-[a-z0-9-]+ +0/1 +ContainerCreating '
	run kubectl get pods -l app=db
	assert_success
	assert_output "No resources found in default namespace."
	get "$URL/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dx"
	[ "$code" = 400 ]
	[ "$(json_get reason <"$T/body")" = BadRequest ]
}

@test "qs-sim man page examples run" {
	# EXAMPLES: qs-sim serve --listen 127.0.0.1:0 --port-file port --trace trace.csv --tick 1 --replicas 2 &
	cp "$DATA/trace-step.csv" "$T/trace.csv"
	start_sim --trace trace.csv --tick 1 --replicas 2
	# EXAMPLES: curl -s http://127.0.0.1:$(cat port)/metrics
	run curl -s "http://127.0.0.1:$(cat port)/metrics"
	assert_success
	assert_line --index 0 "# HELP http_server_requests_total Requests the pod served."
	[ "$(grep -c '^http_server_requests_total{' <<<"$output")" = 2 ]
	# EXAMPLES: curl -s -X POST "http://127.0.0.1:$(cat port)/qs-sim/fail?status=503&count=1"
	run curl -s -X POST "http://127.0.0.1:$(cat port)/qs-sim/fail?status=503&count=1"
	assert_success
	assert_output '{"status":503,"count":1,"method":"","delay":0.0,"delay_count":0}'
	# EXAMPLES: curl -s http://127.0.0.1:$(cat port)/qs-sim/state
	run curl -s "http://127.0.0.1:$(cat port)/qs-sim/state"
	assert_success
	assert_output --partial '"replicas":2,"ready":2,'
	# EXAMPLES: kubectl scale deployment web --replicas=3
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	write_kubeconfig "$URL"
	sim_fail 503 0
	run kubectl scale deployment web --replicas=3
	assert_success
	assert_output "deployment.apps/web scaled"
	[ "$(sim_state replicas)" = 3 ]
}

# --- train and eval ------------------------------------------------------

# A tiny trace: four 60 s intervals.
tiny_trace() {
	printf 't,requests\n0,10\n1,40\n2,70\n3,26\n' > trace.csv
}

# Number n of JSON key k of the output.
field() {
	jq -r ".$1" <<<"$output"
}

# Whether |a - b| <= 1e-9.
near() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 1e-9 && d >= -1e-9) }'
}

@test "train with no exploration and no noise gives the table the learning rule predicts" {
	tiny_trace
	# The notebook's decisions, ties to the lowest, as qlearn.awk has them.
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --epochs 12 --epsilon 0 --noise 0 --seed 5 --compat notebook
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	awk -v mode=sim -v epochs=12 -f "$DATA/qlearn.awk" trace.csv > want.csv
	run awk -f "$DATA/tablecmp.awk" want.csv table.csv
	assert_success
	# Learning happened: some value is not zero.
	run awk -F, 'NR > 1 && ($6 != 0 || $7 != 0 || $8 != 0)' table.csv
	refute_output ""
}

@test "train with exploration: the history replays into the table, and a seed replays the run" {
	tiny_trace
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history history.csv --epochs 300 --epsilon 0.5 --noise 0 --seed 7
	assert_success
	assert_equal "$stderr" ""
	# The count applied and the pods ready after it, as qs-update's
	# histories have them.
	assert_equal "$(head -1 history.csv)" \
	    "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,applied,new_pod"
	assert_equal "$(wc -l < history.csv)" 301
	assert_equal "$(sed -n 2p history.csv | cut -d, -f1)" 0
	# Both kinds of decision were made.
	grep -q ',True,' history.csv
	grep -q ',False,' history.csv
	run awk -v mode=replay -f "$DATA/qlearn.awk" history.csv
	assert_success
	echo "$output" > replayed.csv
	run awk -f "$DATA/tablecmp.awk" replayed.csv table.csv
	assert_success
	# The same seed, the same run.
	qs-sim train --trace trace.csv --table again.csv --history again-history.csv \
	    --epochs 300 --epsilon 0.5 --noise 0 --seed 7
	cmp table.csv again.csv
	cmp history.csv again-history.csv
}

@test "train's new latencies follow the model; a second run continues table and history" {
	tiny_trace
	qs-sim train --trace trace.csv --table table.csv --history h.csv \
	    --epochs 50 --epsilon 0.3 --noise 0 --seed 9
	# The start-up delay is the interval: a scale-up's interval runs on
	# the replicas before it, a scale-down's on the new count.
	run awk -F, 'NR > 1 {
		split("10 40 70 26", req, " ")
		rate = req[$1 % 4 + 1] / 60
		ready = $5 > $2 ? $2 : $5
		want = int(283 + 217 * (rate / ready) / 0.353 + 0.5)
		if (want != $6) { print "epoch " $1 ": " $6 " != " want; bad = 1 }
		if ($7 != int(rate * 30 + 0.5)) { print "epoch " $1 ": requests " $7; bad = 1 }
	} END { exit bad }' h.csv
	assert_success
	cp table.csv before.csv
	qs-sim train --trace trace.csv --table table.csv --history h.csv \
	    --epochs 10 --epsilon 0.3 --noise 0 --seed 10
	assert_equal "$(wc -l < h.csv)" 61
	assert_equal "$(tail -1 h.csv | cut -d, -f1)" 59
	run cmp -s before.csv table.csv
	assert_failure
}

@test "train creates a table with the given replicas and buckets, and the cost reward" {
	tiny_trace
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv \
	    --min-replicas 2 --max-replicas 4 --latency-width 100 --latency-buckets 2 \
	    --request-width 10 --request-buckets 2 --epochs 20 --reward cost \
	    --history h.csv --noise 0 --seed 1
	assert_success
	assert_equal "$(head -1 t.csv)" \
	    "pod,initial_latency,end_latency,initial_request,end_request,2,3,4,visits"
	assert_equal "$(wc -l < t.csv)" 13
	# Observations above the last buckets are counted in the edge ones.
	assert_equal "$stderr" \
	    "qs-sim: some observations fell outside t.csv's buckets and were counted in the edge buckets"
	# The cost reward: -(0.9 [latency > 500] + 0.09 action/4 + 0.01 [change]).
	run awk -F, 'NR > 1 {
		want = -((($6 > 500) ? 0.9 : 0) + 0.09 * $5 / 4 + (($5 != $2) ? 0.01 : 0))
		d = want - $8
		if (d > 1e-12 || d < -1e-12) { print "epoch " $1 ": " $8 " != " want; bad = 1 }
	} END { exit bad }' h.csv
	assert_success
}

@test "eval static: latencies, violations and cost of a hand-made trace" {
	printf 't,requests\n0,30\n1,60\n2,150\n' > trace.csv
	# --capacity 1: latency = 283 + 217 (rate / replicas); rates 0.5, 1, 2.5.
	run --separate-stderr qs-sim eval --trace trace.csv --policy static:2 \
	    --capacity 1 --noise 0 --substep 60
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(field intervals)" 3
	assert_equal "$(field slo_violations)" 1
	near "$(field violation_rate)" 0.3333333333333333
	assert_equal "$(field replica_intervals)" 6
	assert_equal "$(field scale_actions)" 0
	# 337.25, 391.5, 554.25
	near "$(field latency_mean)" 427.6666666666667
	near "$(field latency_p95)" 554.25
}

@test "eval oracle: the fewest replicas meeting the ideal in each interval" {
	printf 't,requests\n0,30\n1,60\n2,150\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy oracle --capacity 1 --noise 0 \
	    --series s.csv --startup-delay 0
	assert_success
	assert_equal "$(field slo_violations)" 0
	assert_equal "$(field replica_intervals)" 5
	assert_equal "$(field scale_actions)" 1
	near "$(field latency_p95)" 500
	assert_equal "$(head -3 s.csv)" "t,requests,latency,replicas
0,30,391.5,1
1,60,500,1"
	assert_equal "$(sed -n 4p s.csv | cut -d, -f1,2,4)" "2,150,3"
	near "$(sed -n 4p s.csv | cut -d, -f3)" 463.8333333333333
}

@test "eval --peak-replicas rescales the trace so that its peak needs that many" {
	printf 't,requests\n0,7\n1,120\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy oracle --noise 0 --peak-replicas 4 \
	    --series s.csv
	assert_success
	assert_equal "$(sed -n 3p s.csv | cut -d, -f4)" 4
	run qs-sim eval --trace trace.csv --policy oracle --noise 0 --scale 0.5 \
	    --capacity 1 --series s.csv
	assert_equal "$(sed -n 3p s.csv | cut -d, -f2)" 60
}

@test "eval table: greedy on a hand-made table, one interval behind" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	# Requests per 30 s window: 15, 75, 75, 15.  Below 40 the table asks
	# for 1 replica, above it for 3, whatever the latency.
	{
		echo "pod,initial_latency,end_latency,initial_request,end_request,1,2,3"
		for p in 1 2 3; do
			echo "$p,0,500,0,40,1,0,0"
			echo "$p,501,100000,0,40,1,0,0"
			echo "$p,0,500,41,100,0,0,1"
			echo "$p,501,100000,41,100,0,0,1"
		done
	} > table.csv
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --series s.csv --substep 60 --startup-delay 0
	assert_success
	# Replicas 1 (start), 1 (saw 15), 3 (saw 75), 3 (saw 75).
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 1 3 3 "
	assert_equal "$(field replica_intervals)" 8
	assert_equal "$(field scale_actions)" 1
	# Interval 1: 2.5 requests/s on one replica: 283 + 217 * 2.5.
	assert_equal "$(field slo_violations)" 1
	assert_equal "$(sed -n 3p s.csv | cut -d, -f3)" 825.5
}

@test "eval table --learn updates the table in memory only" {
	# 90 requests a minute: 45 per window, 1.5/s; --capacity 1 gives
	# 608.5 ms on 1 replica, 445.75 on 2, 391.5 on 3.
	printf 't,requests\n' > trace.csv
	printf '%s,90\n' 0 1 2 3 4 5 6 >> trace.csv
	qs-init-table --request-width 40 --request-buckets 2 > table.csv
	cp table.csv before.csv
	# The notebook's decisions (ties to the lowest): without learning,
	# the table of zeros always asks for 1 replica.
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv --compat notebook \
	    --capacity 1 --noise 0 --substep 60 --startup-delay 0 --series s.csv
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 1 1 1 1 1 1 "
	assert_equal "$(field slo_violations)" 7
	assert_equal "$(field scale_actions)" 0
	# Learning, with the notebook's rules (alpha 0.1, gamma 0.6), in the
	# states A (1 replica, 501-1000 ms) and B (2 replicas, 0-500 ms):
	# t=2: 1 -> 1 stayed above the ideal, -20: Q(A,1) = -2, so 2.
	# t=3: A -> B by 2 entered the ideal, +20: Q(A,2) = 2; B is all 0: 1.
	# t=4: B -> A by 1 left it, -20: Q(B,1) = 0.1 (-20 + 0.6 x 2); A: 2.
	# t=5: A -> B, +20: Q(A,2) = 3.8; B's best is 2 now (0 > -1.88).
	# t=6: B -> B within the ideal, +10: Q(B,2) = 1; 2 again.
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv --compat notebook \
	    --capacity 1 --noise 0 --substep 60 --startup-delay 0 --series s.csv --learn
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 1 2 1 2 2 2 "
	assert_equal "$(field slo_violations)" 3
	assert_equal "$(field replica_intervals)" 11
	assert_equal "$(field scale_actions)" 3
	near "$(field latency_mean)" 515.5
	cmp table.csv before.csv
	# The cost rules (max replicas 3, the table's) learn otherwise:
	# t=2: Q(A,1) = -0.093, so 2; t=3: Q(A,2) = -0.007, B: 1;
	# t=4: Q(B,1) = -0.094, A: 3, the only 0 left; t=5: in C (3 replicas,
	# 0-500 ms) Q(A,3) = -0.01, C: 1; t=6: A's best is 2 (-0.007).
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv --compat notebook \
	    --capacity 1 --noise 0 --substep 60 --startup-delay 0 --series s.csv --learn --reward cost
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 1 2 1 3 1 2 "
	assert_equal "$(field slo_violations)" 4
	assert_equal "$(field scale_actions)" 5
	near "$(field latency_mean)" 531
	cmp table.csv before.csv
	# --alpha 0 learns nothing: the figures without --learn.
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv --compat notebook \
	    --capacity 1 --noise 0 --substep 60 --startup-delay 0 --learn --alpha 0
	assert_success
	assert_equal "$(field slo_violations)" 7
	assert_equal "$(field scale_actions)" 0
}

@test "eval table warns, as train does, about observations outside the table" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	# 75 requests a window: beyond the default table's 54.
	qs-init-table > table.csv
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv \
	    --capacity 1 --noise 0
	assert_success
	assert_equal "$(field intervals)" 4
	assert_equal "$stderr" "qs-sim: some observations fell outside table.csv's buckets and were counted in the edge buckets"
	# Within the buckets, no warning.
	qs-init-table --request-width 40 --request-buckets 2 > wide.csv
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:wide.csv \
	    --capacity 1 --noise 0
	assert_success
	assert_equal "$stderr" ""
}

@test "hpa: within the tolerance nothing changes; above it, ceil(current x ratio)" {
	# 1.05 requests/s on 1 replica with target 1: |1 - 1.05| <= 0.1.
	printf 't,requests\n0,63\n1,63\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0
	assert_success
	assert_equal "$(field replica_intervals)" 2
	assert_equal "$(field scale_actions)" 0
	# 1.2/s: ceil(1 x 1.2) = 2 at the first reconciliation.
	printf 't,requests\n0,72\n1,72\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0
	assert_equal "$(field replica_intervals)" 4
	assert_equal "$(field scale_actions)" 1
	# --hpa-tolerance 0.25 keeps 1 replica.
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --hpa-tolerance 0.25
	assert_equal "$(field replica_intervals)" 2
}

@test "hpa: scale-up is limited to max(+100 %, +4 pods) per 15 s, and by --max-replicas" {
	# 20/s on 1 replica, target 1: desired 20 at every reconciliation.
	# t=0: min(20, max(1+4, 2)) = 5; t=15: max(5+4, 10) = 10; t=30: 20.
	printf 't,requests\n0,1200\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --series s.csv
	assert_success
	# (5 + 10 + 20 + 20) / 4
	assert_equal "$(field replica_intervals)" 13.75
	assert_equal "$(field scale_actions)" 3
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --max-replicas 12
	# (5 + 10 + 12 + 12) / 4
	assert_equal "$(field replica_intervals)" 9.75
}

@test "hpa: a 30 s metric window, and scale-down only after the 300 s stabilization window" {
	# 1/s, then 5/s for three intervals, then 1/s; target 1 per replica.
	printf 't,requests\n0,60\n1,60\n2,300\n3,300\n4,300\n' > trace.csv
	for i in 5 6 7 8 9 10 11; do echo "$i,60"; done >> trace.csv
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --series s.csv
	assert_success
	# t=135: window 105-135 averages 3/s: ceil(3 x 1) = 3.  t=150: 5/s on
	# 3: ceil(5/3 x 3) = 5.  t=315: ratio 0.6 asks for 3, t=330 on for 1,
	# but the window keeps the highest recommendation of the last 300 s:
	# 5 (of t=300) until t=585, 3 (of t=315) at t=600, then 1.
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" \
	    "replicas 1 1 3.5 5 5 5 5 5 5 5 1.5 1 "
	assert_equal "$(field replica_intervals)" 43
	assert_equal "$(field scale_actions)" 4
	# --hpa-window 0 scales down at once: 3 at t=315, 1 at t=330.
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --hpa-window 0 --series s.csv
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" \
	    "replicas 1 1 3.5 5 5 2.5 1 1 1 1 1 1 "
	assert_equal "$(field scale_actions)" 4
}

@test "the same seed gives the same figures; noise changes them" {
	printf 't,requests\n0,30\n1,60\n2,150\n' > trace.csv
	a=$(qs-sim eval --trace trace.csv --policy static:2 --seed 3)
	b=$(qs-sim eval --trace trace.csv --policy static:2 --seed 3)
	c=$(qs-sim eval --trace trace.csv --policy static:2 --seed 4 --noise 0)
	assert_equal "$a" "$b"
	[ "$a" != "$c" ]
}

@test "usage errors exit 64 with one line on stderr" {
	tiny_trace
	run --separate-stderr qs-sim
	assert_failure 64
	run --separate-stderr qs-sim frobnicate
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: unknown command frobnicate"
	run --separate-stderr qs-sim train --trace trace.csv
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: --table is required"
	run --separate-stderr qs-sim train --table t.csv
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: --trace or --observations is required"
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epsilon 2
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid --epsilon: 2 (a number from 0 to 1)"
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --reward best
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid --reward: best (notebook or cost)"
	run --separate-stderr qs-sim eval --trace trace.csv --policy random
	assert_failure 64
	assert_equal "${stderr_lines[0]}" \
	    "qs-sim: invalid --policy: random (table:FILE, hpa, static:N, oracle or hpa-sweep)"
	run --separate-stderr qs-sim eval --trace trace.csv --policy hpa --scale 2 \
	    --peak-replicas 3
	assert_failure 64
	assert_equal "${stderr_lines[0]}" "qs-sim: --peak-replicas and --scale exclude each other"
	run --separate-stderr qs-sim eval --trace trace.csv --policy hpa --learn
	assert_failure 64
	run --separate-stderr qs-sim eval --trace trace.csv --policy hpa --bogus
	assert_failure 64
	assert [ ! -e t.csv ]
}

@test "a missing trace exits 66, a malformed one 65, and nothing is written" {
	run --separate-stderr qs-sim train --trace nope.csv --table t.csv
	assert_failure 66
	assert_equal "$stderr" "qs-sim: cannot open nope.csv: No such file or directory"
	assert [ ! -e t.csv ]
	printf 't,requests\n0,5\n1,many\n' > bad.csv
	run --separate-stderr qs-sim eval --trace bad.csv --policy oracle
	assert_failure 65
	assert_output ""
	[[ "$stderr" == "qs-sim: invalid trace bad.csv: line 3"* ]]
	printf 't,requests\n' > empty.csv
	run --separate-stderr qs-sim train --trace empty.csv --table t.csv
	assert_failure 65
	assert_equal "$stderr" "qs-sim: invalid trace empty.csv: no rows"
	assert [ ! -e t.csv ]
	run --separate-stderr qs-sim eval --trace nope.csv --policy table:nope-table.csv
	assert_failure 66
}

@test "a bad table exits 65 and is left alone; a locked one 75" {
	tiny_trace
	echo "pod,x" > t.csv
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epochs 3
	assert_failure 65
	assert_equal "$(cat t.csv)" "pod,x"
	qs-init-table > t.csv
	d=$(digest t.csv)
	exec 9> t.csv.lock
	flock 9
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv --epochs 3
	exec 9>&-
	assert_failure 75
	assert_equal "$stderr" "qs-sim: t.csv is locked by another process"
	assert_equal "$(digest t.csv)" "$d"
}

@test "train and eval --help; --version" {
	run --separate-stderr qs-sim train --help
	assert_success
	assert_line -n 0 "usage: qs-sim train [--alpha a] [--base-latency ms]"
	run --separate-stderr qs-sim eval --help
	assert_success
	assert_line -n 0 "usage: qs-sim eval [--alpha a] [--base-latency ms]"
	run qs-sim --version
	assert_success
	assert_output --regexp '^qs-sim \(qscale\) '
	run qs-sim eval --trace /dev/null --policy hpa --version
	assert_success
}

@test "the man page's examples run" {
	awk 'BEGIN { print "t,requests"; for (i = 0; i < 300; i++) printf "%d,%d\n", i, 40 + 30 * sin(i / 20) }' > trace.csv
	qs-sim train --trace trace.csv --table table.csv --peak-replicas 10 \
	    --max-replicas 12 --request-width 4 --request-buckets 30 \
	    --latency-buckets 2 --reward cost --cost-weights 0.9,0.7,0.05 \
	    --alpha 0.01 --period 15 --epochs 1000000 --seed 1
	run --separate-stderr qs-sim eval --trace trace.csv --peak-replicas 10 \
	    --policy table:table.csv --period 15 --max-replicas 12
	assert_success
	assert_equal "$(field intervals)" 300
	# The trained table scales, and its rate is its violations' share.
	(( $(field scale_actions) > 0 ))
	assert_equal "$(field substeps)" 1200
	near "$(field violation_rate)" "$(field slo_violations | awk '{ printf "%.17g", $1 / 1200 }')"
	tviol=$(field slo_violations) trep=$(field replica_intervals)
	run --separate-stderr qs-sim eval --trace trace.csv --peak-replicas 10 \
	    --policy hpa --hpa-target 0.28 --max-replicas 12
	assert_success
	assert_equal "$stderr" "qs-sim: --peak-replicas 10: requests scaled by 3.069565217391304"
	assert_equal "$(field scale)" 3.069565217391304
	assert_equal "$(field intervals)" 300
	hviol=$(field slo_violations) hrep=$(field replica_intervals)
	run --separate-stderr qs-sim eval --trace trace.csv --peak-replicas 10 \
	    --policy oracle --max-replicas 12
	assert_success
	assert_equal "$(field intervals)" 300
	# The lead-time oracle has the fewest violations (those left are the
	# peaks that 12 replicas cannot meet through the noise).
	(( $(field slo_violations) <= hviol && $(field slo_violations) <= tviol ))
	: "$trep" "$hrep"
	qs-sim train --trace trace.csv --table t.csv --history h.csv --epochs 500
	assert_equal "$(wc -l < h.csv)" 501
	run --separate-stderr qs-sim eval --trace trace.csv --policy static:3 \
	    --series run.csv
	assert_success
	assert_equal "$(field replica_intervals)" 900
	assert_equal "$(field scale_actions)" 0
	assert_equal "$(wc -l < run.csv)" 301
	qs-plot -o run.png series run.csv
	assert_equal "$(od -An -c -N4 run.png | tr -d ' ')" '211PNG'
}

@test "eval table --period: decisions within an interval, on the last window" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	{
		echo "pod,initial_latency,end_latency,initial_request,end_request,1,2,3"
		for p in 1 2 3; do
			echo "$p,0,100000,0,40,1,0,0"
			echo "$p,0,100000,41,100,0,0,1"
		done
	} > table.csv
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --period 30 --series s.csv --substep 60 --startup-delay 0
	assert_success
	# t=90 sees 75 requests in 60-90 and sets 3; t=210 sees 15 and sets 1.
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 2 3 2 "
	assert_equal "$(field scale_actions)" 2
	assert_equal "$(field slo_violations)" 1
}

@test "train --period: several epochs per trace interval" {
	tiny_trace
	# No start-up delay: no transition is dropped as not ready.
	qs-sim train --trace trace.csv --table t.csv --history h.csv --period 15 \
	    --epochs 16 --noise 0 --seed 2 --startup-delay 0
	# Four epochs per interval, each ending 15 s later: the requests of
	# the 30 s before its end.  The first window, -15 to 15 s, takes half
	# its requests from the last interval (26/4 + 10/4 = 9); 60-90 s from
	# the second only (20); 105-135 s, 10 + 17.5 = 27.5, rounds to 28.
	assert_equal "$(cut -d, -f7 h.csv | tr '\n' ' ')" \
	    "new_requests 9 5 5 5 13 20 20 20 28 35 35 35 24 13 13 13 "
}

@test "a long training run appends its history in batches under one header" {
	tiny_trace
	qs-sim train --trace trace.csv --table t.csv --history h.csv --epochs 20000 \
	    --seed 4
	assert_equal "$(wc -l < h.csv)" 20001
	assert_equal "$(grep -c '^epoch,' h.csv)" 1
	assert_equal "$(tail -1 h.csv | cut -d, -f1)" 19999
}

@test "a write error on standard output exits 74" {
	tiny_trace
	bash -c 'qs-sim eval --trace trace.csv --policy oracle > /dev/full' || rc=$?
	assert_equal "${rc:-0}" 74
}

@test "train shows progress on stderr only when it is a terminal" {
	command -v script > /dev/null || skip "script(1) is not installed"
	tiny_trace
	run script -qec "qs-sim train --trace trace.csv --table t.csv --epochs 2100000 --noise 0 --seed 1" /dev/null
	assert_success
	assert_output --partial "qs-sim: train: 1048576/2100000 epochs"
	assert_output --partial "qs-sim: train: 2097152/2100000 epochs"
	run --separate-stderr qs-sim train --trace trace.csv --table t2.csv \
	    --epochs 2100000 --noise 0 --seed 1
	assert_success
	assert_equal "$stderr" ""
}

@test "README: train a table on a trace, judge it against HPA" {
	cd "$TOP"
	run bash -c "qs-sim train --trace data/traces/nasa_http_1995_jul01-14_1m.csv \
	    --peak-replicas 10 --max-replicas 12 --table '$T/nasa.csv' --epochs 1000000 \
	    --seed 1"
	assert_success
	run --separate-stderr qs-sim eval \
	    --trace data/traces/nasa_http_1995_jul01-14_1m.csv \
	    --peak-replicas 10 --max-replicas 12 --policy "table:$T/nasa.csv" --merit
	assert_success
	assert_output --regexp '^\{"intervals": ?20160,'
	# What the README says of it: 20.0 % violations, 7.5 % more
	# replica-minutes than a tuned HPA with as many, 3.1 % fewer than the
	# lead-time oracle.
	assert_equal "$(jq -r '[.violation_rate, .merit_hpa, .merit_oracle] | map(. * 1000 | round) | @csv' <<<"$output")" 200,75,-31
	# The factor on the requests; the table's default buckets end below
	# the trace's peak, as train says.
	assert_equal "$stderr" "qs-sim: --peak-replicas 10: requests scaled by 0.5229629629629629
qs-sim: some observations fell outside $T/nasa.csv's buckets and were counted in the edge buckets"
	assert_equal "$(field scale)" 0.5229629629629629
	tviol=$(field slo_violations)
	run --separate-stderr qs-sim eval \
	    --trace data/traces/nasa_http_1995_jul01-14_1m.csv \
	    --peak-replicas 10 --max-replicas 12 --policy hpa --hpa-target 0.28 --merit
	assert_success
	assert_equal "$stderr" "qs-sim: --peak-replicas 10: requests scaled by 0.5229629629629629"
	assert_equal "$(field intervals)" 20160
	# HPA 0.28: 2.3 % violations, on the frontier (its merit about 0).
	assert_equal "$(jq -r '[.violation_rate, .merit_hpa] | map(. * 1000 | round) | @csv' <<<"$output")" 23,0
	(( tviol > $(field slo_violations) ))
	(( $(field scale_actions) > 0 ))
}

@test "serve refuses a deployment or namespace that is not DNS-1123 with 64" {
	# A missing trace, checked after the names, keeps a broken check from serving.
	for name in -lapp --all -v9 -- . .. Web a/b; do
		run --separate-stderr qs-sim serve --listen 127.0.0.1:0 --trace none.csv --deployment "$name"
		assert_failure 64
		assert_output ""
		assert_equal "$stderr" "qs-sim: invalid --deployment: \"$name\" is not a deployment name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)"
		QS_NAMESPACE=$name run --separate-stderr qs-sim serve --listen 127.0.0.1:0 --trace none.csv
		assert_failure 64
		assert_equal "$stderr" "qs-sim: invalid QS_NAMESPACE: \"$name\" is not a namespace (a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters)"
	done
	QS_DEPLOYMENT=-lapp run --separate-stderr qs-sim serve --listen 127.0.0.1:0 --trace none.csv
	assert_failure 64
	[[ $stderr == 'qs-sim: invalid QS_DEPLOYMENT: "-lapp" is not a deployment name'* ]]
	run --separate-stderr qs-sim serve --listen 127.0.0.1:0 --trace none.csv --namespace web.prod
	assert_failure 64
}

# Issue 14: the model integrated over sub-steps, the start-up delay, the
# queueing latency, the lead-time oracle, impossible settings, the HPA
# frontier and the figure of merit.

# A table that asks for 1 replica below 41 requests a window, 3 above.
step_table() {
	{
		echo "pod,initial_latency,end_latency,initial_request,end_request,1,2,3"
		for p in 1 2 3; do
			echo "$p,0,500,0,40,1,0,0"
			echo "$p,501,100000,0,40,1,0,0"
			echo "$p,0,500,41,100,0,0,1"
			echo "$p,501,100000,41,100,0,0,1"
		done
	} > table.csv
}

@test "eval: 15-s sub-steps count a 30-s start-up delay as 30 s, 60-s ones as 60" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	step_table
	# The table sets 3 at t=120 (it saw 75 requests); ready at t=150.
	# Interval 2 at 2.5/s: 825.5 ms on 1 replica, 463.83 on 3.  In 60-s
	# sub-steps the whole interval is on 1 replica: 2 violations in 4.
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --startup-delay 30 --substep 60 --series s.csv
	assert_success
	assert_equal "$(field substeps)" 4
	assert_equal "$(field slo_violations)" 2
	assert_equal "$(sed -n 4p s.csv)" "2,150,825.5,3"
	# In 15-s sub-steps, 120-150 s violates and 150-180 s does not: 4 of
	# interval 1 and 2 of interval 2, 6 in 16.
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --startup-delay 30 --series s.csv
	assert_success
	assert_equal "$(field substeps)" 16
	assert_equal "$(field slo_violations)" 6
	near "$(field violation_rate)" 0.375
	near "$(sed -n 4p s.csv | cut -d, -f3)" 644.6666666666667
	assert_equal "$(field replica_minutes)" 8
}

@test "eval oracle: the lead-time oracle starts pods a start-up delay ahead" {
	printf 't,requests\n0,30\n1,60\n2,150\n' > trace.csv
	# Needs 1, 1, 3 replicas; with the default 60 s delay the third pod
	# starts at t=60 to be ready at t=120: 1 + 3 + 3 replica-minutes.
	run qs-sim eval --trace trace.csv --policy oracle --capacity 1 --noise 0 \
	    --series s.csv
	assert_success
	assert_equal "$(field slo_violations)" 0
	assert_equal "$(field replica_minutes)" 7
	assert_equal "$(field scale_actions)" 1
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 3 3 "
	# 120 s ahead, from the start.
	run qs-sim eval --trace trace.csv --policy oracle --capacity 1 --noise 0 \
	    --startup-delay 120
	assert_equal "$(field replica_minutes)" 9
	assert_equal "$(field slo_violations)" 0
}

@test "eval oracle: at most 0.5 % violations on both team traces with a start-up delay" {
	for trace in "$TOP"/data/traces/*.csv; do
		for d in 60 120; do
			run --separate-stderr qs-sim eval --trace "$trace" \
			    --peak-replicas 10 --policy oracle --startup-delay "$d"
			assert_success
			(( $(field slo_violations) * 200 <= $(field substeps) ))
			(( $(field substeps) == 4 * $(field intervals) ))
		done
	done
}

@test "eval --latency-model queue: steep near capacity, and the backlog carries over" {
	# --base-latency 250, --capacity 1: the service rate is 2/s and the
	# latency 250 / (1 - rate / 2), 500 at capacity as the linear model.
	printf 't,requests\n0,30\n1,108\n2,150\n3,60\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy static:1 --capacity 1 \
	    --base-latency 250 --noise 0 --latency-model queue --series s.csv
	assert_success
	# 0.5/s: 333.3 ms; 1.8/s: 2500 (linear: 700).  2.5/s is above the
	# service rate: the cap, and 0.5 requests/s pile up, 30 in the
	# minute.  At 1/s they drain at 1/s, 15 a sub-step: mean backlogs
	# 22.5, 7.5, 0, 0 add 1000 x backlog / 2 ms to 500: 11750, 4250,
	# 500, 500, whose mean is 4250.
	near "$(sed -n 2p s.csv | cut -d, -f3)" 333.3333333333333
	near "$(sed -n 3p s.csv | cut -d, -f3)" 2500.0000000000005
	assert_equal "$(sed -n 4p s.csv | cut -d, -f3)" 30000
	assert_equal "$(sed -n 5p s.csv | cut -d, -f3)" 4250
	# 0 + 4 + 4 + 2 sub-steps above the ideal.
	assert_equal "$(field slo_violations)" 10
	run qs-sim eval --trace trace.csv --policy static:1 --capacity 1 \
	    --base-latency 250 --noise 0 --series s.csv
	assert_success
	assert_equal "$(cut -d, -f3 s.csv | tr '\n' ' ')" "latency 375 700 875 500 "
	assert_equal "$(field slo_violations)" 8
	run --separate-stderr qs-sim eval --trace trace.csv --policy hpa \
	    --latency-model mm1
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid --latency-model: mm1 (linear or queue)"
}

@test "settings that cannot be met exit 64 at once, and nothing is written" {
	tiny_trace
	run --separate-stderr timeout 10 qs-sim eval --trace trace.csv --policy oracle \
	    --ideal-latency 250
	assert_failure 64
	assert_output ""
	assert_equal "$stderr" "qs-sim: --ideal-latency 250 cannot be met: it is not above the base latency 283 (--base-latency)"
	run --separate-stderr timeout 10 qs-sim eval --trace trace.csv --policy oracle \
	    --base-latency 500 --merit
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --ideal-latency 500 cannot be met: it is not above the base latency 500 (--base-latency)"
	run --separate-stderr timeout 10 qs-sim eval --trace trace.csv --policy oracle \
	    --ideal-latency 40000
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --ideal-latency 40000 cannot be met: it is above the latency cap 30000"
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --ideal-latency 250 --peak-replicas 3
	assert_failure 64
	assert [ ! -e t.csv ]
	# A run that would take minutes is refused before it starts.
	awk 'BEGIN { print "t,requests"; for (i = 0; i < 20000; i++) print i ",60" }' > long.csv
	run --separate-stderr timeout 10 qs-sim eval --trace long.csv --policy hpa \
	    --hpa-sync 0.001
	assert_failure 64
	assert_equal "$stderr" "qs-sim: 1200000000 steps are too many (at most 100000000): choose a longer --substep or policy period"
	run --separate-stderr timeout 10 qs-sim eval --trace trace.csv --policy hpa-sweep \
	    --series s.csv
	assert_failure 64
	assert [ ! -e s.csv ]
}

@test "eval hpa-sweep: the frontier, and --merit's figure of merit, on a hand-made trace" {
	# 1.2/s with --capacity 1: 543.4 ms on 1 replica (a violation), 413.2
	# on 2.  Every target below 1.2 (1.1 with tolerance 0.1) sets 2 or
	# more at t=0; the others keep 1.
	printf 't,requests\n0,72\n1,72\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy hpa-sweep --capacity 1 --noise 0 \
	    --startup-delay 0
	assert_success
	assert_equal "${#lines[@]}" 90
	# Targets 0.5 and 0.55 set 3 replicas: never on the frontier.
	assert_equal "$(jq -c 'select(.hpa_target < 0.59) | .replica_minutes' <<<"$output" | sort -u)" 6
	assert_equal "$(jq -c 'select(.frontier) | [.hpa_target, .hpa_window, .hpa_tolerance, .violation_rate, .replica_minutes]' <<<"$output")" \
	    "[0.6,0,0,0,4]
[1.1,0,0.1,1,2]"
	# On the frontier: merit 0.  Against the oracle (2 replicas), half.
	run qs-sim eval --trace trace.csv --policy static:1 --capacity 1 --noise 0 \
	    --startup-delay 0 --merit
	assert_success
	assert_equal "$(jq -c '[.hpa_frontier_replica_minutes, .merit_hpa, .oracle_replica_minutes, .merit_oracle, .scale_actions]' <<<"$output")" "[2,0,4,-0.5,0]"
	# A table that sets 2 at t=60: half the sub-steps violate, 3
	# replica-minutes; the frontier, linear between (0, 4) and (1, 2),
	# is 3 there.
	{
		echo "pod,initial_latency,end_latency,initial_request,end_request,1,2"
		echo "1,0,100000,0,100,0,1"
		echo "2,0,100000,0,100,0,1"
	} > two.csv
	run qs-sim eval --trace trace.csv --policy table:two.csv --capacity 1 \
	    --noise 0 --startup-delay 0 --merit
	assert_success
	assert_equal "$(jq -c '[.violation_rate, .replica_minutes, .hpa_frontier_replica_minutes, .merit_hpa, .merit_oracle, .scale_actions]' <<<"$output")" "[0.5,3,3,0,-0.25,1]"
	# With the default 60 s start-up delay every HPA misses the first
	# minute, the frontier runs from (0.5, 4) to (1, 2), and static:2,
	# ready from the start, has fewer violations than any tuned HPA: no
	# figure against them, 0 against the oracle.
	run qs-sim eval --trace trace.csv --policy static:2 --capacity 1 --noise 0 --merit
	assert_success
	assert_equal "$(jq -c '[.violation_rate, .hpa_frontier_replica_minutes, .merit_hpa, .merit_oracle]' <<<"$output")" "[0,null,null,0]"
}

@test "eval --merit: the target-tuned frontier, HPA's other knobs at their defaults" {
	# 1.2/s for a minute, then 0.2/s: every target from 0.6 to 1.05 sets
	# 2 replicas at t=0; with the default 300-s scale-down window it holds
	# them to the end (13 replica-minutes), with a window of 0 it drops
	# to 1 within a minute (8.25, target 0.7).
	printf 't,requests\n0,72\n1,12\n2,12\n3,12\n4,12\n5,12\n6,12\n' > trace.csv
	run qs-sim eval --trace trace.csv --policy static:2 --capacity 1 --noise 0 \
	    --startup-delay 0 --merit
	assert_success
	assert_equal "$(jq -c '[.violation_rate, .replica_minutes, .hpa_frontier_replica_minutes, .hpa_target_frontier_replica_minutes]' <<<"$output")" "[0,14,8.25,13]"
	assert_equal "$(jq -r '[.merit_hpa, .merit_hpa_target] | map(. * 1000 | round) | @csv' <<<"$output")" 697,77
	# The default HPA is on the target-tuned frontier, not on the other.
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --capacity 1 \
	    --noise 0 --startup-delay 0 --merit
	assert_success
	assert_equal "$(jq -r '[.merit_hpa, .merit_hpa_target] | map(. * 1000 | round) | @csv' <<<"$output")" 576,0
}

@test "eval --observation-delay: policies see the metrics that many seconds late" {
	# The HPA trace of the 30 s window test: with metrics 60 s late, every
	# decision comes one interval later.
	printf 't,requests\n0,60\n1,60\n2,300\n3,300\n4,300\n' > trace.csv
	for i in 5 6 7 8 9 10 11; do echo "$i,60"; done >> trace.csv
	run qs-sim eval --trace trace.csv --policy hpa --hpa-target 1 --noise 0 \
	    --substep 60 --startup-delay 0 --observation-delay 60 --series s.csv
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" \
	    "replicas 1 1 1 3.5 5 5 5 5 5 5 5 1.5 "
	# The table at t=120 sees the window of t=60 (15 requests) and keeps
	# 1; at t=180 it sees 75 and sets 3.
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	step_table
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --substep 60 --startup-delay 0 --observation-delay 60 \
	    --series s.csv
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 1 1 1 3 "
	assert_equal "$(field slo_violations)" 2
}

@test "train and eval decide by qs-decide's rules: explore near, never down above the ideal, hold when unlearned" {
	tiny_trace
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --max-replicas 8 --history h.csv --epochs 400 --epsilon 1 --noise 0 --seed 3
	assert_success
	# Explorations (epsilon decaying with the visits) stay within one
	# replica, never down above 500 ms.
	run awk -F, 'NR > 1 && $10 == "True" {
		d = $5 - $2
		if (d > 1 || d < -1 || ($3 > 500 && d < 0)) { print "epoch " $1 ": " $2 " at " $3 " ms -> " $5; bad = 1 }
		if (d < 0) down = 1
		if (d > 0) up = 1
	} END { if (!down || !up) { print "no move both ways"; bad = 1 } exit bad }' h.csv
	assert_success
	# The visits count the 400 updates.
	assert_equal "$(awk -F, 'NR > 1 { n += $NF } END { print n }' table.csv)" 400
	# eval on a fresh table holds the starting replicas; the notebook's
	# ties go to the lowest.
	qs-init-table --request-width 40 --request-buckets 2 > fresh.csv
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:fresh.csv \
	    --replicas 3 --noise 0 --series s.csv
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 3 3 3 3 "
	assert_equal "$(field scale_actions)" 0
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:fresh.csv \
	    --replicas 3 --noise 0 --series s.csv --compat notebook
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 3 1 1 1 "
	# --unlearned hpa: ceil(requests / 30 s / 0.2) of the interval before,
	# 5, 20 and 35 requests: 1, 4, 6.  The floor at twice that: 3 held,
	# 8, 12 clamped to 8.
	qs-init-table --max-replicas 8 --request-width 40 --request-buckets 2 > f8.csv
	run qs-sim eval --trace trace.csv --policy table:f8.csv --replicas 3 \
	    --noise 0 --series s.csv --unlearned hpa --hpa-target 0.2
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 3 1 4 6 "
	run qs-sim eval --trace trace.csv --policy table:f8.csv --replicas 3 \
	    --noise 0 --series s.csv --floor-margin 2 --hpa-target 0.2
	assert_success
	assert_equal "$(cut -d, -f4 s.csv | tr '\n' ' ')" "replicas 3 3 8 8 "
	run qs-sim eval --trace trace.csv --policy table:fresh.csv --compat nope
	assert_failure 64
	assert_output "qs-sim: invalid --compat: nope (notebook or none)"
	run qs-sim eval --trace trace.csv --policy table:fresh.csv --unlearned up
	assert_failure 64
	assert_output "qs-sim: invalid --unlearned: up (hold or hpa)"
}

# Columns 2-7 and 12 of history $1 (state, action, the state after, the
# pods ready after it), one row a line.
transitions() {
	cut -d, -f2-7,12 "$1" | sed 1d
}

@test "train: 15-s sub-steps count a 30-s start-up delay as 30 s, 60-s ones as 60, as eval does" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	# The step table sets 1 at t=0 and t=60 (15 requests seen), 3 at
	# t=120 (75), ready at t=150.  Interval 2 at 2.5/s: 825.5 ms on 1
	# replica, 463.83 on 3.
	step_table
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history h.csv --capacity 1 --noise 0 --startup-delay 30 --epsilon 0 \
	    --epochs 4 --seed 1 --substep 60
	assert_success
	assert_equal "$stderr" ""
	# At t=180 the table sees the last 30 s, as qs-observe's window: in
	# one 60-s sub-step, the whole interval on 1 replica.
	assert_equal "$(transitions h.csv | sed -n 3p)" "1,826,75,3,826,75,3"
	step_table
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --startup-delay 30 --substep 60 --series s.csv
	assert_equal "$(sed -n 4p s.csv)" "2,150,825.5,3"
	# 15-s sub-steps: 30 s on 1, then 30 s on 3, which the window sees;
	# the interval's mean is (825.5 + 463.83) / 2.
	step_table
	rm h.csv
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history h.csv --capacity 1 --noise 0 --startup-delay 30 --epsilon 0 \
	    --epochs 4 --seed 1
	assert_success
	assert_equal "$(transitions h.csv | sed -n 3p)" "1,826,75,3,464,75,3"
	step_table
	run qs-sim eval --trace trace.csv --policy table:table.csv --capacity 1 \
	    --noise 0 --startup-delay 30 --series s.csv
	near "$(sed -n 4p s.csv | cut -d, -f3)" 644.6666666666667
	# Metrics 60 s late: every state is seen an interval late, the
	# first one that of the looped trace's interval 2.
	step_table
	rm h.csv
	qs-sim train --trace trace.csv --table table.csv --history h.csv \
	    --capacity 1 --noise 0 --startup-delay 0 --epsilon 0 --epochs 4 \
	    --seed 1 --substep 60 --observation-delay 60
	assert_equal "$(transitions h.csv | tr '\n' ' ')" \
	    "1,826,75,3,392,15,3 3,392,15,1,319,15,1 1,319,15,1,826,75,1 1,826,75,3,826,75,3 "
}

@test "train --latency-model queue: the overload at the cap, and its backlog carried into the next epoch" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	# --base-latency 250, --capacity 1: the service rate is 2/s.  The
	# step table keeps 1 replica through interval 1 (2.5/s: above the
	# service rate, the cap; 0.5/s piles up, 30 requests), then sets 3
	# at once (--startup-delay 0).  On 3 the 30 drain at 3.5/s within
	# the first 15-s sub-step, whose mean backlog of 15 waits 1000 x 15 /
	# 6 ms on top of 250 / (1 - 2.5 / 6) = 428.57: 2928.57, then three
	# sub-steps of 428.57; a 60-s window sees them all: 1053.57.
	step_table
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history h.csv --capacity 1 --base-latency 250 --noise 0 \
	    --startup-delay 0 --epsilon 0 --epochs 4 --seed 1 --latency-model queue \
	    --window 60
	assert_success
	# 150 requests a window are beyond the step table's last bucket.
	assert_equal "$stderr" "qs-sim: some observations fell outside table.csv's buckets and were counted in the edge buckets"
	assert_equal "$(cut -d, -f6 h.csv | tr '\n' ' ')" "new_latency 333 30000 1054 273 "
	# The linear model: 375, 875, 458.33 (no backlog), 291.67.
	step_table
	rm h.csv
	qs-sim train --trace trace.csv --table table.csv --history h.csv \
	    --capacity 1 --base-latency 250 --noise 0 --startup-delay 0 --epsilon 0 \
	    --epochs 4 --seed 1 --window 60
	assert_equal "$(cut -d, -f6 h.csv | tr '\n' ' ')" "new_latency 375 875 458 292 "
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --latency-model mm1
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid --latency-model: mm1 (linear or queue)"
}

@test "train and eval --learn drop the transitions whose pods are not ready, and say how many" {
	printf 't,requests\n0,30\n1,150\n2,150\n3,30\n' > trace.csv
	# Decisions every 15 s; the step table sets 3 at t=75 (45 requests
	# in 45-75 s, their mean latency (7.5 x 391.5 + 37.5 x 825.5) / 45),
	# ready at t=135: the transitions ending at 90, 105 and 120 see 1
	# ready replica and are dropped; the one ending at 135, its latency
	# still that of 1 replica, is learned.  (Each ends a period after its
	# decision: --wait 15, not the start-up delay it defaults to.)
	step_table
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history h.csv --capacity 1 --noise 0 --epsilon 0 --epochs 9 \
	    --seed 1 --period 15 --wait 15
	assert_success
	assert_equal "$stderr" "qs-sim: 3 of 9 transitions dropped: pods not ready"
	assert_equal "$(wc -l < h.csv)" 7
	assert_equal "$(awk -F, 'NR > 1 && $11 != $12' h.csv)" ""
	# The rows are numbered as qs-update numbers what it learns.
	assert_equal "$(tail -1 h.csv | cut -d, -f1)" 5
	assert_equal "$(transitions h.csv | sed -n 5,6p | tr '\n' ' ')" \
	    "1,392,15,1,753,45,1 1,826,75,3,826,75,3 "
	# --startup-delay 0: none.
	step_table
	rm h.csv
	run --separate-stderr qs-sim train --trace trace.csv --table table.csv \
	    --history h.csv --capacity 1 --noise 0 --epsilon 0 --epochs 9 \
	    --seed 1 --period 15 --startup-delay 0
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(wc -l < h.csv)" 10
	assert_equal "$(transitions h.csv | sed -n 6p)" "1,753,45,3,645,75,3"
	# eval --learn by the same rule: decisions at 15 to 225 s, the same
	# with the cost reward, whose updates never overturn the step
	# table's choice; those at 75, 90 and 105 s end before t=135.
	step_table
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv \
	    --capacity 1 --noise 0 --period 15 --learn --reward cost
	assert_success
	assert_equal "$stderr" "qs-sim: 3 of 14 transitions dropped: pods not ready"
	assert_equal "$(field scale_actions)" 2
	run --separate-stderr qs-sim eval --trace trace.csv --policy table:table.csv \
	    --capacity 1 --noise 0 --period 15 --learn --reward cost --startup-delay 0
	assert_success
	assert_equal "$stderr" ""
}

@test "--peak-replicas prints its factor, train and eval alike, and refuses a trace with no requests" {
	tiny_trace
	# The peak, 70 requests a minute, needs 3 replicas at 0.353/s each
	# when scaled by about 3 x 0.353 x 60 / 70.
	run --separate-stderr qs-sim train --trace trace.csv --table t.csv \
	    --peak-replicas 3 --epochs 10 --seed 1 --startup-delay 0
	assert_success
	assert_output ""
	assert_equal "$stderr" "qs-sim: --peak-replicas 3: requests scaled by 0.9077142857142857"
	run --separate-stderr qs-sim eval --trace trace.csv --policy static:3 \
	    --peak-replicas 3
	assert_success
	assert_equal "$stderr" "qs-sim: --peak-replicas 3: requests scaled by 0.9077142857142857"
	assert_equal "$(field scale)" 0.9077142857142857
	# The same figures with the factor as --scale.
	want=$output
	run --separate-stderr qs-sim eval --trace trace.csv --policy static:3 \
	    --scale 0.9077142857142857
	assert_equal "$stderr" ""
	assert_equal "$output" "$want"
	printf 't,requests\n0,0\n1,0\n' > zero.csv
	run --separate-stderr qs-sim train --trace zero.csv --table z.csv \
	    --peak-replicas 3
	assert_failure 65
	assert_equal "$stderr" "qs-sim: --peak-replicas 3: cannot rescale zero.csv: its peak is 0"
	[ ! -e z.csv ] && [ ! -e z.csv.lock ]
	run --separate-stderr qs-sim eval --trace zero.csv --policy hpa \
	    --peak-replicas 3
	assert_failure 65
	assert_output ""
}

@test "train refuses settings that cannot be met, or not soon, at once, and writes nothing" {
	tiny_trace
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --base-latency 600
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --ideal-latency 500 cannot be met: it is not above the base latency 600 (--base-latency)"
	# An epoch of ten billion steps.
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --period 10000000 --substep 0.001
	assert_failure 64
	assert_equal "$stderr" "qs-sim: an epoch of 10000000 s, an --observation-delay of 0 s and a --window of 30 s span 10000000000 steps of 0.001 s, too many (at most 1000000): choose a longer --substep, or a shorter --period, --observation-delay or --window"
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --observation-delay 10000000 --substep 1
	assert_failure 64
	[[ $stderr == "qs-sim: an epoch of 60 s, an --observation-delay of 10000000 s and a --window of 30 s span 10000032 steps of 1 s, too many"* ]]
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --window 3000 --interval 1 --substep 0.001
	assert_failure 64
	[[ $stderr == "qs-sim: an epoch of 1 s, an --observation-delay of 0 s and a --window of 3000 s span 3000002 steps of 0.001 s, too many"* ]]
	# A window of ten billion trace rows, each observation summing them.
	run --separate-stderr timeout 10 qs-sim train --trace trace.csv --table t.csv \
	    --window 10000000 --interval 0.001
	assert_failure 64
	assert_equal "$stderr" "qs-sim: --window 10000000 spans 10000000000 trace intervals, too many (at most 10000): choose a shorter --window or a longer --interval"
	run --separate-stderr timeout 10 qs-sim eval --trace trace.csv --policy hpa \
	    --window 10000000 --interval 0.001
	assert_failure 64
	assert_output ""
	[ ! -e t.csv ] && [ ! -e t.csv.lock ]
}
