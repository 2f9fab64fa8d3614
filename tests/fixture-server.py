#!/usr/bin/env python3
"""Loopback HTTP fixtures for tests/qs-observe.bats.

  fixture-server.py --port-file F metrics
      /metrics in the Prometheus text format, counters that grow linearly
      with time since start, so that rate() and increase() are known
      (samples carry their own timestamps):
        path="/test" pod="a"  6 requests/s, 0.2 s each
        path="/test" pod="b"  4 requests/s, 0.3 s each
        path="/api"         100 requests/s, 1.0 s each
        path="/codes" pod="c" code="200" 2 requests/s, code="500" 1, 0.1 s
        path="/idle"        constant counters (no requests: NaN latency)

  fixture-server.py --port-file F [--log F] [--tls CERT KEY] canned RULES
      A stand-in for Prometheus' /api/v1/query: RULES is a JSON list of
      {"match", "status", "body", "delay"}; the first rule whose "match"
      is a substring of the decoded query answers.  Each request is logged
      as one JSON line (path, query, time, authorization).

The server binds port 0 and writes the port it got to the port file.
"""
import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START = time.time()
SERIES = [
    ('path="/test",pod="a"', 6.0, 0.2),
    ('path="/test",pod="b"', 4.0, 0.3),
    ('path="/api"', 100.0, 1.0),
    # One pod, its counter split by status code, as most apps' are.
    ('path="/codes",pod="c",code="200"', 2.0, 0.1),
    ('path="/codes",pod="c",code="500"', 1.0, 0.1),
]


def metrics():
    # Each sample carries the millisecond it was computed for, so that
    # scrape delays do not bend the lines that rate() measures.
    ms = int(time.time() * 1000)
    now = ms / 1000.0 - START
    lines = []
    for name in ("http_server_requests_total",
                 "http_server_request_duration_seconds_count",
                 "http_server_request_duration_seconds_sum"):
        lines.append("# TYPE %s counter" % name)
        for labels, rate, latency in SERIES:
            count = rate * now
            value = count * latency if name.endswith("_sum") else count
            lines.append("%s{%s} %r %d" % (name, labels, value, ms))
        idle = 1.5 if name.endswith("_sum") else 5.0
        lines.append('%s{path="/idle"} %r %d' % (name, idle, ms))
    return ("\n".join(lines) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if self.server.mode == "metrics":
            if url.path != "/metrics":
                self.answer(404, b"not found\n", "text/plain")
                return
            self.answer(200, metrics(), "text/plain; version=0.0.4")
            return
        params = urllib.parse.parse_qs(url.query)
        query = params.get("query", [""])[0]
        if self.server.log:
            with self.server.lock, open(self.server.log, "a") as f:
                f.write(json.dumps({
                    "path": url.path,
                    "query": query,
                    "time": params.get("time", [None])[0],
                    "authorization": self.headers.get("Authorization"),
                }) + "\n")
        for rule in self.server.rules:
            if rule.get("match", "") in query:
                time.sleep(rule.get("delay", 0))
                self.answer(rule.get("status", 200),
                            rule.get("body", "").encode(),
                            "application/json")
                return
        self.answer(404, b'{"status":"error","errorType":"fixture",'
                    b'"error":"no rule matches"}', "application/json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("mode", choices=("metrics", "canned"))
    ap.add_argument("rules", nargs="?")
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.mode = args.mode
    server.log = args.log
    server.lock = threading.Lock()
    server.rules = []
    if args.mode == "canned":
        with open(args.rules) as f:
            server.rules = json.load(f)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
