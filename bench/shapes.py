#!/usr/bin/env python3
"""Write four synthetic 1-minute traces, t,requests, into the directory
given (default .): web (diurnal, large counts), sports (diurnal with
two 4x match surges a day), llm (bursty, heavy-tailed minute counts) and
flash (three 6x flash crowds decaying over 45 minutes), three days each.
They are shapes, not real data: bench/bench-shapes runs a table planned
from the NASA trace's observations on them.  Seeded: the same every run.
"""
import math, os, random, sys
def pois(rng, lam):
    if lam > 500:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= L: return k
        k += 1
OUT = sys.argv[1] if len(sys.argv) > 1 else '.'
def write(name, xs):
    with open(os.path.join(OUT, name + '.csv'), 'w') as f:
        f.write('t,requests\n')
        for i, x in enumerate(xs): f.write('%d,%d\n' % (i, x))
rng = random.Random(7)
N = 3 * 1440
# web: diurnal + weekly-ish, large counts (low relative noise), lognormal minute noise 8 %
web = []
for i in range(N):
    d = (i % 1440) / 1440
    m = 3000 * (0.35 + 0.65 * max(0, math.sin(math.pi * (d - 0.25))) ** 1.5) * (1 + 0.1 * math.sin(2 * math.pi * i / (7 * 1440)))
    web.append(pois(rng, m * math.exp(rng.gauss(0, 0.08))))
write('web', web)
# sports: diurnal base with match surges: ramp 10 min to 4x, 100 min plateau with spikes (goals), ramp down
sp = []
matches = [(1440 * k + 900 + 240 * j) for k in range(3) for j in range(2)]
for i in range(N):
    d = (i % 1440) / 1440
    base = 800 * (0.4 + 0.6 * max(0, math.sin(math.pi * (d - 0.2))))
    f = 1.0
    for s0 in matches:
        if s0 - 10 <= i < s0: f = max(f, 1 + 3 * (i - s0 + 10) / 10)
        elif s0 <= i < s0 + 110: f = max(f, 4 + (2.5 if rng.random() < 0.03 else 0))
        elif s0 + 110 <= i < s0 + 130: f = max(f, 4 - 3 * (i - s0 - 110) / 20)
    sp.append(pois(rng, base * f * math.exp(rng.gauss(0, 0.1))))
write('sports', sp)
# llm: bursty, heavy-tailed minute counts around a slow diurnal mean, moderate counts
llm = []
for i in range(N):
    d = (i % 1440) / 1440
    m = 120 * (0.5 + 0.5 * math.sin(2 * math.pi * (d - 0.3)) ** 2)
    burst = math.exp(rng.gauss(0, 0.35))
    if rng.random() < 0.01: burst *= 3
    llm.append(pois(rng, m * burst))
write('llm', llm)
# flash: steady base, three flash crowds: jump 6x within 2 min, decay over 45 min
fl = []
events = [600, 1900, 3300]
for i in range(N):
    m = 400 * (0.8 + 0.2 * math.sin(2 * math.pi * i / 1440))
    f = 1.0
    for e in events:
        if e <= i < e + 2: f = max(f, 1 + 5 * (i - e + 1) / 2)
        elif e + 2 <= i: f = max(f, 1 + 5 * math.exp(-(i - e - 2) / 45))
    fl.append(pois(rng, m * f * math.exp(rng.gauss(0, 0.08))))
write('flash', fl)
