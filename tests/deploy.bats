#!/usr/bin/env bats
# deploy/: the Kubernetes manifests parse and grant exactly what qscale
# uses; the Dockerfile has the expected shape.
#
# No cluster and no Docker daemon exist here.  kubectl create and apply,
# even with --dry-run=client, ask a server for its API groups, so the
# manifests are parsed offline instead: by kubectl's own decoder
# (kubectl label --local, kubectl kustomize) and by python3-yaml for the
# structural checks.  docker build cannot run; the Dockerfile is checked
# for its structure only.

load helpers

K8S="$TOP/deploy/kubernetes"

# Run a Python check over every document of the manifests, as a list docs.
pycheck() {
	python3 -c '
import glob, sys, yaml
docs = []
for f in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    if f.endswith("/kustomization.yaml"):
        continue
    with open(f) as fp:
        docs += [d for d in yaml.safe_load_all(fp) if d is not None]
def one(kind):
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, "%d %s" % (len(found), kind)
    return found[0]
exec(sys.argv[2])
' "$K8S" "$1"
}

@test "every manifest parses with kubectl's decoder, offline" {
	for f in "$K8S"/*.yaml; do
		[ "${f##*/}" = kustomization.yaml ] && continue
		run kubectl label --local -f "$f" qscale-check=1 -o yaml
		assert_success
		assert_line "    qscale-check: \"1\""
	done
	run kubectl kustomize "$K8S"
	assert_success
	run bash -c "kubectl kustomize '$K8S' | grep '^kind:' | sort"
	assert_output "kind: ConfigMap
kind: CronJob
kind: PersistentVolumeClaim
kind: Role
kind: RoleBinding
kind: ServiceAccount"
}

@test "a malformed manifest is caught" {
	sed 's/^  name: qscale$/  name: [qscale/' "$K8S/role.yaml" > bad.yaml
	run kubectl label --local -f bad.yaml qscale-check=1 -o yaml
	assert_failure
	assert_output --partial "error parsing bad.yaml"
}

@test "the Role grants exactly get on deployments, patch on deployments/scale and create on events" {
	run pycheck '
role = one("Role")
got = set()
for r in role["rules"]:
    assert set(r) <= {"apiGroups", "resources", "verbs", "resourceNames"}, r
    for g in r["apiGroups"]:
        for res in r["resources"]:
            for v in r["verbs"]:
                got.add((g or "core", res, v))
want = {("apps", "deployments/scale", "patch"), ("apps", "deployments", "get"),
        ("core", "events", "create")}
assert got == want, sorted(got ^ want)
print(" ".join(sorted("%s/%s:%s" % t for t in got)))
'
	assert_success
	assert_output "apps/deployments/scale:patch apps/deployments:get core/events:create"
	# The deployment rules name the one deployment, not all of them.
	run pycheck '
for r in one("Role")["rules"]:
    if r["apiGroups"] == ["apps"]:
        assert r["resourceNames"] == [one("CronJob")["metadata"]["labels"]["app.kubernetes.io/instance"]], r
'
	assert_success
}

@test "the Role grants what qs-scale and qs-observe ask of the API, and nothing else" {
	# qs-sim serve stands in for the API server, behind a proxy that logs
	# each call as METHOD PATH; the calls, as RBAC sees them, must be the
	# Role's rules, no more and no fewer.
	load simserve
	start_sim --replicas 1 --tick 0
	python3 -c '
import sys, urllib.request, urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
up, log = sys.argv[1], open(sys.argv[2], "a", buffering=1)
class H(BaseHTTPRequestHandler):
    def relay(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        log.write("%s %s\n" % (self.command, self.path.split("?")[0]))
        req = urllib.request.Request(up + self.path, data=body, method=self.command,
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            r = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            r = e
        data = r.read()
        self.send_response(r.status)
        self.send_header("Content-Type", r.headers.get("Content-Type", ""))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_PATCH = do_POST = do_PUT = relay
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[3], "w").write(str(s.server_address[1]))
s.serve_forever()
' "$URL" calls proxy.port 3>&- &
	proxy=$!
	# Stopped, with the server, also when an assertion fails.
	local_teardown() { kill "$proxy" "${prom:-}" 2>/dev/null || true; stop_sim; }
	for _ in $(seq 100); do [ -s proxy.port ] && break; sleep 0.05; done
	P="http://127.0.0.1:$(cat proxy.port)"
	# Up, held by a guard (an Event each), the same count, a dry run.
	printf '%s\n' '{"action":3}' '{"action":9}' '{"action":3}' > in
	run qs-scale --server "$P" --deployment web --max-replicas 3 < in
	assert_success
	run qs-scale --server "$P" --deployment web --dry-run <<<'{"action":1}'
	assert_success
	# qs-observe reads the deployment's ready replicas; Prometheus is canned.
	body='{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"5"]}]}}'
	python3 -c 'import json, sys; json.dump([{"match": "", "body": sys.argv[1]}], open("rules", "w"))' "$body"
	python3 "$TOP/tests/fixture-server.py" --port-file prom.port canned rules 3>&- &
	prom=$!
	for _ in $(seq 100); do [ -s prom.port ] && break; sleep 0.05; done
	run qs-observe --prometheus "http://127.0.0.1:$(cat prom.port)" --kube-server "$P" --deployment web --retries 0
	kill "$prom"
	assert_success
	assert_output --partial '"pod":3'
	kill "$proxy"
	wait "$proxy" 2>/dev/null || true
	stop_sim
	run pycheck '
import re
calls = set()
for line in open("calls"):
    method, path = line.split()
    verb = {"GET": "get", "PATCH": "patch", "PUT": "update", "POST": "create"}[method]
    m = re.fullmatch(r"/apis/(\w+)/v1/namespaces/[^/]+/(\w+)(?:/[^/]+(/\w+)?)?", path) or \
        re.fullmatch(r"/api/v1/namespaces/[^/]+/(\w+)()(?:/[^/]+)?", path)
    assert m, path
    if path.startswith("/apis/"):
        calls.add((m.group(1), m.group(2) + (m.group(3) or ""), verb))
    else:
        calls.add(("core", m.group(1), verb))
granted = set()
for r in one("Role")["rules"]:
    for g in r["apiGroups"]:
        for res in r["resources"]:
            for v in r["verbs"]:
                granted.add((g or "core", res, v))
assert calls == granted, ("used, not granted: %s; granted, not used: %s" %
    (sorted(calls - granted), sorted(granted - calls)))
'
	assert_success
}

@test "the RoleBinding binds the Role to the CronJob's ServiceAccount" {
	run pycheck '
rb, role, sa, cj = one("RoleBinding"), one("Role"), one("ServiceAccount"), one("CronJob")
assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
assert rb["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": sa["metadata"]["namespace"]}]
assert cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] == sa["metadata"]["name"]
ns = {d["metadata"]["namespace"] for d in docs}
assert ns == {"default"}, ns
'
	assert_success
	assert_output ""
}

@test "the CronJob ticks qs-run every 2 minutes, never two at once, as non-root" {
	run pycheck '
cj = one("CronJob")
s = cj["spec"]
assert s["schedule"] == "*/2 * * * *"
assert s["concurrencyPolicy"] == "Forbid"
job = s["jobTemplate"]["spec"]
assert job["backoffLimit"] == 0
assert job["activeDeadlineSeconds"] < 120
pod = job["template"]["spec"]
assert pod["restartPolicy"] == "Never"
assert pod["securityContext"]["runAsNonRoot"] is True
assert pod["securityContext"]["runAsUser"] != 0
(c,) = pod["containers"]
assert "command" not in c, "the image entrypoint, qs-run --once, must run"
a = c["args"]
assert a[a.index("--state-dir") + 1] == "/var/lib/qscale"
conf = a[a.index("--config") + 1]
for x in pod["initContainers"] + [c]:
    assert x["securityContext"]["allowPrivilegeEscalation"] is False
    assert x["securityContext"]["readOnlyRootFilesystem"] is True
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
assert vols[mounts["/var/lib/qscale"]]["persistentVolumeClaim"]["claimName"] == one("PersistentVolumeClaim")["metadata"]["name"]
cm = one("ConfigMap")
d, f = conf.rsplit("/", 1)
assert vols[mounts[d]]["configMap"]["name"] == cm["metadata"]["name"]
assert f in cm["data"], f
assert "emptyDir" in vols[mounts["/tmp"]]
print(pod["securityContext"]["runAsUser"])
'
	assert_success
	assert_output 10001
}

@test "the ConfigMap holds QS_* lines that qs-run --config accepts, files on the volume" {
	python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["qscale.conf"], end="")' "$K8S/configmap.yaml" > qscale.conf
	# qs-run's own rule for a line: a comment, blank, or QS_NAME=value.
	run grep -v -E '^[[:space:]]*(#|$)|^[[:space:]]*(export[[:space:]]+)?QS_[A-Z0-9_]+=' qscale.conf
	assert_failure
	assert_output ""
	for k in QS_DEPLOYMENT QS_NAMESPACE QS_PROMETHEUS_URL QS_TABLE QS_HISTORY QS_STATE_DIR; do
		grep -q "^$k=" qscale.conf
	done
	run grep -E '^QS_(TABLE|HISTORY|STATE_DIR)=' qscale.conf
	assert_output "QS_TABLE=/var/lib/qscale/table.csv
QS_HISTORY=/var/lib/qscale/history.csv
QS_STATE_DIR=/var/lib/qscale"
}

@test "the init container makes the table once from the same config; the replica range is stated once" {
	python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["qscale.conf"], end="")' "$K8S/configmap.yaml" |
	    sed "s|/var/lib/qscale|$T/state|g" > qscale.conf
	for w in "$K8S/cronjob.yaml" "$TOP/deploy/loop/deployment.yaml"; do
		# The init container's command and environment, and the main one's.
		python3 -c '
import shlex, sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
pod = d["spec"]["template"]["spec"] if d["kind"] == "Deployment" else d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
(i,), (c,) = pod["initContainers"], pod["containers"]
assert i["env"] == c["env"], "the same settings in both"
assert {"name": "config", "mountPath": "/etc/qscale", "readOnly": True} in i["volumeMounts"]
env = " ".join("%s=%s" % (e["name"], shlex.quote(e["value"])) for e in i["env"])
print("env", env, " ".join(shlex.quote(a) for a in i["command"] + i["args"]))
' "$w" > init.sh
		sed -i "s|/etc/qscale/qscale.conf|$T/qscale.conf|" init.sh
		rm -rf state
		mkdir state
		run sh init.sh
		assert_success
		# The notebook's fresh table in the config's range, and what it is for.
		assert_equal "$(tail -1 state/table.csv | cut -d, -f1)" "$(sed -n 's/^QS_MAX_REPLICAS=//p' qscale.conf)"
		grep -q '^window=30$' state/table.csv.meta
		grep -q "^period=$(sed -n 's/.*QS_PERIOD=\([0-9]*\).*/\1/p' init.sh)\$" state/table.csv.meta
		# A second start keeps the learned table.
		echo '1,0,500,0,18,1,0,0' > state/table.csv
		run sh init.sh
		assert_success
		assert_equal "$(cat state/table.csv)" "1,0,500,0,18,1,0,0"
	done
	# The replica range is in the ConfigMap only, not in an option or a command.
	run grep -r -n -E -e '-(min|max)-replicas|(MIN|MAX)_REPLICAS' "$K8S" "$TOP/deploy/loop"
	assert_equal "$(printf '%s\n' "$output" | sed 's/:.*//' | sort -u)" "$K8S/configmap.yaml"
	assert_equal "${#lines[@]}" 2
}

@test "the Dockerfile builds in a Debian slim stage and runs qs-run --once as non-root" {
	f="$TOP/deploy/Dockerfile"
	run grep -E '^FROM ' "$f"
	assert_output "FROM debian:bookworm-slim AS build
FROM debian:bookworm-slim"
	grep -q -E '^RUN .*\bmake\b.*&& make install DESTDIR=/out' "$f"
	grep -q -E '^COPY --from=build /out/' "$f"
	# The last USER is numeric and not root, and it is the CronJob's.
	user=$(grep -E '^USER ' "$f" | tail -1 | cut -d' ' -f2)
	[[ $user =~ ^([0-9]+):([0-9]+)$ ]]
	[ "${BASH_REMATCH[1]}" -ne 0 ]
	grep -q "runAsUser: ${BASH_REMATCH[1]}\$" "$K8S/cronjob.yaml"
	run grep -E '^ENTRYPOINT ' "$f"
	assert_output 'ENTRYPOINT ["qs-run", "--once"]'
	# The build stage installs the same -dev packages as scripts/install-deps.
	# shellcheck disable=SC2013 # package names: one word each
	for p in $(grep -o -E 'lib[a-z0-9-]+-dev' "$f"); do
		grep -q -w -- "$p" "$TOP/scripts/install-deps"
	done
}

@test "deploy/README.md: one CronJob per deployment, stamped from web's" {
	cd "$TOP" || return 1
	for f in configmap pvc cronjob; do
		echo ---
		sed -e 's/qscale-web/qscale-api/g' -e 's/instance: web/instance: api/' \
		    -e 's/QS_DEPLOYMENT=web/QS_DEPLOYMENT=api/' deploy/kubernetes/$f.yaml
	done > "$T/api.yaml"
	cd "$T" || return 1
	run kubectl label --local -f api.yaml qscale-check=1 -o name
	assert_success
	assert_output "configmap/qscale-api
persistentvolumeclaim/qscale-api
cronjob.batch/qscale-api"
	# Nothing but comments still names web.
	run bash -c "grep -v '^ *#' api.yaml | grep -w web"
	assert_failure
	grep -q '^    QS_DEPLOYMENT=api$' api.yaml
	grep -q -F 'for f in configmap pvc cronjob; do' "$TOP/deploy/README.md"
}

# The Deployment of deploy/loop, as a Python object d.
loopcheck() {
	python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
exec(sys.argv[2])
' "$TOP/deploy/loop/deployment.yaml" "$1"
}

@test "deploy/loop: the 15 s loop as a Deployment in place of the CronJob" {
	run bash -c "kubectl kustomize '$TOP/deploy/loop' | grep '^kind:' | sort"
	assert_success
	assert_output "kind: ConfigMap
kind: Deployment
kind: PersistentVolumeClaim
kind: Role
kind: RoleBinding
kind: ServiceAccount"
	run loopcheck '
s = d["spec"]
assert s["replicas"] == 1
assert s["strategy"] == {"type": "Recreate"}, "two loops would share the state"
pod = s["template"]["spec"]
assert pod["serviceAccountName"] == "qscale"
assert pod["securityContext"]["runAsUser"] == 10001
(c,) = pod["containers"]
assert c["command"] == ["qs-run", "--loop"]
a = c["args"]
assert a[a.index("--state-dir") + 1] == "/var/lib/qscale"
env = {e["name"]: e["value"] for e in c["env"]}
print(env["QS_PERIOD"], env["QS_WAIT"])
'
	assert_success
	assert_output "15 60"
}

@test "deploy/loop: the liveness probe fails once STATE/alive is older than 2 minutes, or absent" {
	probe=$(loopcheck 'print(d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["exec"]["command"][2])')
	[[ $probe == *"/var/lib/qscale/alive"* ]]
	probe=${probe//\/var\/lib\/qscale/$T}
	run sh -c "$probe"
	assert_failure
	touch alive
	run sh -c "$probe"
	assert_success
	touch -d '100 seconds ago' alive
	run sh -c "$probe"
	assert_success
	touch -d '130 seconds ago' alive
	run sh -c "$probe"
	assert_failure
	# qs-run --loop touches it every period.
	rm alive
	qs-init-table -o table.csv
	QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$(free_port) --retries 0 --pod 1" \
	    run qs-run --epochs 1 --period 0.1 --wait 0 --state-dir st
	[ ! -e st/alive ]
	QS_OBSERVE_OPTS="--prometheus http://127.0.0.1:$(free_port) --retries 0 --pod 1" \
	    timeout 2 qs-run --loop --period 0.5 --wait 0 --state-dir "$T" --max-failures 100 2>/dev/null || true
	run sh -c "$probe"
	assert_success
}

@test "the CronJob's deadline covers the worst case of its tools' timeouts, within its schedule" {
	run pycheck '
import re
cj, cm = one("CronJob"), one("ConfigMap")
conf = dict(l.split("=", 1) for l in cm["data"]["qscale.conf"].splitlines() if re.match(r"^QS_[A-Z_]+=", l))
def opt(tool, name, default):
    m = re.search(r"--%s[ =]([0-9.]+)" % name, conf.get("QS_%s_OPTS" % tool, ""))
    return float(m.group(1)) if m else default
t, r, b = opt("OBSERVE", "timeout", 10), opt("OBSERVE", "retries", 2), opt("OBSERVE", "backoff", 1)
# One Kubernetes call, and two Prometheus queries of r + 1 attempts with
# the backoff doubled after each.
observe = t + 2 * ((r + 1) * t + sum(b * 2 ** i for i in range(int(r))))
scale = (opt("SCALE", "retries", 3) + 1) * 2 * opt("SCALE", "timeout", 10)
update = opt("UPDATE", "lock-wait", 10)
worst = 2 * observe + update + scale
deadline = cj["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
assert worst <= deadline < 120, (worst, deadline)
print(int(worst), deadline)
'
	assert_success
	assert_output "79 90"
}

@test "pvc.yaml's history sizes are a year of full-precision rows, and its request holds the 15-s one" {
	# A live history row as qs-update writes it, every number at full
	# precision and both timestamps: the longest a row usually gets.
	qs-init-table --max-replicas 20 -o "$T/t.csv"
	echo '{"time":"2026-12-01T10:00:00Z","new_time":"2026-12-01T10:00:15Z","pod":12,"latency":312.84615384615387,"requests":1234.5333333333333,"action":13,"applied":13,"new_pod":13,"new_latency":287.1923076923077,"new_requests":1250.0666666666666,"reward":9.637000000000002}' |
	    qs-update --table "$T/t.csv" --history "$T/h.csv" >/dev/null 2>&1
	row=$(tail -n 1 "$T/h.csv" | wc -c)
	c=$(sed -n 's/^# //p' "$TOP/deploy/kubernetes/pvc.yaml" | tr '\n' ' ')
	[[ $c =~ up\ to\ about\ ([0-9]+)\ bytes ]]
	bytes=${BASH_REMATCH[1]}
	[[ $c =~ about\ ([0-9]+)\ MB\ of\ history\ every\ 2\ minutes ]]
	two=${BASH_REMATCH[1]}
	[[ $c =~ about\ ([0-9]+)\ MB\ every\ 15\ s ]]
	fifteen=${BASH_REMATCH[1]}
	mi=$(sed -n 's/^ *storage: \([0-9]*\)Mi$/\1/p' "$TOP/deploy/kubernetes/pvc.yaml")
	run python3 -c "
assert abs($bytes - $row) <= $row / 20, ($bytes, $row)
year = 365 * 86400
for mb, period in (($two, 120), ($fifteen, 15)):
    want = $row * year / period / 1e6
    assert abs(mb - want) <= want / 10, (mb, period, want)
assert $mi * 2**20 >= $fifteen * 1e6, $mi
"
	assert_success
}

@test "README.md: the images entry puts the pushed image in every qscale container" {
	# The README's kustomization snippet, appended to a copy of deploy/.
	snippet=$(awk '/^## Building and pushing the image/ { on = 1 }
	    on && /^```yaml$/ { y = 1; next } y && /^```$/ { exit } y' "$TOP/README.md")
	[[ $snippet == images:* ]]
	cp -r "$TOP/deploy" "$T/deploy"
	for k in kubernetes loop; do
		printf '%s\n' "$snippet" >>"$T/deploy/$k/kustomization.yaml"
		run kubectl kustomize "$T/deploy/$k"
		assert_success
		assert_equal "$(grep -c 'image: registry.example.com/team/qscale:0.1.0$' <<<"$output")" 2
		refute_output --partial 'image: qscale:'
	done
}
