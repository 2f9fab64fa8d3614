#!/usr/bin/env bats
# Several deployments on one qs-sim serve, scraped by a real Prometheus:
# qs-observe's default queries scoped to each (--selector), the latency
# histogram through --latency-percentile, custom metric names and labels
# (issue 16, item 2).

load helpers
load simserve
# One lab for the whole file (setup_file); the tests run one at a time.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

# Three deployments, each with its own load, replicas and names: web
# (1 request/s over 2 replicas) in default; api (6 over 3) and cart
# (2 over 1, named myapp_* and labelled team="blue") in shop.  No noise,
# so that the latency is the model's.
setup_file() {
	lab_file_init
	lab_start "$LAB" --noise 0 \
	    --deployment web --rate 1 --replicas 2 \
	    --deployment api --namespace shop --rate 6 --replicas 3 --seed 2 \
	    --deployment cart --namespace shop --rate 2 --seed 3 \
	    --metric-prefix myapp --label team=blue
	lab_wait_data "$LAB" 3s
}

teardown_file() {
	lab_file_done
}

# A field of deployment $1's state (/qs-sim/state?deployment=$1).
state_of() {
	curl -fsS "$SIM_URL/qs-sim/state?deployment=$1" | json_get "$2"
}

# A field of the JSON record in $output.
get() {
	json_get "$1" <<<"$output"
}

# The latency in ms that the model gives deployment $1, rounded.
model_latency() {
	python3 -c 'import sys; print(int(float(sys.argv[1]) + 0.5))' \
	    "$(state_of "$1" latency)"
}

@test "serve: each deployment has its own replicas, load and kube endpoints" {
	[ "$(state_of web replicas)" = 2 ] && [ "$(state_of api replicas)" = 3 ]
	[ "$(state_of web rate)" = 1.0 ] && [ "$(state_of api rate)" = 6.0 ]
	[ "$(state_of cart namespace)" = shop ]
	run curl -sS "$SIM_URL/qs-sim/state?deployment=nope"
	assert_output --partial '"code":404'
	write_kubeconfig "$SIM_URL"
	run kubectl get deployments -n shop -o name
	assert_success
	assert_output "$(printf 'deployment.apps/api\ndeployment.apps/cart')"
	run kubectl get deployment web -n shop
	assert_failure
	run kubectl get pods -n default -o name
	assert_success
	[ "${#lines[@]}" = 2 ]
	# Every series carries its namespace and deployment, and --label's.
	curl -fsS "$SIM_URL/metrics" >sim.prom
	promtool check metrics <sim.prom
	grep -c '^http_server_requests_total{.*namespace="default",deployment="web"}' sim.prom |
	    grep -qx 2
	grep -c '^http_server_requests_total{.*namespace="shop",deployment="api"}' sim.prom |
	    grep -qx 3
	grep -q '^myapp_requests_total{path="/test",pod="cart-[a-z0-9-]*",namespace="shop",deployment="cart",team="blue"} ' sim.prom
	grep -q '^# TYPE myapp_request_duration_seconds histogram$' sim.prom
	run grep -q '^http_server_requests_total{.*deployment="cart"' sim.prom
	assert_failure
}

@test "qs-observe: each deployment's default queries see its own requests, latency and pods" {
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --kube-server "$SIM_URL" \
	    --deployment web --window 3s
	assert_success
	assert_equal "$(get pod)" 2
	assert_equal "$(get latency)" "$(model_latency web)"
	web=$(get requests)
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --kube-server "$SIM_URL" \
	    --deployment api --namespace shop --window 3s
	assert_success
	assert_equal "$(get pod)" 3
	assert_equal "$(get latency)" "$(model_latency api)"
	api=$(get requests)
	# 3 s of 1 and of 6 requests/s, give or take a scrape.
	[ "$web" -ge 1 ] && [ "$web" -le 6 ]
	[ "$api" -ge 12 ] && [ "$api" -le 30 ]
	# Unscoped, the two would be summed, and the latency a mix.
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 --window 3s
	assert_success
	[ "$(get requests)" -gt "$api" ]
	# The namespace scopes too: there is no web in shop.
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 \
	    --deployment web --namespace shop --window 3s
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM_URL: no data for sum(rate(http_server_request_duration_seconds_sum{namespace=\"shop\",deployment=\"w... (an empty vector); is the target scraped, with the labels namespace=\"shop\",deployment=\"web\" (--selector)?"
}

@test "--latency-percentile: p95 of the histogram is above the mean, in the bucket that holds it" {
	mean=$(model_latency api)
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 3 \
	    --deployment api --namespace shop --window 3s --latency-percentile 0.95
	assert_success
	p95=$(get latency)
	[ "$p95" -gt "$mean" ]
	# The model's latencies are exponential about the mean: its p95 is
	# mean * ln 20, and Prometheus' answer lies within that bucket.
	python3 -c 'import math, sys
mean, got = float(sys.argv[1]), float(sys.argv[2])
bounds = [0, 5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2000, 2500, 5000, 10000, 30000]
want = mean * math.log(20)
lo, hi = next((a, b) for a, b in zip(bounds, bounds[1:]) if a < want <= b)
if not lo <= got <= hi:
    sys.exit("p95 %g is not in (%g, %g], the bucket of %g" % (got, lo, hi, want))' "$mean" "$p95"
	run --separate-stderr qs-observe --pod 1 --latency-percentile 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --latency-percentile: 1 (a quantile between 0 and 1, such as 0.95)"
	run --separate-stderr qs-observe --pod 1 --latency-percentile 0.9 --latency-query 1
	assert_failure 64
}

@test "custom --metric-prefix and --label on serve, matched by --metric-prefix and --selector" {
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --kube-server "$SIM_URL" \
	    --deployment cart --namespace shop --window 3s --metric-prefix myapp \
	    --selector 'team="blue",deployment="$DEPLOYMENT"'
	assert_success
	assert_equal "$(get pod)" 1
	assert_equal "$(get latency)" "$(model_latency cart)"
	[ "$(get requests)" -ge 3 ] && [ "$(get requests)" -le 10 ]
	# The default names find nothing of cart's, nor another team's label.
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 \
	    --deployment cart --namespace shop --window 3s
	assert_failure 69
	run --separate-stderr qs-observe --prometheus "$PROM_URL" --pod 1 --window 3s \
	    --metric-prefix myapp --selector 'team="red"'
	assert_failure 69
	# A selector naming what is not given fails before any query.
	run --separate-stderr qs-observe --prometheus "http://127.0.0.1:1" --pod 1 \
	    --deployment cart --selector 'namespace="$NAMESPACE"'
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --selector: it names the namespace, but none is given (--namespace or QS_NAMESPACE)"
}

@test "two deployments learn, each its own table from its own metrics" {
	for d in web:default api:shop; do
		name=${d%:*} ns=${d#*:}
		qs-init-table --max-replicas 5 --request-width 6 -o "$name.csv"
		cp "$name.csv" "$name.fresh"
		obs=(--prometheus "$PROM_URL" --kube-server "$SIM_URL" --window 3s
		    --deployment "$name" --namespace "$ns")
		qs-observe "${obs[@]}" | qs-decide --table "$name.csv" |
		    qs-scale --server "$SIM_URL" --deployment "$name" --namespace "$ns" \
		    --min-replicas 1 --max-replicas 5 >"$name.pending"
		qs-observe --next "${obs[@]}" <"$name.pending" | qs-reward |
		    qs-update --table "$name.csv" --history "$name.history"
	done
	# Each table changed, in the row of its own state: the pods and the
	# requests its own deployment had.
	for f in web:web.fresh api:api.fresh web:api.csv; do
		run cmp -s "${f%%:*}.csv" "${f#*:}"
		assert_failure
	done
	python3 - <<-'EOF'
	import csv
	for name, pod in (("web", "2"), ("api", "3")):
	    hist = list(csv.DictReader(open(name + ".history")))
	    assert len(hist) == 1 and hist[0]["pod"] == pod, (name, hist)
	    fresh = list(csv.reader(open(name + ".fresh")))
	    now = list(csv.reader(open(name + ".csv")))
	    changed = [r for r, f in zip(now, fresh) if r != f]
	    assert len(changed) == 1, (name, changed)
	    # The row's first three fields are its state: pod, latency, requests.
	    assert changed[0][0] == pod, (name, changed)
	web = list(csv.DictReader(open("web.history")))[0]
	api = list(csv.DictReader(open("api.history")))[0]
	assert int(web["requests"]) < int(api["requests"]), (web, api)
	assert int(web["latency"]) < int(api["latency"]), (web, api)
	EOF
}

# An address no interface has: a check that fails to refuse exits 69
# there, instead of serving.
@test "serve: bad --label, --metric-prefix or a deployment given twice exit 64" {
	run --separate-stderr qs-sim serve --listen 192.0.2.1:0 --label 'bad-name=x'
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid label bad-name=x: not NAME=VALUE with a Prometheus label name"
	run --separate-stderr qs-sim serve --listen 192.0.2.1:0 --label pod=x
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid label pod=x: pod is a name qs-sim serve or Prometheus sets"
	run --separate-stderr qs-sim serve --listen 192.0.2.1:0 --metric-prefix 1x
	assert_failure 64
	assert_equal "$stderr" "qs-sim: invalid metric prefix 1x: letters, digits, _ and :, not first a digit"
	run --separate-stderr qs-sim serve --listen 192.0.2.1:0 --deployment a \
	    --deployment b --namespace x --deployment a
	assert_failure 64
	assert_equal "$stderr" "qs-sim: deployment a is given twice in namespace default"
}
