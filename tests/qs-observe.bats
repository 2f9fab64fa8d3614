#!/usr/bin/env bats
# qs-observe against a real Prometheus scraping a fixture with known
# counters, and against a canned stand-in for the failures Prometheus
# cannot be made to show on demand.

load helpers
# One lab for the whole file (setup_file), whose state the tests change or
# time: they run one at a time, even under bats --jobs.
export BATS_NO_PARALLELIZE_WITHIN_FILE=true

FIXTURE="$TOP/tests/fixture-server.py"

# Wait until file exists and is not empty, or fail after about 10 s.
wait_for_file() {
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	echo "no $1" >&2
	return 1
}

# One Prometheus for the whole file: it needs about 5 s before its first
# scrape, and the tests need a few seconds of samples after that.
setup_file() {
	PROM_DIR=$(mktemp -d)
	export PROM_DIR
	python3 "$FIXTURE" --port-file "$PROM_DIR/metrics.port" metrics \
	    >"$PROM_DIR/metrics.log" 2>&1 3>&- &
	echo $! >"$PROM_DIR/metrics.pid"
	wait_for_file "$PROM_DIR/metrics.port"
	cat >"$PROM_DIR/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: fixture
	    static_configs:
	      - targets: ['127.0.0.1:$(cat "$PROM_DIR/metrics.port")']
	EOF
	PROM_PORT=$(free_port)
	prometheus --config.file="$PROM_DIR/prometheus.yml" \
	    --storage.tsdb.path="$PROM_DIR/data" \
	    --web.listen-address="127.0.0.1:$PROM_PORT" \
	    >"$PROM_DIR/prometheus.log" 2>&1 3>&- &
	echo $! >"$PROM_DIR/prometheus.pid"
	export PROM="http://127.0.0.1:$PROM_PORT"
	# Up, with at least 7 samples: the 5 s windows below are covered.
	for _ in $(seq 300); do
		if curl -sf "$PROM/api/v1/query" \
		    --data-urlencode 'query=count_over_time(up{job="fixture"}[30s]) >= 7 and up{job="fixture"} == 1' |
		    grep -q '"value"'; then
			return 0
		fi
		sleep 0.1
	done
	echo "Prometheus did not scrape the fixture:" >&2
	tail -5 "$PROM_DIR/prometheus.log" >&2
	return 1
}

teardown_file() {
	local f
	for f in prometheus metrics; do
		if [ -f "$PROM_DIR/$f.pid" ]; then
			kill "$(cat "$PROM_DIR/$f.pid")" 2>/dev/null || true
		fi
	done
	for f in prometheus metrics; do
		if [ -f "$PROM_DIR/$f.pid" ]; then
			while kill -0 "$(cat "$PROM_DIR/$f.pid")" 2>/dev/null; do
				sleep 0.1
			done
		fi
	done
	rm -rf "$PROM_DIR"
}

# Start the canned stand-in with the rules on stdin; sets FAKE to its URL.
canned() {
	cat >rules.json
	python3 "$FIXTURE" --port-file fake.port --log fake.log "$@" \
	    canned rules.json >fake.out 2>&1 3>&- &
	echo $! >fake.pid
	wait_for_file fake.port
	FAKE="http://127.0.0.1:$(cat fake.port)"
}

local_teardown() {
	if [ -f fake.pid ]; then
		kill "$(cat fake.pid)" 2>/dev/null || true
	fi
	if declare -F stop_sim >/dev/null; then
		stop_sim
	fi
}

# Print the fields of the JSON record in $output as key=value lines, in
# order, so that assertions see names, order and types.
fields() {
	python3 -c '
import json, sys
for k, v in json.loads(sys.stdin.read()).items():
    print("%s=%s:%s" % (k, type(v).__name__, v))' <<<"$output"
}

# Whether integer $1 is within $3 of $2.
near() {
	if [ "$1" -lt $(($2 - $3)) ] || [ "$1" -gt $(($2 + $3)) ]; then
		echo "$1 is not $2 +- $3" >&2
		return 1
	fi
}

# $1 as a JSON string.
jstr() {
	python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"
}

# One field of the record in $output.
get() {
	python3 -c 'import json, sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' \
	    "$1" <<<"$output"
}

VECTOR_NAN='{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"NaN"]}]}}'
VECTOR_7='{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1.5,"7.4"]}]}}'
VECTOR_EMPTY='{"status":"success","data":{"resultType":"vector","result":[]}}'
VECTOR_TWO='{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"1"]},{"metric":{"pod":"b"},"value":[1,"2"]}]}}'

# --- against the real Prometheus -----------------------------------------

@test "default queries sum the series: latency 240 ms, 10 requests/s" {
	run qs-observe --prometheus "$PROM" --pod 2 --window 5s
	assert_success
	run fields
	assert_line --index 0 --regexp '^time=str:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
	assert_line --index 1 'pod=int:2'
	# (6/s * 0.2 s + 4/s * 0.3 s) / 10/s: the mean of the ratios would be 250.
	assert_line --index 2 'latency=int:240'
	assert_line --index 3 --regexp '^requests=int:[0-9]+$'
	[ "${#lines[@]}" -eq 4 ]
	# increase() extrapolates to the window's edges; a late scrape on a
	# loaded machine shortens that by up to half an interval.
	run qs-observe --prometheus "$PROM" --pod 2 --window 5s
	near "$(get requests)" 50 2
}

@test "the record's time is now, in UTC" {
	before=$(date -u +%s)
	run qs-observe --prometheus "$PROM" --pod 1 --window 5s
	assert_success
	after=$(date -u +%s)
	t=$(date -u -d "$(get time)" +%s)
	[ "$t" -ge "$before" ] && [ "$t" -le "$after" ]
}

@test "--path and --window change the default queries" {
	run qs-observe --prometheus "$PROM" --pod 3 --path /api --window 5s
	assert_success
	[ "$(get latency)" = 1000 ]
	near "$(get requests)" 500 10
	# Three scrapes a second apart, not two: at 2s a late scrape on a
	# loaded machine left one sample in the window, and rate() nothing.
	run qs-observe --prometheus "$PROM" --pod 3 --path /api --window 3s
	assert_success
	near "$(get requests)" 300 10
}

@test "no requests in the window: NaN latency is 0" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --path /idle --window 5s
	assert_success
	assert_output --regexp '^\{"time":"[^"]*","pod":1,"latency":0,"requests":0\}$'
	assert_equal "$stderr" ""
}

@test "--latency-query and --requests-query replace the defaults" {
	run qs-observe --prometheus "$PROM" --pod 1 \
	    --latency-query 'sum(rate(http_server_request_duration_seconds_sum{pod="b"}[5s])) / sum(rate(http_server_request_duration_seconds_count{pod="b"}[5s]))' \
	    --requests-query 'sum(increase(http_server_requests_total{pod="a"}[5s]))'
	assert_success
	[ "$(get latency)" = 300 ]
	near "$(get requests)" 30 2
}

@test "a scalar answer is a figure; latency in seconds becomes ms" {
	run qs-observe --prometheus "$PROM" --pod 1 --latency-query 'scalar(vector(0.2494))' \
	    --requests-query '41.5'
	assert_success
	assert_output --regexp '"latency":249,"requests":42\}$'
}

@test "rounding is half away from zero" {
	run qs-observe --prometheus "$PROM" --pod 1 --latency-query '0.0025' \
	    --requests-query '2.5'
	assert_success
	assert_output --regexp '"latency":3,"requests":3\}$'
}

@test "QS_PROMETHEUS_URL and QS_POD" {
	QS_PROMETHEUS_URL=$PROM QS_POD=4 run qs-observe --window 5s
	assert_success
	[ "$(get pod)" = 4 ]
	[ "$(get latency)" = 240 ]
	QS_PROMETHEUS_URL=$PROM QS_POD=4 run qs-observe --pod 5 --window 5s
	[ "$(get pod)" = 5 ]
}

@test "--format csv" {
	run qs-observe --prometheus "$PROM" --pod 2 --path /idle --format csv
	assert_success
	assert_line --index 0 'time,pod,latency,requests'
	assert_line --index 1 --regexp '^[0-9T:Z.-]+,2,0,0$'
	[ "${#lines[@]}" -eq 2 ]
}

@test "--next adds the after-state and keeps every field" {
	printf '%s\n' '{"time":"2026-01-01T00:00:00Z","pod":1,"latency":12,"requests":3,"action":2,"random":false,"note":"x"}' \
	    '{"pod":2}' >pending.json
	run qs-observe --prometheus "$PROM" --next --pod 2 --path /idle <pending.json
	assert_success
	assert_line --index 0 --regexp '^\{"time":"2026-01-01T00:00:00Z","pod":1,"latency":12,"requests":3,"action":2,"random":false,"note":"x","new_time":"[0-9T:Z.-]+","new_pod":2,"new_latency":0,"new_requests":0\}$'
	assert_line --index 1 --regexp '^\{"pod":2,"new_time":"[0-9T:Z.-]+","new_pod":2,"new_latency":0,"new_requests":0\}$'
	[ "${#lines[@]}" -eq 2 ]
}

@test "--next answers CSV in CSV" {
	printf 'time,pod,latency,requests,action\n2026-01-01T00:00:00Z,1,12,3,2\n' >pending.csv
	run qs-observe --prometheus "$PROM" --next --pod 2 --path /idle <pending.csv
	assert_success
	assert_line --index 0 'time,pod,latency,requests,action,new_time,new_pod,new_latency,new_requests'
	assert_line --index 1 --regexp '^2026-01-01T00:00:00Z,1,12,3,2,[0-9T:Z.-]+,2,0,0$'
}

@test "no data: an empty vector fails with 69, showing the query, unless --empty-as-zero" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --path /nothing
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: no data for sum(rate(http_server_request_duration_seconds_sum{path=\"/nothing\"}[30s])) / sum(... (an empty vector); is the target scraped?"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --path /nothing --empty-as-zero
	assert_success
	assert_output --regexp '"pod":1,"latency":0,"requests":0\}$'
}

@test "a window shorter than two scrapes has no data though the target is scraped: said so, not 'is the target scraped?'" {
	# The fixture is scraped every second: 500 ms never holds two samples.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --window 500ms
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: no data for sum(rate(http_server_request_duration_seconds_sum{path=\"/test\"}[500ms])) / sum(r... (an empty vector), though its series are scraped: they have fewer than two samples in the window 500ms; make --window at least twice the scrape interval"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --window 500ms --latency-query 'vector(0.1)'
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: no data for sum(increase(http_server_requests_total{path=\"/test\"}[500ms])) (an empty vector), though its series are scraped: they have fewer than two samples in the window 500ms; make --window at least twice the scrape interval"
}

@test "several series: an error that suggests aggregating" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 \
	    --latency-query 'rate(http_server_request_duration_seconds_sum{path="/test"}[5s])'
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: the answer has 2 series, not one; aggregate them in the query, e.g. sum(...)"
}

@test "Prometheus' own error: a query that does not parse is a configuration error, 78, naming the query" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --retries 3 \
	    --requests-query 'sum(http_server_requests_total'
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: invalid query sum(http_server_requests_total: HTTP 400 Bad Request: bad_data: invalid parameter \"query\": 1:31: parse error: unclosed left parenthesis"
	# An unknown function is the same bad_data, 400.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 \
	    --latency-query 'p95(http_server_request_duration_seconds_sum)'
	assert_failure 78
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: invalid query p95(http_server_request_duration_seconds_sum): HTTP 400 Bad Request: bad_data: invalid parameter \"query\": 1:1: parse error: unknown function with name \"p95\""
	# And over a range.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range 1000,1010 \
	    --requests-query 'sum(http_server_requests_total'
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: invalid query sum(http_server_requests_total: HTTP 400 Bad Request: bad_data: 1:31: parse error: unclosed left parenthesis"
	# A query that parses but cannot be evaluated (422, execution) may
	# pass with the series: it stays 69, as an outage.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 \
	    --requests-query 'http_server_requests_total * on() http_server_requests_total'
	assert_failure 69
	assert_regex "$stderr" "^qs-observe: cannot get requests from $PROM: HTTP 422 Unprocessable Entity: execution: found duplicate series "
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "+Inf, NaN requests and negative figures are errors" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --latency-query '1/0'
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: the query answered +Inf, not a figure from 0 to 1e+09"
	# Beyond what a record's latency may be (1e12 ms): not a record the
	# next tool refuses; at the bound, one qs-reward takes.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --latency-query 'vector(2e9)'
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: the query answered 2e+09, not a figure from 0 to 1e+09"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --latency-query 'vector(1e9)' --requests-query 'vector(1e15)'
	assert_success
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(action=1, new_latency=1); print(json.dumps(r))' "$output" |
	    qs-reward >/dev/null
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --requests-query '0/0'
	assert_failure 65
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: the query answered NaN, not a figure from 0 to 1e+15"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --requests-query '-3'
	assert_failure 65
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: the query answered -3, not a figure from 0 to 1e+15"
}

@test "a range vector is not an instant answer" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 \
	    --requests-query 'up[5s]'
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: the answer is a matrix, not an instant vector or scalar"
}

# --- failures ---------------------------------------------------------------

@test "Prometheus not running: connection refused, retried a bounded number of times" {
	url="http://127.0.0.1:$(free_port)"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1 --retries 0
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $url: Connection refused"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1 --retries 2 --backoff 0.05
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $url: Connection refused (3 attempts)"
}

@test "HTTP 500 is retried, then reported with its status" {
	canned <<-'EOF'
	[{"status": 500, "body": "oops\n"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 1 --backoff 0.05
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: HTTP 500 Internal Server Error (2 attempts)"
	[ "$(wc -l <fake.log)" -eq 2 ]
}

@test "HTTP 503 with Prometheus' error body" {
	canned <<-'EOF'
	[{"status": 503, "body": "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in expression evaluation\"}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 0
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: HTTP 503 Service Unavailable: timeout: query timed out in expression evaluation"
}

@test "a client error is not retried" {
	canned <<-'EOF'
	[{"status": 404, "body": "404 page not found\n"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE/prefix/" --pod 1 --retries 3 --backoff 0.05
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE/prefix: HTTP 404 Not Found"
	[ "$(wc -l <fake.log)" -eq 1 ]
	grep -q '"path": "/prefix/api/v1/query"' fake.log
}

@test "timeouts and 429 are retried; Prometheus' 400 is not" {
	canned <<-'EOF'
	[{"match": "duration", "delay": 5, "body": "{}"},
	 {"match": "", "status": 429, "body": "slow down\n"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --timeout 0.2 --retries 1 --backoff 0.05
	assert_failure 75
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: timed out after 0.2 s (2 attempts)"
	[ "$(wc -l <fake.log)" -eq 2 ]
	: >fake.log
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 2 --backoff 0.05 \
	    --latency-query 1
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: HTTP 429 Too Many Requests (3 attempts)"
	[ "$(wc -l <fake.log)" -eq 3 ]
}

@test "an error answer to a bad query is not retried" {
	canned <<-'EOF'
	[{"status": 400, "body": "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error\"}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 3 --backoff 0.05 --latency-query 'sum(x'
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: invalid query sum(x: HTTP 400 Bad Request: bad_data: 1:5: parse error"
	[ "$(wc -l <fake.log)" -eq 1 ]
}

@test "a body that is not JSON" {
	canned <<-'EOF'
	[{"status": 200, "body": "<html>proxy login</html>"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 0
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: the answer is not JSON: invalid token near '<' at line 1 column 1"
}

@test "JSON that is not a Prometheus answer" {
	canned <<-'EOF'
	[{"status": 200, "body": "{\"data\": 1}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: the answer is JSON but not a Prometheus answer (no \"status\")"
}

@test "a status: error answer" {
	canned <<-'EOF'
	[{"status": 200, "body": "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"many-to-many matching not allowed\"}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: Prometheus answered execution: many-to-many matching not allowed"
}

@test "a success with a warning (a remote read failed: series may be missing) is 69 and no record; an info is not one" {
	canned <<-'EOF'
	[{"match": "requests", "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"7\"]}]},\"warnings\":[\"PromQL info: metric might not be a counter\",\"remote_read: error sending request: connection refused\"]}"},
	 {"body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"0.2\"]}]},\"warnings\":[\"PromQL info: metric might not be a counter, name does not end in _total\"],\"infos\":[\"PromQL info: another\"]}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $FAKE: Prometheus answered a warning, so its figures may be incomplete: remote_read: error sending request: connection refused"
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --range 1000,1030 --step 15 \
	    --latency-query 'sum(requests_latency)'
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: Prometheus answered a warning, so its figures may be incomplete: remote_read: error sending request: connection refused"
	# Notes alone: the figures are whole.
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --requests-query 'sum(x)'
	assert_success
	assert_output --regexp '"latency":200,"requests":0\}$'
	assert_equal "$stderr" ""
}

@test "a slow answer beyond --timeout is a temporary failure" {
	canned <<-'EOF'
	[{"status": 200, "delay": 5, "body": "{}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --timeout 0.3 --retries 0
	assert_failure 75
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: timed out after 0.3 s"
}

@test "canned: empty vector, several series, NaN latency" {
	canned <<-EOF
	[{"match": "duration", "body": $(jstr "$VECTOR_NAN")},
	 {"match": "_total{path=\"/two\"}", "body": $(jstr "$VECTOR_TWO")},
	 {"match": "_total{path=\"/empty\"}", "body": $(jstr "$VECTOR_EMPTY")},
	 {"match": "", "body": $(jstr "$VECTOR_7")}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1
	assert_success
	assert_output --regexp '"pod":1,"latency":0,"requests":7\}$'
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --path /two
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $FAKE: the answer has 2 series, not one; aggregate them in the query, e.g. sum(...)"
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --path /empty
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get requests from $FAKE: no data for sum(increase(http_server_requests_total{path=\"/empty\"}[30s])) (an empty vector); is the target scraped?"
}

@test "the query is URL-encoded and evaluated at the record's time" {
	canned <<-EOF
	[{"body": $(jstr "$VECTOR_7")}]
	EOF
	# shellcheck disable=SC1003 # the path ends with a backslash
	run qs-observe --prometheus "$FAKE" --pod 1 --path '/a b&c="d"\' --window 1m30s
	assert_success
	# The record's time to the millisecond is the queries' time.
	rt=$(get time)
	[[ $rt =~ ^[0-9-]{10}T[0-9:]{8}\.([0-9]{3})Z$ ]]
	t=$(date -u -d "$rt" +%s).${BASH_REMATCH[1]}
	run python3 -c '
import json, sys
for line in open("fake.log"):
    r = json.loads(line)
    print(r["path"], r["time"], r["query"], sep="|")'
	assert_line --index 0 "/api/v1/query|$t|sum(rate(http_server_request_duration_seconds_sum{path=\"/a b&c=\\\"d\\\"\\\\\"}[1m30s])) / sum(rate(http_server_request_duration_seconds_count{path=\"/a b&c=\\\"d\\\"\\\\\"}[1m30s]))"
	assert_line --index 1 "/api/v1/query|$t|sum(increase(http_server_requests_total{path=\"/a b&c=\\\"d\\\"\\\\\"}[1m30s]))"
}

@test "basic auth from a password file; the secret is never printed" {
	canned <<-'EOF'
	[{"status": 401, "body": "Unauthorized\n"}]
	EOF
	printf 's3cret-pw\n' >pw
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --user qscale --password-file pw
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: HTTP 401 Unauthorized"
	grep -q '"authorization": "Basic cXNjYWxlOnMzY3JldC1wdw=="' fake.log
	: >fake.log
	QS_PROMETHEUS_USER=qscale QS_PROMETHEUS_PASSWORD_FILE=pw run --separate-stderr \
	    qs-observe --prometheus "$FAKE" --pod 1
	assert_failure 69
	grep -q '"authorization": "Basic cXNjYWxlOnMzY3JldC1wdw=="' fake.log
	url="http://qscale:url-s3cret@127.0.0.1:$(cat fake.port)"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: HTTP 401 Unauthorized"
}

@test "a bearer token file" {
	canned <<-EOF
	[{"body": $(jstr "$VECTOR_7")}]
	EOF
	printf 'tok-123\n' >token
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --token-file token
	assert_success
	[ "$(grep -c '"authorization": "Bearer tok-123"' fake.log)" -eq 2 ]
	refute_output --partial tok-123
	assert_equal "$stderr" ""
	# Credentials given as options replace those of the environment.
	: >fake.log
	printf 'pw\n' >pw
	QS_PROMETHEUS_USER=u QS_PROMETHEUS_PASSWORD_FILE=pw run --separate-stderr \
	    qs-observe --prometheus "$FAKE" --pod 1 --token-file token
	assert_success
	[ "$(grep -c '"authorization": "Bearer tok-123"' fake.log)" -eq 2 ]
}

@test "secret files: missing, empty, and conflicting settings" {
	run --separate-stderr qs-observe --pod 1 --token-file missing
	assert_failure 66
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot open token file missing: No such file or directory"
	: >empty
	run --separate-stderr qs-observe --pod 1 --user u --password-file empty
	assert_failure 65
	assert_equal "$stderr" "qs-observe: password file empty is empty"
	run --separate-stderr qs-observe --pod 1 --user u
	assert_failure 64
	assert_equal "$stderr" "qs-observe: basic auth needs both a user and a password file"
	printf 'x\n' >pw
	run --separate-stderr qs-observe --pod 1 --user u --password-file pw --token-file pw
	assert_failure 64
	assert_equal "$stderr" "qs-observe: a bearer token and basic auth exclude each other"
}

@test "TLS is verified by default; --cacert and --insecure-skip-tls-verify" {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
	canned --tls cert.pem key.pem <<-EOF
	[{"body": $(jstr "$VECTOR_7")}]
	EOF
	url="https://127.0.0.1:$(cat fake.port)"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $url: SSL certificate problem: self-signed certificate"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1 --cacert cert.pem
	assert_success
	assert_output --regexp '"latency":7400,"requests":7\}$'
	run --separate-stderr qs-observe --prometheus "$url" --pod 1 --insecure-skip-tls-verify
	assert_success
}

# --- usage and input --------------------------------------------------------

@test "without --pod, a deployment is needed to count ready replicas" {
	run --separate-stderr qs-observe --prometheus "$PROM"
	assert_failure 64
	assert_output ""
	assert_equal "$stderr" "qs-observe: no deployment to count the ready replicas of: use --deployment, QS_DEPLOYMENT or --pod"
}

@test "pod is the deployment's ready replicas, from the Kubernetes API (qs-sim serve)" {
	load simserve
	start_sim --replicas 3 --deployment web --rate 1
	# The fixture's series have no deployment label: the unscoped selector.
	export QS_SELECTOR='path="/test"'
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --kube-server "$URL"
	assert_success
	assert_output --regexp '^\{"time":"[0-9T:Z.-]+","pod":3,"latency":240,"requests":[0-9]+\}$'
	QS_DEPLOYMENT=web QS_KUBE_SERVER="$URL" run --separate-stderr qs-observe --prometheus "$PROM" --namespace default
	assert_success
	assert_output --partial '"pod":3,'
	sim_fail 503 1
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --kube-server "$URL"
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: HTTP 503 Service Unavailable: qs-sim: failure 503 injected by /qs-sim/fail"
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment nope --kube-server "$URL"
	assert_failure 69
	assert_output ""
	stop_sim
}

@test "pod through the real kubectl, with a kubeconfig" {
	load simserve
	start_sim --replicas 2 --deployment web --rate 1
	write_kubeconfig "$URL"
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --backend kubectl \
	    --selector 'path="/test"'
	assert_success
	assert_output --partial '"pod":2,'
	run --separate-stderr qs-observe --backend kubectl --kube-server "$URL" --deployment web
	assert_failure 64
	stop_sim
}

@test "a deployment asked of Kubernetes without a namespace counts only its own namespace's requests" {
	load simserve
	# web in two namespaces: 1 replica in default, 3 in shop.
	start_sim --rate 1 --deployment web --namespace default --replicas 1 \
	    --deployment web --namespace shop --replicas 3
	canned <<-'EOF'
	[{"match": "requests_total{namespace=\"shop\",deployment=\"web\"}", "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"13\"]}]}}"},
	 {"match": "requests_total{namespace=\"default\",deployment=\"web\"}", "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"7\"]}]}}"},
	 {"match": "requests_total{deployment=\"web\"}", "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"20\"]}]}}"},
	 {"match": "duration", "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1,\"0.2\"]}]}}"}]
	EOF
	# kubectl's context is in shop: its web's 3 replicas, its requests.
	write_kubeconfig "$URL" shop
	run --separate-stderr qs-observe --prometheus "$FAKE" --deployment web --backend kubectl
	assert_success
	assert_output --regexp '"pod":3,"latency":200,"requests":13\}$'
	# The API backend's namespace is default.
	run --separate-stderr qs-observe --prometheus "$FAKE" --deployment web --kube-server "$URL"
	assert_success
	assert_output --regexp '"pod":1,"latency":200,"requests":7\}$'
	grep -q 'namespace=\\"default\\",deployment=\\"web\\"}\[30s\]))' fake.log
	stop_sim
}

@test "bad options" {
	run --separate-stderr qs-observe --pod 1 --window 30
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --window: 30 (a PromQL duration such as 30s or 1m30s)"
	run --separate-stderr qs-observe --pod -1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --pod: -1 (an integer from 0 to 1000000)"
	QS_POD=two run --separate-stderr qs-observe
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid QS_POD: two (an integer from 0 to 1000000)"
	run --separate-stderr qs-observe --pod 1 --timeout 0
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --timeout: 0 (a number from 0.001 to 86400)"
	run --separate-stderr qs-observe --pod 1 --format xml
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --format: xml (json or csv)"
	run --separate-stderr qs-observe --pod 1 --prometheus ftp://127.0.0.1/
	assert_failure 64
	assert_equal "$stderr" "qs-observe: Prometheus URL must start with http:// or https://"
	run --separate-stderr qs-observe --pod 1 --path /x --latency-query 1 --requests-query 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: --path and --window change only the default queries, and both are replaced"
	run --separate-stderr qs-observe --pod 1 --latency-query ''
	assert_failure 64
	assert_equal "$stderr" "qs-observe: a query must not be empty"
	run --separate-stderr qs-observe --pod 1 --path "$(printf 'a\nb')"
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid --path: it must be printable and shorter than 512 bytes"
	run --separate-stderr qs-observe --pod 1 extra
	assert_failure 64
	[[ "$stderr" == "qs-observe: unexpected operand: extra"$'\n'"usage: qs-observe [--backend b] [--backoff s]"* ]]
	run --separate-stderr qs-observe --bogus
	assert_failure 64
	assert_output ""
}

@test "--next: no record, or a bad one, fails before any query" {
	canned <<-'EOF'
	[{"body": "{}"}]
	EOF
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --next </dev/null
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "qs-observe: no record on standard input to add the next state to"
	printf '{"pod": 1\n' >bad.json
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --next <bad.json
	assert_failure 65
	assert_output ""
	[ ! -s fake.log ]
}

@test "--help and --version" {
	run --separate-stderr qs-observe --help
	assert_success
	assert_line --index 0 --partial "usage: qs-observe [--backend b] [--backoff s]"
	assert_equal "$stderr" ""
	run qs-observe --version
	assert_success
	assert_output --regexp '^qs-observe \(qscale\) [0-9.]+$'
}

@test "the usage text matches the man page's SYNOPSIS" {
	run --separate-stderr qs-observe --help
	usage=$(printf '%s\n' "$output" | sed -n '/^usage:/,/^$/p' | tr -s ' \n' ' ' | sed 's/^usage: //; s/ $//')
	synopsis=$(mandoc -Tascii "$TOP/man/qs-observe.1" | sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' | sed '1d;$d' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')
	assert_equal "$synopsis" "$usage"
}

@test "a write error on standard output is 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	run --separate-stderr bash -c 'qs-observe --prometheus "$1" --pod 1 --path /idle >/dev/full' _ "$PROM"
	assert_failure 74
	assert_equal "$stderr" "qs-observe: cannot write standard output: No space left on device"
}

# --- the man page's EXAMPLES ------------------------------------------------

@test "EXAMPLES: qs-observe --pod 2" {
	export QS_PROMETHEUS_URL=$PROM
	run --separate-stderr qs-observe --pod 2
	assert_success
	[ "$(get latency)" = 240 ]
	[ "$(get requests)" -gt 0 ]
}

@test "EXAMPLES: qs-observe --pod 3 --path /api --window 1m" {
	export QS_PROMETHEUS_URL=$PROM
	run --separate-stderr qs-observe --pod 3 --path /api --window 1m
	assert_success
	[ "$(get latency)" = 1000 ]
	[ "$(get pod)" = 3 ]
}

@test "EXAMPLES: before and after: --next" {
	export QS_PROMETHEUS_URL=$PROM
	qs-observe --pod 1 > pending.json
	run --separate-stderr qs-observe --next --pod 2 < pending.json
	assert_success
	assert_output --regexp '^\{"time":"[^"]+","pod":1,"latency":240,"requests":[0-9]+,"new_time":"[^"]+","new_pod":2,"new_latency":240,"new_requests":[0-9]+\}$'
}

@test "EXAMPLES: custom queries" {
	export QS_PROMETHEUS_URL=$PROM
	run --separate-stderr qs-observe --pod 1 --latency-query 'max(rate(http_server_request_duration_seconds_sum[1m]) / rate(http_server_request_duration_seconds_count[1m]))' --requests-query 'sum(increase(http_server_requests_total[1m]))'
	assert_success
	[ "$(get latency)" = 1000 ]
}

@test "EXAMPLES: a token and a strict timeout" {
	canned <<-EOF
	[{"body": $(jstr "$VECTOR_7")}]
	EOF
	export QS_PROMETHEUS_URL=$FAKE
	printf 'tok\n' >token
	run --separate-stderr qs-observe --pod 2 --token-file token --timeout 2 --retries 1
	assert_success
	assert_output --regexp '"pod":2,"latency":7400,"requests":7\}$'
}

@test "a connection reset is retried, then 69; nothing on stdout" {
	python3 -c '
import socket, struct, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open("rst.port", "w").write(str(s.getsockname()[1]))
for _ in range(2):
    c, _ = s.accept()
    c.recv(4096)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
' 3>&- &
	echo $! > fake.pid
	wait_for_file rst.port
	url="http://127.0.0.1:$(cat rst.port)"
	run --separate-stderr qs-observe --prometheus "$url" --pod 1 --retries 1 --backoff 0
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $url: Recv failure: Connection reset by peer (2 attempts)"
}

# --- the Kubernetes client's odd answers -----------------------------------

# qs-observe against the canned answer: 69 and "invalid deployment: $1",
# then the fake server stopped for the next answer.
refused_deployment() {
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --kube-server "$FAKE"
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: invalid deployment: $1"
	grep -q '"path": "/apis/apps/v1/namespaces/default/deployments/web"' fake.log
	kill "$(cat fake.pid)"
	rm -f fake.port fake.pid
}

@test "a Kubernetes answer that is not a Deployment is 69, never pod 0" {
	# An empty object with 200 once made qs-observe print pod 0 and exit 0.
	canned <<-'EOF'
	[{"body": "{}"}]
	EOF
	refused_deployment "the answer has no kind, not a Deployment"
	canned <<-'EOF'
	[{"body": "{\"apiVersion\":\"apps/v1\",\"kind\":\"DeploymentList\",\"items\":[]}"}]
	EOF
	refused_deployment "the answer is a DeploymentList, not a Deployment"
}

@test "a Deployment without spec, or without spec.replicas, is 69 as any other malformed answer" {
	# Both once read as 1 replica wanted: a count nobody set.
	canned <<-'EOF'
	[{"body": "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"status\":{\"replicas\":2,\"readyReplicas\":2}}"}]
	EOF
	refused_deployment "the answer has no spec"
	canned <<-'EOF'
	[{"body": "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\"},\"spec\":{\"paused\":false},\"status\":{\"replicas\":2,\"readyReplicas\":2}}"}]
	EOF
	refused_deployment "the answer has no spec.replicas"
}

@test "a Kubernetes timeout is 75, as a Prometheus one" {
	canned <<-'EOF'
	[{"body": "{}", "delay": 3}]
	EOF
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --kube-server "$FAKE" --timeout 0.3
	assert_failure 75
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: $FAKE timed out after 0.3 s"
}

@test "names that are not DNS-1123 are 64 before any request" {
	canned <<-'EOF'
	[{"body": "{}"}]
	EOF
	for name in -lapp --all -v9 -- . .. Web; do
		run --separate-stderr qs-observe --prometheus "$FAKE" --deployment "$name" --kube-server "$FAKE"
		assert_failure 64
		assert_output ""
		assert_equal "$stderr" "qs-observe: invalid --deployment: \"$name\" is not a deployment name (a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters)"
		QS_DEPLOYMENT=$name run --separate-stderr qs-observe --prometheus "$FAKE" --kube-server "$FAKE"
		assert_failure 64
		[[ $stderr == "qs-observe: invalid QS_DEPLOYMENT: \"$name\" is not a deployment name"* ]]
		run --separate-stderr qs-observe --prometheus "$FAKE" --deployment web --namespace "$name" --kube-server "$FAKE"
		assert_failure 64
		assert_equal "$stderr" "qs-observe: invalid --namespace: \"$name\" is not a namespace (a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters)"
		QS_NAMESPACE=$name run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1
		assert_failure 64
		[[ $stderr == "qs-observe: invalid QS_NAMESPACE: \"$name\" is not a namespace"* ]]
	done
	[ ! -s fake.log ]
}

@test "credentials in the Kubernetes and the Prometheus URL are never printed" {
	canned <<-'EOF'
	[{"body": "{}", "delay": 3}]
	EOF
	port=$(cat fake.port)
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web \
	    --kube-server "http://alice:s3cr3t@127.0.0.1:$port" --timeout 0.3
	assert_failure 75
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: http://127.0.0.1:$port timed out after 0.3 s"
	QS_KUBE_SERVER="http://alice:s3cr3t@127.0.0.1:$port/" run --separate-stderr qs-observe \
	    --prometheus "$PROM" --deployment web --timeout 0.3
	assert_failure 75
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: http://127.0.0.1:$port timed out after 0.3 s"
	# Prometheus' URL the same way.
	run --separate-stderr qs-observe --prometheus "http://alice:s3cr3t@127.0.0.1:$port" \
	    --pod 1 --timeout 0.3 --retries 0
	assert_failure 75
	assert_equal "$stderr" "qs-observe: cannot get latency from http://127.0.0.1:$port: timed out after 0.3 s"
}

@test "an answer of 150,000 series is refused with 69, within the CronJob's memory" {
	python3 -c '
import json
res = [{"metric": {"pod": "p%d" % i}, "value": [1.5, "1"]} for i in range(150000)]
body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": res}})
json.dump([{"body": body}], open("rules.in", "w"))'
	canned <rules.in
	run --separate-stderr qs-observe --prometheus "$FAKE" --pod 1 --retries 2 --backoff 0
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $FAKE: the answer is longer than 262144 bytes"
	# Not retried: the same answer would come again.
	[ "$(wc -l <fake.log)" -eq 1 ]
	if [ -x /usr/bin/time ]; then
		# deploy/kubernetes/cronjob.yaml limits the tick to 64Mi; it was 166 MB.
		/usr/bin/time -o rss -f %M qs-observe --prometheus "$FAKE" --pod 1 --retries 0 2>/dev/null || true
		[ "$(tail -n 1 rss)" -lt 32768 ]
	fi
}

@test "a Kubernetes answer longer than 2 MiB is refused with 69, within the CronJob's memory" {
	python3 -c '
import json
ann = {"k%d" % i: "v" for i in range(300000)}
body = json.dumps({"kind": "Deployment", "metadata": {"name": "web", "annotations": ann},
                   "spec": {"replicas": 1}, "status": {"readyReplicas": 1}})
json.dump([{"body": body}], open("rules.in", "w"))'
	canned <rules.in
	run --separate-stderr qs-observe --prometheus "$PROM" --deployment web --kube-server "$FAKE"
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get the ready replicas of web: $FAKE: answer longer than 2097152 bytes"
	if [ -x /usr/bin/time ]; then
		# It took 71 MB with a 4 MiB bound; the CronJob allows 64Mi.
		/usr/bin/time -o rss -f %M qs-observe --prometheus "$PROM" --deployment web --kube-server "$FAKE" 2>/dev/null || true
		[ "$(tail -n 1 rss)" -lt 32768 ]
	fi
}

@test "--next --unbuffered observes and answers each record as it comes; without it, it does not" {
	load simserve
	load coprocess
	start_sim --replicas 3 --deployment web --rate 1
	printf '%s\n' '{"action":3}' '{"action":2}' '{"action":1}' >in
	# Between two records the deployment is scaled down by one.
	# shellcheck disable=SC2317 # called by roundtrip
	between() {
		[ "$1" -ge 3 ] || echo "{\"action\":$((3 - $1))}" |
		    qs-scale --server "$URL" --deployment web >/dev/null
	}
	run roundtrip in 30 qs-observe --next --unbuffered --prometheus "$PROM" \
	    --selector 'path="/idle"' --deployment web --kube-server "$URL"
	assert_success
	assert_equal "$(cat status)" 0
	run cat answers
	assert_line -n 0 --regexp '^\{"action":3,"new_time":"[0-9T:Z.-]+","new_pod":3,"new_latency":0,"new_requests":0\}$'
	assert_line -n 1 --partial '"new_pod":2,'
	assert_line -n 2 --partial '"new_pod":1,'
	unset -f between
	run roundtrip in 1 qs-observe --next --prometheus "$PROM" --path /idle --pod 2
	assert_failure 1
	[ ! -s answers ]
	run qs-observe --unbuffered --prometheus "$PROM" --pod 1
	assert_failure 64
	assert_output "qs-observe: --unbuffered needs --next"
	stop_sim
}

@test "--next asks Kubernetes for the ready replicas once a record is read, not when it starts" {
	load simserve
	start_sim --replicas 3 --deployment web --rate 1
	mkfifo to.fifo from.fifo
	qs-observe --next --unbuffered --prometheus "$PROM" --selector 'path="/idle"' \
	    --deployment web --kube-server "$URL" <to.fifo >from.fifo 2>err 3>&- &
	pid=$!
	exec {w}>to.fifo {r}<from.fifo
	# The co-process waits for its first transition; meanwhile its action
	# (1 replica) is applied.  A moment lets a start-up read happen first.
	sleep 0.3
	echo '{"action":1}' | qs-scale --server "$URL" --deployment web --no-events --down-window 0 >/dev/null
	echo '{"action":1}' >&"$w"
	IFS= read -r -t 10 answer <&"$r"
	exec {w}>&- {r}<&-
	wait "$pid"
	[[ $answer == *'"new_pod":1,'* ]] || { echo "$answer" >&2; false; }
	# So a missing first record is said before Kubernetes is asked.
	sim_fail 503 1
	run --separate-stderr qs-observe --next --prometheus "$PROM" --deployment web \
	    --kube-server "$URL" </dev/null
	assert_failure 65
	assert_equal "$stderr" "qs-observe: no record on standard input to add the next state to"
	stop_sim
}

# --- --range: past observations through query_range ------------------------

@test "--range exports one record per step, merged by time, in CSV" {
	now=$(date +%s)
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 2 --window 5s \
	    --range "$((now - 4)),$now" --step 2 --format csv
	assert_success
	assert_equal "$stderr" ""
	assert_line --index 0 'time,pod,latency,requests'
	[ "${#lines[@]}" -eq 4 ]
	for i in 1 2 3; do
		IFS=, read -r t pod lat req <<<"${lines[$i]}"
		assert_equal "$(date -u -d "$t" +%s)" "$((now - 4 + 2 * (i - 1)))"
		assert_equal "$pod" 2
		assert_equal "$lat" 240
		near "$req" 50 2
	done
}

@test "--range takes RFC 3339 times and writes JSON Lines by default" {
	now=$(date +%s)
	a=$(date -u -d "@$((now - 3))" +%Y-%m-%dT%H:%M:%SZ)
	# The same instant an hour ahead of UTC.
	b=$(TZ=Etc/GMT-1 date -d "@$now" +%Y-%m-%dT%H:%M:%S+01:00)
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --window 5s \
	    --range "$a,$b" --step 3
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	output=${lines[0]}
	assert_equal "$(get time)" "$a"
	assert_equal "$(get latency)" 240
}

@test "--range: the replicas from --replicas-query, or the pods that expose the counter" {
	now=$(date +%s)
	run --separate-stderr qs-observe --prometheus "$PROM" --window 5s \
	    --range "$((now - 2)),$now" --step 2 --replicas-query 'vector(7)'
	assert_success
	output=${lines[0]}
	assert_equal "$(get pod)" 7
	# The fixture serves the counter for two pods on path /test.
	run --separate-stderr qs-observe --prometheus "$PROM" --window 5s \
	    --range "$((now - 2)),$now" --step 2
	assert_success
	output=${lines[1]}
	assert_equal "$(get pod)" 2
	# One pod whose counter has a series per status code is one replica.
	run --separate-stderr qs-observe --prometheus "$PROM" --window 5s \
	    --range "$((now - 2)),$now" --step 2 --selector 'path="/codes"'
	assert_success
	output=${lines[1]}
	assert_equal "$(get pod)" 1
}

@test "--range pages through more than Prometheus' 11,000 points a query" {
	now=$(date +%s)
	# 12,001 times a second apart: two pages; only the last seconds have data.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --window 5s \
	    --range "$((now - 12000)),$now" --step 1 --format csv
	assert_success
	[ "${#lines[@]}" -ge 3 ]
	assert_equal "$(date -u -d "${lines[-1]%%,*}" +%s)" "$now"
	assert_equal "$stderr" "qs-observe: $((12002 - ${#lines[@]})) of the 12001 times had no sample of a query and were left out"
}

@test "--range: no data at all is 69; bad ranges and combinations are 64" {
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range 1000,1010 --step 5
	assert_failure 69
	assert_output ""
	assert_equal "$stderr" "qs-observe: cannot get latency from $PROM: no data for sum(rate(http_server_request_duration_seconds_sum{path=\"/test\"}[30s])) / sum(rat... over the range; is the target scraped?"
	# The query that had no data is named, whichever it is.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range 1000,1010 --step 5 \
	    --latency-query 'vector(0.1)' --requests-query 'sum(nothing_total)'
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get requests from $PROM: no data for sum(nothing_total) over the range; is the target scraped?"
	run --separate-stderr qs-observe --prometheus "$PROM" --range 1000,1010 --step 5 \
	    --latency-query 'vector(0.1)' --requests-query 'vector(3)' --deployment web --namespace shop
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get replicas from $PROM: no data for count(count by (pod, instance) (http_server_requests_total{namespace=\"shop\",depl... over the range; is the target scraped, with the labels namespace=\"shop\",deployment=\"web\" (--selector)?"
	# Each has samples, never at the same time.
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range 1000,1010 --step 5 \
	    --latency-query 'vector(0.1) and on() vector(time()) < 1004' \
	    --requests-query 'vector(3) and on() vector(time()) > 1006'
	assert_failure 69
	assert_equal "$stderr" "qs-observe: cannot get observations from $PROM: no time of the range has a sample of every query (latency and requests)"
	for r in 1000 1000,x 2026-13-01T00:00:00Z,1000 2000,1000; do
		run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range "$r"
		assert_failure 64
		[ "${#stderr_lines[@]}" -eq 1 ]
		assert_regex "$stderr" '^qs-observe: invalid --range: '
	done
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --step 5
	assert_failure 64
	assert_equal "$stderr" "qs-observe: --replicas-query and --step need --range"
	run --separate-stderr qs-observe --prometheus "$PROM" --next --range 1000,2000 </dev/null
	assert_failure 64
	assert_equal "$stderr" "qs-observe: --next and --range exclude each other"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --replicas-query 'vector(1)' --range 1000,2000
	assert_failure 64
	assert_equal "$stderr" "qs-observe: --pod and --replicas-query exclude each other"
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range 1000,2000 --step 0
	assert_failure 64
}

@test "--range: several series are refused, pointing at sum()" {
	now=$(date +%s)
	run --separate-stderr qs-observe --prometheus "$PROM" --pod 1 --range "$((now - 2)),$now" \
	    --requests-query 'http_server_requests_total'
	assert_failure 65
	assert_output ""
	assert_regex "$stderr" "^qs-observe: cannot get requests from $PROM: the answer has [0-9]+ series, not one; aggregate them in the query, e.g. sum\(...\)$"
}

@test "a query setting from the environment is named so in its usage errors" {
	QS_SELECTOR='job="web"' run --separate-stderr qs-observe --pod 1 --path /a
	assert_failure 64
	assert_equal "$stderr" "qs-observe: --path and QS_SELECTOR exclude each other: put the path in the selector"
	QS_SELECTOR='namespace="$NAMESPACE"' run --separate-stderr qs-observe --pod 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid QS_SELECTOR: it names the namespace, but none is given (--namespace or QS_NAMESPACE)"
	QS_METRIC_PREFIX=1x run --separate-stderr qs-observe --pod 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: invalid QS_METRIC_PREFIX: 1x (letters, digits, _ and :, not first a digit)"
	QS_LATENCY_PERCENTILE=0.9 QS_LATENCY_QUERY=1 run --separate-stderr qs-observe --pod 1
	assert_failure 64
	assert_equal "$stderr" "qs-observe: QS_LATENCY_PERCENTILE and QS_LATENCY_QUERY exclude each other"
	QS_LATENCY_PERCENTILE=0.9 run --separate-stderr qs-observe --pod 1 --latency-query 1
	assert_equal "$stderr" "qs-observe: QS_LATENCY_PERCENTILE and --latency-query exclude each other"
	QS_SELECTOR=a run --separate-stderr qs-observe --pod 1 --latency-query 1 --requests-query 2
	assert_failure 64
	assert_equal "$stderr" "qs-observe: QS_SELECTOR changes only the default queries, and both are replaced"
	run --separate-stderr qs-observe --pod 1 --selector a --metric-prefix b --latency-query 1 --requests-query 2
	assert_equal "$stderr" "qs-observe: --selector and --metric-prefix change only the default queries, and both are replaced"
}
