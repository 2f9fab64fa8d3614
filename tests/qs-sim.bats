#!/usr/bin/env bats
# qs-sim serve: the cluster stand-in, checked with curl, promtool and the
# real kubectl.

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
	assert_line --index 0 "usage: qs-sim command [options]"
	assert_output --partial "serve   stand in for a cluster"
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
	assert_line --index 0 "usage: qs-sim command [options]"
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
	run qs-sim serve --tick 0
	assert_failure 64
	assert_output "qs-sim: invalid --tick: 0 (a number from 0.001 to 86400)"
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
	# Three requests per second in all, shared by the two pods.
	awk -v v="$v" 'BEGIN { exit !(v > 2.9 && v < 3.1) }'
	run bash -c "curl -fsS '$q' --data-urlencode 'query=count(http_server_requests_total)' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"data\"][\"result\"][0][\"value\"][1])'"
	assert_success
	assert_output 2
}

@test "qs-sim serve counters only grow, and follow scaling" {
	start_sim --replicas 2 --rate 5
	curl -fsS "$URL/metrics" >"$T/metrics"
	pod=$(curl -fsS "$URL/api/v1/namespaces/default/pods" | json_get items.0.metadata.name)
	a=$(sample http_server_requests_total "$pod")
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":4}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	sleep 0.2
	curl -fsS "$URL/metrics" >"$T/metrics"
	b=$(sample http_server_requests_total "$pod")
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 4 ]
	awk -v a="$a" -v b="$b" 'BEGIN { exit !(b > a) }'
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":1}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	curl -fsS "$URL/metrics" >"$T/metrics"
	c=$(sample http_server_requests_total "$pod")
	[ "$(grep -c '^http_server_requests_total{' "$T/metrics")" = 1 ]
	awk -v b="$b" -v c="$c" 'BEGIN { exit !(c >= b) }'
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

@test "qs-sim serve readies new replicas after a short --startup-delay" {
	start_sim --replicas 1 --startup-delay 0.2
	curl -fsS -X PATCH -H 'Content-Type: application/merge-patch+json' \
	    -d '{"spec":{"replicas":2}}' \
	    "$URL/apis/apps/v1/namespaces/default/deployments/web/scale" >/dev/null
	for _ in $(seq 100); do
		[ "$(sim_state ready)" = 2 ] && break
		sleep 0.05
	done
	[ "$(sim_state ready)" = 2 ]
}

@test "qs-sim serve replays a trace, one row per --tick" {
	start_sim --trace "$DATA/trace-step.csv" --tick 0.2 --noise 0
	# Row 0 has 60 requests per 60 s interval, the rows after it 120.
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

@test "qs-sim serve latency follows the notebook's calibration" {
	# The notebook saw 1022 ms for one pod and 36 requests in 30 s.
	start_sim --replicas 1 --rate 1.2 --noise 0
	run sim_state latency
	assert_output --regexp '^1020\.[0-9]+$'
	sleep 0.1
	curl -fsS "$URL/metrics" >"$T/metrics"
	pod=$(curl -fsS "$URL/api/v1/namespaces/default/pods" | json_get items.0.metadata.name)
	sum=$(sample http_server_request_duration_seconds_sum "$pod")
	count=$(sample http_server_request_duration_seconds_count "$pod")
	awk -v s="$sum" -v c="$count" 'BEGIN { l = s / c; exit !(l > 1.0206 && l < 1.0208) }'
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
