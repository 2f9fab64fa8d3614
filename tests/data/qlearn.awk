# An independent model of qs-sim train for the tests: the notebook's
# learning rule, reward rules and table layout, on a table of replicas
# 1..3, latency buckets 500 ms x 4 and request buckets 18 x 3.
#
# mode=sim:    run greedy training (epsilon 0, no noise) over the trace
#              given as the first file, for epochs epochs.  With delay
#              (the start-up delay: 60, one interval, or 0) new replicas
#              are ready only at the end of the interval they start in,
#              which it runs on the replicas it began with.
# mode=replay: replay a history (the first file) into a table; check that
#              each row's reward and q_value are what the rules give.
# Both print the expected table on stdout as CSV.
BEGIN {
	FS = ","
	base = 283; ideal = 500; cap = 0.353; interval = 60; window = 30
	alpha = 0.1; gamma = 0.6
	if (delay == "") delay = 60
	nlat = 4; nreq = 3; pmin = 1; pmax = 3
	for (l = 0; l < nlat; l++) { latlo[l] = l ? l * 500 + 1 : 0; lathi[l] = (l + 1) * 500 }
	for (r = 0; r < nreq; r++) { reqlo[r] = r ? r * 18 + 1 : 0; reqhi[r] = (r + 1) * 18 }
}
function bucket(x, hi, n,    i) {
	for (i = 0; i < n - 1; i++)
		if (x <= hi[i])
			return i
	return n - 1
}
function state(pod, lat, req) {
	if (pod < pmin) pod = pmin
	if (pod > pmax) pod = pmax
	return pod SUBSEP bucket(lat, lathi, nlat) SUBSEP bucket(req, reqhi, nreq)
}
function best(s,    a, b) {
	b = pmin
	for (a = pmin + 1; a <= pmax; a++)
		if (Q[s, a] > Q[s, b])
			b = a
	return b
}
function rnd(x) { return int(x + 0.5) }
function latency(pods, rate) { return base + (ideal - base) * (rate / pods) / cap }
function cmp(new, old) { return new == old ? "kept" : (new > old ? "up" : "down") }
# The notebook's get_reward, reward_within_ideal and reward_out_ideal.
function reward(pod, act, lat, nlat,    p, l) {
	p = cmp(act, pod); l = cmp(nlat, lat)
	if (lat <= ideal) {
		if (nlat > ideal) return -20
		if (p == "kept") return 10
		if (p == "down") return 20
		return l == "kept" ? -10 : (l == "up" ? 0 : -20)
	}
	if (nlat <= ideal) return 20
	if (p == "kept") return l == "down" ? -10 : -20
	if (p == "up") return l == "down" ? 10 : 0
	return l == "kept" ? -10 : (l == "up" ? -20 : 0)
}
function update(s, a, r, s2,    v) {
	v = (1 - alpha) * Q[s, a] + alpha * (r + gamma * Q[s2, best(s2)])
	Q[s, a] = v
	return v
}
mode == "sim" && FNR > 1 { rate[n++] = $2 / interval }
mode == "replay" && FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
mode == "replay" {
	s = state($col["pod"], $col["latency"], $col["requests"])
	a = $col["action"]
	r = reward($col["pod"], a, $col["latency"], $col["new_latency"])
	if (r != $col["reward"]) { print "reward of epoch " $col["epoch"] " is " $col["reward"] ", expected " r > "/dev/stderr"; bad = 1 }
	v = update(s, a, r, state(a, $col["new_latency"], $col["new_requests"]))
	if (v - $col["q_value"] > 1e-9 || $col["q_value"] - v > 1e-9) { print "q_value of epoch " $col["epoch"] " is " $col["q_value"] ", expected " v > "/dev/stderr"; bad = 1 }
}
END {
	if (mode == "sim") {
		# The first state is the interval before the start: the trace loops.
		pod = pmin
		lat = rnd(latency(pod, rate[n - 1])); req = rnd(rate[n - 1] * window)
		for (e = 0; e < epochs; e++) {
			s = state(pod, lat, req)
			a = best(s)
			i = e % n
			nl = rnd(latency(a > pod && delay > 0 ? pod : a, rate[i]))
			nr = rnd(rate[i] * window)
			update(s, a, reward(pod, a, lat, nl), state(a, nl, nr))
			pod = a; lat = nl; req = nr
		}
	}
	print "pod,initial_latency,end_latency,initial_request,end_request,1,2,3"
	for (r = 0; r < nreq; r++)
		for (l = 0; l < nlat; l++)
			for (p = pmin; p <= pmax; p++) {
				s = p SUBSEP l SUBSEP r
				printf "%d,%d,%d,%d,%d", p, latlo[l], lathi[l], reqlo[r], reqhi[r]
				for (a = pmin; a <= pmax; a++)
					printf ",%.17g", Q[s, a] + 0
				printf "\n"
			}
	exit bad
}
