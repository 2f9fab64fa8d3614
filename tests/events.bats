#!/usr/bin/env bats
# Kubernetes Events: qs-scale posts them, qs-sim serve keeps them, the real
# kubectl shows them (kubectl get events, kubectl describe deployment).

load helpers
load simserve

local_teardown() {
	stop_sim
}

# The events' reason and message, one a line, as kubectl's JSON gives them.
event_lines() {
	kubectl get events "$@" -o json | python3 -c 'import json, sys
for e in json.load(sys.stdin)["items"]:
    print(e["reason"] + ": " + e["message"])'
}

@test "qs-scale posts Scaled and ScaleHeld Events; kubectl get events and describe show them" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --tick 0
	write_kubeconfig "$URL"
	printf '%s\n' '{"action":3,"why":"greedy"}' '{"action":3,"why":"greedy"}' \
	    '{"action":9,"random":true}' '{"action":4,"why":"hold"}' > in
	run --separate-stderr qs-scale --server "$URL" --deployment web --max-replicas 3 --max-step 2 < in
	assert_success
	[ "$(sim_state replicas)" = 3 ]
	# The same count again is no Event: nothing happened.
	run event_lines
	assert_success
	assert_output "Scaled: Scaled from 1 to 3 replicas: action 3 (greedy)
ScaleHeld: Held at 3 replicas: action 9 (random), held by --max-replicas
ScaleHeld: Held at 3 replicas: action 4 (hold), held by --max-replicas"
	run kubectl get events
	assert_success
	assert_line --index 0 --regexp '^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$'
	assert_line --index 1 --regexp '^[0-9]+s +Normal +Scaled +deployment/web +Scaled from 1 to 3 replicas: action 3 \(greedy\)$'
	# describe asks for the Events of the deployment by its uid.
	run kubectl describe deployment web
	assert_success
	assert_output --regexp 'Events:
  Type    Reason     Age +From    Message
  ----    ------     ---- +----    -------
  Normal  Scaled     [0-9]+s +qscale  Scaled from 1 to 3 replicas: action 3 \(greedy\)
  Normal  ScaleHeld  [0-9]+s +qscale  Held at 3 replicas: action 9 \(random\), held by --max-replicas'
	run kubectl get events --field-selector reason=Scaled -o name
	assert_success
	assert_output --regexp '^event/web[.][0-9a-f]+$'
}

@test "through the kubectl backend, the Event goes to the context's namespace" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --tick 0 --namespace prod
	write_kubeconfig "$URL" prod
	run --separate-stderr qs-scale --backend kubectl --deployment web --max-step 1 <<<'{"action":4,"why":"greedy"}'
	assert_success
	assert_equal "$stderr" "qs-scale: action 4 for deployment web limited to 2 (--max-step 1 from 1)"
	run event_lines -n prod
	assert_output "Scaled: Scaled from 1 to 2 replicas: action 4 (greedy), limited by --max-step"
	run kubectl get events -n default -o name
	assert_output ''
}

@test "--no-events, QS_EVENTS=0 and a dry run post none; a failed post warns once and scales" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --tick 0
	write_kubeconfig "$URL"
	run --separate-stderr qs-scale --server "$URL" --deployment web --no-events <<<'{"action":2}'
	assert_success
	QS_EVENTS=0 run --separate-stderr qs-scale --server "$URL" --deployment web <<<'{"action":3}'
	assert_success
	run --separate-stderr qs-scale --server "$URL" --deployment web --dry-run <<<'{"action":4}'
	assert_success
	[ "$(sim_state replicas)" = 3 ]
	run kubectl get events -o name
	assert_output ''
	QS_EVENTS=2 run --separate-stderr qs-scale --server "$URL" --deployment web <<<'{"action":3}'
	assert_failure 64
	assert_equal "$stderr" "qs-scale: invalid QS_EVENTS: 2 (an integer from 0 to 1)"
	# The POST of the first Event fails: said once, the scaling goes on.
	sim_fail 403 1 POST
	run --separate-stderr qs-scale --server "$URL" --deployment web --down-window 0 <<<$'{"action":2}\n{"action":1}'
	assert_success
	assert_output $'{"action":2,"applied":2,"scaled":true}\n{"action":1,"applied":1,"scaled":true}'
	assert_equal "$stderr" "qs-scale: cannot post an Event for deployment web: HTTP 403 Forbidden: qs-sim: failure 403 injected by /qs-sim/fail; no more Events this run"
	[ "$(sim_state replicas)" = 1 ]
	run kubectl get events -o name
	assert_output ''
}

@test "qs-sim serve refuses an Event it cannot keep, and a selector it does not know" {
	start_sim --replicas 1 --tick 0
	ev='{"kind":"Event","metadata":{"name":"e1"},"involvedObject":{"kind":"Deployment","name":"web","namespace":"default"},"reason":"Scaled","message":"m"}'
	post() {
		curl -sS -o out -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		    -d "$1" "$URL/api/v1/namespaces/${2:-default}/events"
	}
	run post "$ev"
	assert_output 201
	run post "$ev"
	assert_output 409
	# In another namespace than its deployment's, or than the request's.
	run post "$ev" prod
	assert_output 422
	run post '{"kind":"Event","metadata":{"name":"e2","namespace":"prod"}}'
	assert_output 400
	run post '{"kind":"Event","involvedObject":{"namespace":"default"}}'
	assert_output 422
	run post '{"kind":"Pod"}'
	assert_output 400
	run curl -sS -o out -w '%{http_code}' "$URL/api/v1/namespaces/default/events?fieldSelector=spec.x%3D1"
	assert_output 400
	run curl -fsS "$URL/api/v1/namespaces/default/events/e1"
	assert_success
	[ "$(json_get reason <<<"$output")" = Scaled ]
	run curl -fsS "$URL/api/v1/events?fieldSelector=involvedObject.name%3Dweb"
	[ "$(json_get items.0.metadata.name <<<"$output")" = e1 ]
	run curl -fsS "$URL/api/v1/events?fieldSelector=involvedObject.name%21%3Dweb"
	[ "$(json_get items <<<"$output")" = '[]' ]
}

@test "kubectl get all lists the pods and the deployment, not the Events, as a real API server" {
	command -v kubectl >/dev/null || skip "kubectl is not installed"
	start_sim --replicas 1 --tick 0
	write_kubeconfig "$URL"
	run --separate-stderr qs-scale --server "$URL" --deployment web <<<'{"action":2}'
	assert_success
	run kubectl get events -o name
	assert_output --regexp '^event/web[.][0-9a-f]+$'
	run --separate-stderr kubectl get all -o name
	assert_success
	assert_output --regexp '^pod/web-[a-z0-9]+-[a-z0-9]+
pod/web-[a-z0-9]+-[a-z0-9]+
deployment.apps/web$'
}
