# shellcheck shell=bash
# A simulated cluster on loopback for the demo and the driver's tests:
# qs-sim serve (the Kubernetes API and /metrics of one deployment) and a
# real Prometheus scraping it every second.  Source this file, then
#
#	lab_start DIR [qs-sim serve options]	sets SIM_URL and PROM_URL
#	lab_wait_data DIR WINDOW		waits until queries have data
#	lab_stop DIR				stops what lab_start started
#
# Everything lives in DIR; ports are picked by the kernel.

lab_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

lab_start() {
	local dir=$1 i port
	shift
	mkdir -p "$dir"
	rm -f "$dir/sim.port"
	qs-sim serve --listen 127.0.0.1:0 --port-file "$dir/sim.port" "$@" \
	    > "$dir/sim.log" 2>&1 3>&- &
	echo $! > "$dir/sim.pid"
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/sim.port" ] && break
		sleep 0.05
	done
	if [ ! -s "$dir/sim.port" ]; then
		echo "lab: qs-sim serve did not start:" >&2
		cat "$dir/sim.log" >&2
		return 1
	fi
	SIM_URL="http://127.0.0.1:$(cat "$dir/sim.port")"
	cat > "$dir/prometheus.yml" <<-EOC
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: qs-sim
	    static_configs:
	      - targets: ['${SIM_URL#http://}']
	EOC
	port=$(lab_free_port)
	prometheus --config.file="$dir/prometheus.yml" \
	    --storage.tsdb.path="$dir/tsdb" \
	    --web.listen-address="127.0.0.1:$port" \
	    > "$dir/prometheus.log" 2>&1 3>&- &
	echo $! > "$dir/prometheus.pid"
	PROM_URL="http://127.0.0.1:$port"
	export SIM_URL PROM_URL
}

# Wait (up to about 60 s) until the target is up and the request counter
# has samples over the given window: three scrapes in it that succeeded
# (up is 1), since a failed one leaves a sample of up, 0, but none of the
# counter, and a late one none at all.
lab_wait_data() {
	local dir=$1 window=$2 i
	for ((i = 0; i < 600; i++)); do
		if curl -sf "$PROM_URL/api/v1/query" --data-urlencode \
		    "query=sum_over_time(up{job=\"qs-sim\"}[$window]) >= 3" |
		    grep -q '"value"'; then
			return 0
		fi
		sleep 0.1
	done
	echo "lab: Prometheus has no data from qs-sim:" >&2
	tail -5 "$dir/prometheus.log" >&2
	return 1
}

lab_stop() {
	local dir=$1 f pid
	for f in prometheus sim; do
		[ -f "$dir/$f.pid" ] || continue
		pid=$(cat "$dir/$f.pid")
		kill "$pid" 2>/dev/null || true
	done
	for f in prometheus sim; do
		[ -f "$dir/$f.pid" ] || continue
		pid=$(cat "$dir/$f.pid")
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
		rm -f "$dir/$f.pid"
	done
}
