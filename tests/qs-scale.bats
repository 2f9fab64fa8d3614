#!/usr/bin/env bats
# qs-scale against qs-sim serve, through the API and the real kubectl.

load helpers
load simserve

local_teardown() {
	stop_sim
}

# What a scale-down says without --recommendations, the default window on.
NOWIN="qs-scale: --down-window 300 has no memory without --recommendations: no window applied"

# Run qs-scale against the simulator through the API with records $1.
scale_api() {
	local in=$1
	shift
	printf '%s\n' "$in" >"$T/in"
	run qs-scale --server "$URL" --deployment web "$@" <"$T/in"
}

@test "qs-scale --help prints the usage on stdout" {
	run qs-scale --help
	assert_success
	assert_line --index 0 --partial "usage: qs-scale [-n] [--backend api|kubectl|auto]"
	assert_output --partial "--max-step n"
}

@test "qs-scale --version prints the version" {
	run qs-scale --version
	assert_success
	assert_output --regexp '^qs-scale \(qscale\) [0-9.]+$'
}

@test "qs-scale rejects bad usage with exit 64" {
	run qs-scale --bogus
	assert_failure 64
	assert_line --partial "usage: qs-scale"
	run qs-scale --server http://127.0.0.1:1
	assert_failure 64
	assert_output "qs-scale: no deployment: use --deployment or QS_DEPLOYMENT"
	run qs-scale --deployment web --min-replicas 3 --max-replicas 2
	assert_failure 64
	assert_output "qs-scale: --max-replicas 2 is below --min-replicas 3"
	run qs-scale --deployment web --backend kubectl --server http://127.0.0.1:1
	assert_failure 64
	assert_output --partial "need the api backend"
	run qs-scale --deployment web --backend helm
	assert_failure 64
	assert_output "qs-scale: invalid --backend: helm (api, kubectl or auto)"
	run qs-scale --deployment web --max-step 0
	assert_failure 64
	run qs-scale --deployment 'web/../x' --server http://127.0.0.1:1 <<<'{"action":1}'
	assert_failure 64
	assert_output "qs-scale: invalid --deployment: \"web/../x\" is not a deployment name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)"
}

@test "qs-scale scales up and adds scaled" {
	start_sim --replicas 1
	scale_api '{"pod":1,"latency":900,"requests":30,"action":3,"random":false}'
	assert_success
	assert_output '{"pod":1,"latency":900,"requests":30,"action":3,"random":false,"applied":3,"scaled":true}'
	[ "$(sim_state replicas)" = 3 ]
	[ "$(sim_state ready)" = 3 ]
}

@test "qs-scale scales down" {
	start_sim --replicas 3
	scale_api '{"action":1}'
	assert_success
	assert_output "$NOWIN"$'\n{"action":1,"applied":1,"scaled":true}'
	[ "$(sim_state replicas)" = 1 ]
}

@test "qs-scale makes no call when the action is the current count" {
	start_sim --replicas 2
	# A PATCH would fail, so success shows that none was made.
	sim_fail 500 1 PATCH
	scale_api '{"action":2}'
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":false}'
	[ "$(sim_state resourceVersion)" = 1 ]
}

@test "qs-scale handles a stream of records; --unbuffered writes each as it is done" {
	start_sim --replicas 1
	scale_api $'{"action":2}\n{"action":2}\n{"action":1}' --unbuffered
	assert_success
	assert_output $'{"action":2,"applied":2,"scaled":true}\n{"action":2,"applied":2,"scaled":false}\n'"$NOWIN"$'\n{"action":1,"applied":1,"scaled":true}'
	[ "$(sim_state replicas)" = 1 ]
}

@test "qs-scale clamps to --min-replicas and --max-replicas" {
	start_sim --replicas 2
	scale_api '{"action":7}' --max-replicas 4
	assert_success
	assert_line --index 0 "qs-scale: action 7 for deployment web lowered to 4 (--max-replicas)"
	assert_line --index 1 '{"action":7,"applied":4,"scaled":true}'
	[ "$(sim_state replicas)" = 4 ]
	scale_api '{"action":0}' --min-replicas 2 --down-window 0
	assert_success
	assert_line --index 0 "qs-scale: action 0 for deployment web raised to 2 (--min-replicas)"
	assert_line --index 1 '{"action":0,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
	# The default floor is one replica.
	scale_api '{"action":0}'
	assert_success
	[ "$(sim_state replicas)" = 1 ]
}

@test "a guard set by QS_MIN_REPLICAS, QS_MAX_REPLICAS or QS_DOWN_WINDOW is named so, in messages and Events" {
	start_sim --replicas 2 --tick 0
	QS_MAX_REPLICAS=4 scale_api '{"action":7}'
	assert_success
	assert_line --index 0 "qs-scale: action 7 for deployment web lowered to 4 (QS_MAX_REPLICAS)"
	QS_MIN_REPLICAS=3 QS_DOWN_WINDOW=0 scale_api '{"action":0}'
	assert_success
	assert_line --index 0 "qs-scale: action 0 for deployment web raised to 3 (QS_MIN_REPLICAS)"
	# The option wins over the variable, and is named.
	QS_MIN_REPLICAS=3 scale_api '{"action":0}' --min-replicas 2 --down-window 0
	assert_line --index 0 "qs-scale: action 0 for deployment web raised to 2 (--min-replicas)"
	QS_DOWN_WINDOW=60 scale_api '{"action":1}'
	assert_line --index 0 "qs-scale: QS_DOWN_WINDOW 60 has no memory without --recommendations: no window applied"
	QS_DOWN_WINDOW=60 scale_api $'{"action":4}\n{"action":2}' --recommendations "$T/recs"
	assert_line "qs-scale: action 2 for deployment web held at 4 (QS_DOWN_WINDOW 60: recommended 4 within it)"
	QS_MAX_REPLICAS=4 scale_api '{"action":7}'
	assert_success
	curl -fsS "$URL/api/v1/namespaces/default/events" >events.json
	run python3 -c 'import json, sys; print("\n".join(e["message"] for e in json.load(open("events.json"))["items"]))'
	assert_line "Held at 4 replicas: action 7, held by QS_MAX_REPLICAS"
	QS_MAX_REPLICAS=2 QS_MIN_REPLICAS=3 scale_api '{"action":1}'
	assert_failure 64
	assert_output "qs-scale: QS_MAX_REPLICAS 2 is below QS_MIN_REPLICAS 3"
	QS_MAX_REPLICAS=2 scale_api '{"action":1}' --min-replicas 3
	assert_failure 64
	assert_output "qs-scale: QS_MAX_REPLICAS 2 is below --min-replicas 3"
}

@test "qs-scale limits one change to --max-step" {
	start_sim --replicas 1
	scale_api '{"action":5}' --max-step 2
	assert_success
	assert_line --index 0 "qs-scale: action 5 for deployment web limited to 3 (--max-step 2 from 1)"
	[ "$(sim_state replicas)" = 3 ]
	scale_api '{"action":1}' --max-step 1 --down-window 0
	assert_success
	assert_line --index 0 "qs-scale: action 1 for deployment web limited to 2 (--max-step 1 from 3)"
	assert_line --index 1 '{"action":1,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
}

@test "qs-scale --dry-run changes nothing and says what it would do" {
	start_sim --replicas 1
	scale_api '{"action":3}' --dry-run
	assert_success
	assert_line --index 0 "qs-scale: dry run: would scale deployment web from 1 to 3 replicas"
	assert_line --index 1 '{"action":3,"applied":3,"scaled":false}'
	[ "$(sim_state replicas)" = 1 ]
	[ "$(sim_state resourceVersion)" = 1 ]
}

@test "qs-scale reads and writes CSV" {
	start_sim --replicas 1
	printf 'pod,latency,requests,action,random\n1,900,30,2,False\n' >"$T/in.csv"
	run qs-scale --server "$URL" --deployment web <"$T/in.csv"
	assert_success
	assert_output $'pod,latency,requests,action,random,applied,scaled\n1,900,30,2,False,2,True'
	[ "$(sim_state replicas)" = 2 ]
	run qs-scale --server "$URL" --deployment web --format json <"$T/in.csv"
	assert_success
	assert_output '{"pod":1,"latency":900,"requests":30,"action":2,"random":false,"applied":2,"scaled":false}'
}

@test "qs-scale rejects a record without an action with exit 65" {
	start_sim --replicas 1
	scale_api '{"pod":1}'
	assert_failure 65
	assert_output "qs-scale: invalid record in <stdin>: line 1: field action is missing"
	scale_api '{"action":1.5}'
	assert_failure 65
	assert_output "qs-scale: invalid record in <stdin>: line 1: field action is not an integer: 1.5"
	scale_api '{"action":'
	assert_failure 65
	[ "$(sim_state resourceVersion)" = 1 ]
}

@test "qs-scale takes the deployment and namespace from the environment" {
	start_sim --replicas 1 --deployment api --namespace prod
	printf '{"action":2}\n' >"$T/in"
	QS_DEPLOYMENT=api QS_NAMESPACE=prod run qs-scale --server "$URL" <"$T/in"
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
	# Options win over the environment.
	QS_DEPLOYMENT=api QS_NAMESPACE=prod run qs-scale --server "$URL" \
	    --namespace default <"$T/in"
	assert_failure 69
	assert_output --partial 'qs-scale: cannot get deployment api: HTTP 404 Not Found: deployments.apps "api" not found'
}

@test "qs-scale exits 69 naming the status for every API error" {
	start_sim --replicas 1
	for s in 400 401 403 404 409 422 429 500 502 503 504; do
		sim_fail "$s"
		scale_api '{"action":2}'
		assert_failure 69
		assert_output --regexp "^qs-scale: cannot get deployment web: HTTP $s [A-Z][A-Za-z ]+: qs-sim: failure $s injected by /qs-sim/fail\$"
	done
	# The same on the PATCH that sets the count.
	for s in 401 403 404 422 500 503; do
		sim_fail "$s" 1 PATCH
		scale_api '{"action":2}'
		assert_failure 69
		assert_output --regexp "^qs-scale: cannot scale deployment web to 2 replicas: HTTP $s [A-Z][A-Za-z ]+: qs-sim: failure $s"
	done
	[ "$(sim_state replicas)" = 1 ]
}

@test "qs-scale names a real 404 from the server" {
	start_sim --replicas 1
	printf '{"action":2}\n' >"$T/in"
	run qs-scale --server "$URL" --deployment nope <"$T/in"
	assert_failure 69
	assert_output 'qs-scale: cannot get deployment nope: HTTP 404 Not Found: deployments.apps "nope" not found'
}

@test "qs-scale retries a conflict a bounded number of times" {
	start_sim --replicas 1
	sim_fail 409 2 PATCH
	scale_api '{"action":2}'
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
	sim_fail 409 5 PATCH
	scale_api '{"action":3}' --retries 2
	assert_failure 69
	assert_output 'qs-scale: cannot scale deployment web to 3 replicas after 2 retries: HTTP 409 Conflict: qs-sim: failure 409 injected by /qs-sim/fail'
	[ "$(sim_state replicas)" = 2 ]
}

@test "qs-scale gives up after --timeout with exit 75" {
	start_sim --replicas 1
	curl -fsS -X POST "$URL/qs-sim/delay?seconds=5&count=1" >/dev/null
	scale_api '{"action":2}' --timeout 0.3
	assert_failure 75
	assert_output "qs-scale: cannot get deployment web: $URL timed out after 0.3 s"
	[ "$(sim_state replicas)" = 1 ]
}

@test "qs-scale exits 69 when the server cannot be reached" {
	port=$(free_port)
	printf '{"action":2}\n' >"$T/in"
	run qs-scale --server "http://127.0.0.1:$port" --deployment web <"$T/in"
	assert_failure 69
	assert_output --regexp "^qs-scale: cannot get deployment web: http://127.0.0.1:$port: .*(connect|Connection refused)"
}

@test "qs-scale never shows the token" {
	secret=tok-6f1d2c9a8b7e
	printf '%s\n' "$secret" >"$T/token"
	printf 'other-token\n' >"$T/server-token"
	start_sim --replicas 1 --token-file "$T/server-token"
	scale_api '{"action":2}' --token-file "$T/token"
	assert_failure 69
	assert_output 'qs-scale: cannot get deployment web: HTTP 401 Unauthorized: Unauthorized'
	refute_output --partial "$secret"
	# With the right token it works, still without showing it.
	scale_api '{"action":2}' --token-file "$T/server-token"
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	for s in 403 500; do
		sim_fail "$s"
		scale_api '{"action":3}' --token-file "$T/server-token"
		assert_failure 69
		refute_output --partial other-token
	done
	run qs-scale --deployment web --server "$URL" --token-file "$T/missing" <"$T/in"
	assert_failure 66
	assert_output --partial "qs-scale: cannot open token file $T/missing"
}

@test "qs-scale verifies TLS: the right CA passes, a wrong CA exits 69" {
	make_cert server
	make_cert other
	printf 'sekrit-tls-token\n' >"$T/token"
	start_sim --replicas 1 --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
	    --token-file "$T/token"
	# shellcheck disable=SC2153 # PORT: set by simserve.bash's start_sim
	URL="https://127.0.0.1:$PORT"
	scale_api '{"action":2}' --cacert "$T/server.pem" --token-file "$T/token"
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	scale_api '{"action":3}' --cacert "$T/other.pem" --token-file "$T/token"
	assert_failure 69
	assert_output --regexp "^qs-scale: cannot get deployment web: $URL: SSL certificate problem: self.signed certificate\$"
	# The system's CAs do not know it either.
	scale_api '{"action":3}' --token-file "$T/token"
	assert_failure 69
	scale_api '{"action":3}' --insecure-skip-tls-verify --token-file "$T/token"
	assert_success
	assert_output '{"action":3,"applied":3,"scaled":true}'
	run qs-scale --deployment web --server "$URL" --cacert "$T/server.pem" \
	    --insecure-skip-tls-verify <"$T/in"
	assert_failure 64
}

@test "qs-scale authenticates as a pod in a cluster" {
	make_cert server
	mkdir "$T/sa"
	cp "$T/server.pem" "$T/sa/ca.crt"
	printf 'pod-token\n' >"$T/sa/token"
	printf 'prod\n' >"$T/sa/namespace"
	start_sim --replicas 1 --namespace prod --tls-cert "$T/server.pem" \
	    --tls-key "$T/server.key" --token-file "$T/sa/token"
	SIM_URL="https://127.0.0.1:$PORT"
	printf '{"action":2}\n' >"$T/in"
	KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PORT \
	    QS_SERVICEACCOUNT_DIR="$T/sa" run qs-scale --deployment web <"$T/in"
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	[ "$(curl -fsS --cacert "$T/server.pem" "$SIM_URL/qs-sim/state" | json_get replicas)" = 2 ]
	# Without KUBERNETES_SERVICE_HOST there is no cluster and no kubectl.
	QS_SERVICEACCOUNT_DIR="$T/sa" run env PATH="$(dirname "$(command -v qs-scale)")" \
	    qs-scale --deployment web <"$T/in"
	assert_failure 69
	assert_output "qs-scale: no Kubernetes API: not in a cluster, no --server, and no kubectl on the PATH"
}

@test "qs-scale --backend kubectl scales through the real kubectl" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1
	write_kubeconfig "$URL"
	printf '{"action":3}\n' >"$T/in"
	run qs-scale --backend kubectl --deployment web <"$T/in"
	assert_success
	assert_output '{"action":3,"applied":3,"scaled":true}'
	[ "$(sim_state replicas)" = 3 ]
	# auto picks kubectl when there is no cluster and no --server.
	printf '{"action":2}\n{"action":2}\n' >"$T/in"
	run qs-scale --deployment web --max-step 1 <"$T/in"
	assert_success
	assert_output "$NOWIN"$'\n{"action":2,"applied":2,"scaled":true}\n{"action":2,"applied":2,"scaled":false}'
	[ "$(sim_state replicas)" = 2 ]
	run qs-scale --backend kubectl --deployment web --dry-run <<<'{"action":4}'
	assert_success
	assert_line --index 0 "qs-scale: dry run: would scale deployment web from 2 to 4 replicas"
	[ "$(sim_state replicas)" = 2 ]
}

@test "qs-scale --backend kubectl uses the namespace of kubectl's context" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --namespace prod
	write_kubeconfig "$URL" prod
	printf '{"action":2}\n' >"$T/in"
	run qs-scale --backend kubectl --deployment web <"$T/in"
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
	run qs-scale --backend kubectl --deployment web --namespace default <"$T/in"
	assert_failure 69
	assert_output --partial 'HTTP 404 Not Found'
}

@test "qs-scale --backend kubectl exits 69 naming the status" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1
	write_kubeconfig "$URL"
	printf '{"action":3}\n' >"$T/in"
	run qs-scale --backend kubectl --deployment nope <"$T/in"
	assert_failure 69
	assert_output 'qs-scale: cannot get deployment nope: HTTP 404 Not Found: kubectl: Error from server (NotFound): deployments.apps "nope" not found'
	# kubectl has its discovery cached now, so the next GET is ours.
	sim_fail 403 1 GET
	run qs-scale --backend kubectl --deployment web <"$T/in"
	assert_failure 69
	assert_output 'qs-scale: cannot get deployment web: HTTP 403 Forbidden: kubectl: Error from server (Forbidden): qs-sim: failure 403 injected by /qs-sim/fail'
	sim_fail 503 1 GET
	run qs-scale --backend kubectl --deployment web <"$T/in"
	assert_failure 69
	assert_output --partial 'HTTP 503 Service Unavailable: kubectl: Error from server (ServiceUnavailable)'
	curl -fsS -X POST "$URL/qs-sim/delay?seconds=5&count=1" >/dev/null
	run qs-scale --backend kubectl --deployment web --timeout 0.5 <"$T/in"
	assert_failure 75
	assert_output --regexp '^qs-scale: cannot get deployment web: kubectl timed out after 0.5 s: .*(deadline exceeded|Timeout)'
	[ "$(sim_state replicas)" = 1 ]
	write_kubeconfig "http://127.0.0.1:$(free_port)"
	run qs-scale --backend kubectl --deployment web --timeout 2 <"$T/in"
	assert_failure 69
	assert_output --regexp '^qs-scale: cannot get deployment web: kubectl exited with status 1: .*'
}

@test "qs-scale exits 74 when it cannot write standard output" {
	start_sim --replicas 1
	printf '{"action":2}\n' >"$T/in"
	run bash -c 'qs-scale --server "$1" --deployment web <"$2" >/dev/full' _ "$URL" "$T/in"
	assert_failure 74
	assert_output --partial "qs-scale: cannot write standard output"
}

@test "qs-scale man page examples run" {
	start_sim --replicas 1
	write_kubeconfig "$URL"
	# EXAMPLES: echo '{"action": 3}' | qs-scale --deployment web --dry-run
	run bash -c "echo '{\"action\": 3}' | qs-scale --deployment web --dry-run"
	assert_success
	assert_line --index 0 "qs-scale: dry run: would scale deployment web from 1 to 3 replicas"
	assert_line --index 1 '{"action":3,"applied":3,"scaled":false}'
	stop_sim
	# EXAMPLES: qs-scale --server https://... --cacert ca.crt --token-file token ...
	make_cert server
	cp "$T/server.pem" ca.crt
	printf 'example-token\n' >token
	start_sim --replicas 1 --tls-cert "$T/server.pem" --tls-key "$T/server.key" \
	    --token-file token
	printf '{"action":3}\n' >pending.json
	run qs-scale --server "https://127.0.0.1:$PORT" --cacert ca.crt \
	    --token-file token --deployment web --max-replicas 5 \
	    --max-step 1 <pending.json
	assert_success
	assert_line --index 0 "qs-scale: action 3 for deployment web limited to 2 (--max-step 1 from 1)"
	assert_line --index 1 '{"action":3,"applied":2,"scaled":true}'
}

@test "qs-scale: kubectl missing or failing is 69, and no API is 69" {
	run --separate-stderr env PATH=/nonexistent "$(command -v qs-scale)" --backend kubectl --deployment web <<< '{"action":2}'
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-scale: cannot get deployment web: cannot run kubectl: No such file or directory"
	run --separate-stderr env PATH=/nonexistent "$(command -v qs-scale)" --deployment web <<< '{"action":2}'
	assert_failure 69
	assert_equal "$stderr" "qs-scale: no Kubernetes API: not in a cluster, no --server, and no kubectl on the PATH"
	mkdir fk
	printf '#!/bin/sh\necho "error: boom" >&2\nexit 1\n' > fk/kubectl
	chmod +x fk/kubectl
	run --separate-stderr env PATH="$T/fk:$PATH" qs-scale --backend kubectl --deployment web <<< '{"action":2}'
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-scale: cannot get deployment web: kubectl exited with status 1: error: boom"
}

@test "qs-scale refuses a name that is not DNS-1123 with 64, and nothing is scaled" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1
	write_kubeconfig "$URL"
	# With the real kubectl, -lapp once selected the deployment by label.
	for name in -lapp --all -v9 -- -n . .. Web a..b -web $'web\nx'; do
		run --separate-stderr qs-scale --backend kubectl --deployment "$name" <<<'{"action":3}'
		assert_failure 64
		assert_output ""
		assert_equal "${#stderr_lines[@]}" 1
		[[ $stderr == "qs-scale: invalid --deployment: \""*"\" is not a deployment name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)" ]]
		QS_DEPLOYMENT=$name run --separate-stderr qs-scale --server "$URL" <<<'{"action":3}'
		assert_failure 64
		[[ $stderr == "qs-scale: invalid QS_DEPLOYMENT: \""* ]]
	done
	for ns in -lapp --all-namespaces -v9 -- . .. a.b Default "$(printf 'x%.0s' {1..64})"; do
		run --separate-stderr qs-scale --backend kubectl --deployment web --namespace "$ns" <<<'{"action":3}'
		assert_failure 64
		assert_equal "$stderr" "qs-scale: invalid --namespace: \"$ns\" is not a namespace (a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters)"
		QS_NAMESPACE=$ns run --separate-stderr qs-scale --server "$URL" --deployment web <<<'{"action":3}'
		assert_failure 64
		[[ $stderr == "qs-scale: invalid QS_NAMESPACE: \"$ns\" is not a namespace"* ]]
	done
	[ "$(sim_state replicas)" = 1 ]
	# A dotted subdomain is a name: asked for, and not found.
	run --separate-stderr qs-scale --server "$URL" --deployment web.v2 <<<'{"action":3}'
	assert_failure 69
	assert_equal "$stderr" 'qs-scale: cannot get deployment web.v2: HTTP 404 Not Found: deployments.apps "web.v2" not found'
}

@test "qs-scale --backend kubectl puts -- before the operands of every kubectl call" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1
	write_kubeconfig "$URL"
	mkdir wrap
	printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s/kubectl.log"\nexec %s "$@"\n' \
	    "$T" "$(command -v kubectl)" >wrap/kubectl
	chmod +x wrap/kubectl
	PATH="$T/wrap:$PATH" run qs-scale --backend kubectl --deployment web --namespace default <<<'{"action":3}'
	assert_success
	assert_output '{"action":3,"applied":3,"scaled":true}'
	[ "$(sim_state replicas)" = 3 ]
	run cat kubectl.log
	assert_line --index 0 --regexp '^--request-timeout=10s get .* -- deployment web$'
	assert_line --index 1 --regexp '^--request-timeout=10s scale .* -- deployment web$'
	# The Event has no operand: its object comes on standard input.
	assert_line --index 2 '--request-timeout=10s create --validate=false --output name -f - --namespace default'
	assert_equal "${#lines[@]}" 3
}

@test "qs-scale: a kubectl answer that is not a Deployment is 69, naming what it is" {
	mkdir fk
	# What kubectl prints for a label selector: a List, once read as 1 replica.
	printf '#!/bin/sh\necho %s\n' "'{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[]}'" >fk/kubectl
	chmod +x fk/kubectl
	PATH="$T/fk:$PATH" run --separate-stderr qs-scale --backend kubectl --deployment web <<<'{"action":2}'
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-scale: cannot get deployment web: kubectl get deployment web: invalid deployment: the answer is a List, not a Deployment"
	printf '#!/bin/sh\necho "{}"\n' >fk/kubectl
	PATH="$T/fk:$PATH" run --separate-stderr qs-scale --backend kubectl --deployment web <<<'{"action":2}'
	assert_failure 69
	assert_equal "$stderr" "qs-scale: cannot get deployment web: kubectl get deployment web: invalid deployment: the answer has no kind, not a Deployment"
}

@test "qs-scale never shows the credentials of a server URL" {
	start_sim --replicas 1
	curl -fsS -X POST "$URL/qs-sim/delay?seconds=5&count=1" >/dev/null
	printf '{"action":2}\n' >"$T/in"
	run --separate-stderr qs-scale --server "http://alice:s3cr3t@127.0.0.1:$PORT/" --deployment web --timeout 0.3 <"$T/in"
	assert_failure 75
	assert_equal "$stderr" "qs-scale: cannot get deployment web: http://127.0.0.1:$PORT timed out after 0.3 s"
	port=$(free_port)
	QS_KUBE_SERVER="http://alice:s3cr3t@127.0.0.1:$port" run --separate-stderr qs-scale --deployment web <"$T/in"
	assert_failure 69
	[[ $stderr == "qs-scale: cannot get deployment web: http://127.0.0.1:$port: "* ]]
	run --separate-stderr qs-scale --server "ftp://alice:s3cr3t@127.0.0.1:$port" --deployment web <"$T/in"
	assert_failure 64
	assert_equal "$stderr" "qs-scale: invalid server ftp://127.0.0.1:$port: not an http or https URL"
	# Without a scheme too, what stands before the host's '@' is never shown.
	run --separate-stderr qs-scale --server "alice:s3cr3t@127.0.0.1:$port" --deployment web <"$T/in"
	assert_failure 64
	assert_equal "$stderr" "qs-scale: invalid server 127.0.0.1:$port: not an http or https URL"
}

@test "qs-scale --max-step-up and --max-step-down limit each direction alone" {
	start_sim --replicas 1
	scale_api '{"action":9}' --max-step-up 2 --max-step-down 5 --down-window 0
	assert_success
	assert_output $'qs-scale: action 9 for deployment web limited to 3 (--max-step-up 2 from 1)\n{"action":9,"applied":3,"scaled":true}'
	# Four down is within the down limit of five.
	scale_api '{"action":1}' --max-step-up 1 --max-step-down 5 --down-window 0
	assert_success
	assert_output '{"action":1,"applied":1,"scaled":true}'
	# A down limit alone leaves scaling up free.
	scale_api '{"action":9}' --max-step-down 1 --down-window 0
	assert_success
	assert_output '{"action":9,"applied":9,"scaled":true}'
	scale_api '{"action":1}' --max-step-up 1 --max-step-down 3 --down-window 0
	assert_success
	assert_output $'qs-scale: action 1 for deployment web limited to 6 (--max-step-down 3 from 9)\n{"action":1,"applied":6,"scaled":true}'
	# --max-step sets both; a later --max-step-up overrides one.
	scale_api '{"action":12}' --max-step 2 --max-step-up 4 --down-window 0
	assert_success
	assert_output $'qs-scale: action 12 for deployment web limited to 10 (--max-step-up 4 from 6)\n{"action":12,"applied":10,"scaled":true}'
	scale_api '{"action":1}' --max-step 2 --max-step-up 4 --down-window 0
	assert_success
	assert_output $'qs-scale: action 1 for deployment web limited to 8 (--max-step 2 from 10)\n{"action":1,"applied":8,"scaled":true}'
	[ "$(sim_state replicas)" = 8 ]
	run qs-scale --deployment web --max-step-down 0
	assert_failure 64
	assert_output "qs-scale: invalid --max-step-down: 0 (an integer from 1 to 100000)"
}

@test "qs-scale --down-window holds the highest recommendation of the window" {
	start_sim --replicas 6
	now=$(date +%s)
	printf '%s 9\n%s 4\n%s 3\n' $((now - 400)) $((now - 100)) $((now - 50)) >recs
	scale_api '{"action":2}' --recommendations recs
	assert_success
	assert_output $'qs-scale: action 2 for deployment web held at 4 (--down-window 300: recommended 4 within it)\n{"action":2,"applied":4,"scaled":true}'
	[ "$(sim_state replicas)" = 4 ]
	# Trimmed to the window, with this recommendation added.
	run cat recs
	assert_line --index 0 "$((now - 100)) 4"
	assert_line --index 1 "$((now - 50)) 3"
	assert_line --index 2 --regexp '^[0-9]+ 2$'
	assert_equal "${#lines[@]}" 3
	# A higher recommendation holds at the current count: the window never
	# scales up.
	printf '%s 7\n' $((now - 100)) >recs
	scale_api '{"action":1}' --recommendations recs
	assert_success
	assert_output $'qs-scale: action 1 for deployment web held at 4 (--down-window 300: recommended 7 within it)\n{"action":1,"applied":4,"scaled":false}'
	# Scaling up is never held.
	scale_api '{"action":5}' --recommendations recs
	assert_success
	assert_output '{"action":5,"applied":5,"scaled":true}'
	[ "$(sim_state replicas)" = 5 ]
}

@test "qs-scale --down-window lets a recommendation go once it is older than the window" {
	start_sim --replicas 6
	now=$(date +%s)
	printf '%s 9\n' $((now - 310)) >recs
	scale_api '{"action":2}' --recommendations recs
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	# A shorter window lets the same recommendation go sooner.
	printf '%s 9\n%s 5\n' $((now - 100)) $((now - 30)) >recs
	scale_api '{"action":1}' --recommendations recs --down-window 60
	assert_success
	assert_output $'qs-scale: action 1 for deployment web held at 2 (--down-window 60: recommended 5 within it)\n{"action":1,"applied":2,"scaled":false}'
	run cat recs
	assert_line --index 0 "$((now - 30)) 5"
	assert_equal "${#lines[@]}" 2
}

@test "qs-scale remembers recommendations within a stream and across runs" {
	start_sim --replicas 5
	scale_api $'{"action":6}\n{"action":2}' --recommendations "$T/recs" --unbuffered
	assert_success
	assert_output $'{"action":6,"applied":6,"scaled":true}\nqs-scale: action 2 for deployment web held at 6 (--down-window 300: recommended 6 within it)\n{"action":2,"applied":6,"scaled":false}'
	QS_RECOMMENDATIONS="$T/recs" scale_api '{"action":3}'
	assert_success
	assert_output $'qs-scale: action 3 for deployment web held at 6 (--down-window 300: recommended 6 within it)\n{"action":3,"applied":6,"scaled":false}'
	[ "$(sim_state replicas)" = 6 ]
	# Held, and then within the step limit.
	QS_DOWN_WINDOW=0 scale_api '{"action":1}' --recommendations "$T/recs" --max-step-down 2
	assert_success
	assert_output $'qs-scale: action 1 for deployment web limited to 4 (--max-step-down 2 from 6)\n{"action":1,"applied":4,"scaled":true}'
}

@test "qs-scale --down-window 0 turns the window off and leaves the file alone" {
	start_sim --replicas 6
	now=$(date +%s)
	printf '%s 9\n' $((now - 10)) >recs
	before=$(digest recs)
	scale_api '{"action":2}' --recommendations recs --down-window 0
	assert_success
	assert_output '{"action":2,"applied":2,"scaled":true}'
	[ "$(sim_state replicas)" = 2 ]
	[ "$(digest recs)" = "$before" ]
	run qs-scale --deployment web --down-window 3601
	assert_failure 64
	assert_output "qs-scale: invalid --down-window: 3601 (an integer from 0 to 3600)"
}

@test "qs-scale --dry-run applies the window without writing it" {
	start_sim --replicas 6
	now=$(date +%s)
	printf '%s 4\n' $((now - 10)) >recs
	before=$(digest recs)
	scale_api '{"action":2}' --recommendations recs --dry-run
	assert_success
	assert_output $'qs-scale: action 2 for deployment web held at 4 (--down-window 300: recommended 4 within it)\nqs-scale: dry run: would scale deployment web from 6 to 4 replicas\n{"action":2,"applied":4,"scaled":false}'
	[ "$(digest recs)" = "$before" ]
	[ "$(sim_state replicas)" = 6 ]
}

@test "qs-scale refuses a malformed recommendations file with exit 65, changing nothing" {
	start_sim --replicas 6
	now=$(date +%s)
	for bad in "$now" "$now 4 5" "$now four" "-1 4" "$now  4" "$now 100001" ""; do
		printf '%s 4\n%s\n' $((now - 10)) "$bad" >recs
		before=$(digest recs)
		run --separate-stderr qs-scale --server "$URL" --deployment web --recommendations recs <<<'{"action":2}'
		assert_failure 65
		assert_output ""
		assert_equal "$stderr" "qs-scale: invalid recommendations file recs: line 2: not \"unix_seconds count\""
		[ "$(digest recs)" = "$before" ]
	done
	[ "$(sim_state replicas)" = 6 ]
	[ "$(sim_state resourceVersion)" = 1 ]
	mkfifo fifo
	run --separate-stderr qs-scale --server "$URL" --deployment web --recommendations fifo <<<'{"action":2}'
	assert_failure 66
	assert_equal "$stderr" "qs-scale: cannot open fifo: not a regular file"
	mkdir ro
	chmod 0555 ro
	as_nobody qs-scale --server "$URL" --deployment web --recommendations ro/recs <<<'{"action":2}' >out 2>err && rc=0 || rc=$?
	[ "$rc" = 73 ]
	run cat err
	assert_output --regexp '^qs-scale: cannot create a temporary file for ro/recs: Permission denied$'
	[ "$(sim_state replicas)" = 6 ]
}

# Field $2 of table $1's row for 1 replica, latency 501-1000, requests
# 19-36, by the header's name.
cell() {
	awk -F, -v a="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == a) c = i; next }
	    $1 == 1 && $2 == 501 && $4 == 19 { printf "%.6f\n", $c }' "$1"
}

@test "an action of 18 limited to 5 is credited as 5: reward, table cell and history" {
	qs-init-table --max-replicas 20 -o table.csv
	start_sim --replicas 1
	scale_api '{"time":"2026-12-01T09:00:00Z","pod":1,"latency":900,"requests":30,"action":18,"random":false}' --max-step 4
	assert_success
	assert_line --index 0 "qs-scale: action 18 for deployment web limited to 5 (--max-step 4 from 1)"
	assert_line --index 1 '{"time":"2026-12-01T09:00:00Z","pod":1,"latency":900,"requests":30,"action":18,"random":false,"applied":5,"scaled":true}'
	[ "$(sim_state replicas)" = 5 ]
	# The state after the wait, as qs-observe --next would add it.
	printf '%s\n' "${lines[1]}" |
	    sed 's/}$/,"new_time":"2026-12-01T09:01:00Z","new_pod":5,"new_latency":400,"new_requests":30}/' >done.json
	# The cost rules charge for the replicas: 5 of 20, not 18.
	run --separate-stderr bash -c 'qs-reward --rules cost --max-replicas 20 <done.json |
	    qs-update --table table.csv --history history.csv'
	assert_success
	assert_output --regexp '"action":18,.*"applied":5,.*"reward":-0\.03250*1?,"q_value":-0\.003250*3?,"epoch":0\}$'
	assert_equal "$(cell table.csv 5)" -0.003250
	assert_equal "$(cell table.csv 18)" 0.000000
	run cat history.csv
	assert_line --index 0 "epoch,pod,latency,requests,action,new_latency,new_requests,reward,q_value,random,time,new_time,applied,new_pod"
	assert_line --index 1 --regexp '^0,1,900,30,18,400,30,-0\.0325,-0\.003250*3?,False,2026-12-01T09:00:00Z,2026-12-01T09:01:00Z,5,5$'
	assert_equal "${#lines[@]}" 2
}

@test "qs-scale --shadow decides as live, keeps the window, never writes the deployment, says nothing" {
	start_sim --replicas 5
	# A write of any kind would fail the run: a shadow run needs only get.
	sim_fail 403 100 PATCH
	# A first recommendation, one held by the window, one limited by a step.
	scale_api $'{"action":4}\n{"action":2}\n{"action":9}' --shadow --recommendations recs --max-step-up 2
	assert_success
	assert_output $'{"action":4,"recommended":4,"applied":5,"scaled":false}\n{"action":2,"recommended":4,"applied":5,"scaled":false}\n{"action":9,"recommended":7,"applied":5,"scaled":false}'
	# The window is kept as a live run keeps it: the next run holds a
	# scale-down at the highest recommendation, capped by the real count.
	run awk '{ print $2 }' recs
	assert_output 9
	scale_api '{"action":1}' --shadow --recommendations recs
	assert_success
	assert_output '{"action":1,"recommended":5,"applied":5,"scaled":false}'
	# Nothing changed, as kubectl sees it: the replicas, and no Event.
	write_kubeconfig "$URL"
	run kubectl get deployment web -o 'jsonpath={.spec.replicas}'
	assert_success
	assert_output 5
	run kubectl get events -o name
	assert_success
	assert_output ""
	# Through kubectl too: it only gets the deployment.
	run qs-scale --backend kubectl --deployment web --shadow --down-window 0 <<<'{"action":2}'
	assert_success
	assert_output '{"action":2,"recommended":2,"applied":5,"scaled":false}'
	[ "$(sim_state resourceVersion)" = 1 ]
}

@test "qs-scale --shadow with --dry-run is a usage error, 64, before anything is asked" {
	start_sim --replicas 5
	sim_fail 500 100
	for opts in "--shadow --dry-run" "-n --shadow"; do
		# shellcheck disable=SC2086 # options, split
		run --separate-stderr qs-scale --server "$URL" --deployment web $opts --recommendations recs <<<'{"action":2}'
		assert_failure 64
		assert_output ""
		assert_equal "$stderr" "qs-scale: --shadow and --dry-run exclude each other"
	done
	[ ! -e recs ]
	[ "$(sim_state replicas)" = 5 ]
}
