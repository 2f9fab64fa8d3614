#!/usr/bin/env python3
"""Check what a gnuplot SVG from qs-plot shows, for tests/qs-plot.bats.

  plotcheck.py texts SVG
      Print the picture's texts, one a line, in order.
  plotcheck.py series SVG RGB CSV XCOL YCOL [HLINE-RGB VALUE]
      The line drawn in colour RGB ("31,119,180") must show exactly the
      points (XCOL, YCOL) of CSV: as many, and each where one map, the
      same for all, puts it (x grows to the right, y upwards); a row with
      an empty YCOL must have no point.  With
      HLINE-RGB, the line of that colour must be horizontal at VALUE on
      the same axes.
  plotcheck.py images SVG
      Print a digest of each embedded image (the heat maps), one a line.
  plotcheck.py greedy SVG TABLE
      Each heat map (one per latency bucket, at most six) must colour its
      cells (replicas up, request buckets to the right) with the colour of
      the greedy action of TABLE in that state, as qs-decide chooses it:
      ties to the action nearest the state's replicas, then the higher; a
      blank (transparent) cell where the state is unlearned (no visits, or
      every value 0).  The colours are those of the one colour box, which
      has one band an action of TABLE, lowest at the bottom: the same
      action is the same colour in every panel.
  plotcheck.py count SVG RGB
      Print how many points the line of colour RGB has.
  plotcheck.py inside SVG RGB
      The horizontal line of colour RGB must lie inside a plot's frame,
      not on it: at least 3 pixels from its top and bottom.
  plotcheck.py overlap SVG
      No two texts may overlap, nor one leave the picture (each text's box
      from its position, anchor, rotation and an average glyph width).

Exits 1 saying what differs.
"""
import base64
import csv
import hashlib
import re
import struct
import sys
import zlib


def paths(svg, rgb):
    want = tuple(int(v) for v in rgb.split(","))
    out = []
    for m in re.finditer(r"<path stroke='rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\)'[^>]*"
                         r"\sd='([^']*)'", svg):
        if tuple(int(v) for v in m.group(1, 2, 3)) == want:
            out.append(m.group(4))
    return out


def points(d):
    """The line's points as (x, y) pairs: its subpaths after the key's
    sample, which comes first, two points level to the right of the rest
    (a line with gaps, as at undefined values, has several)."""
    runs = [[tuple(float(v) for v in p.split(","))
             for p in re.findall(r"[-\d.]+,[-\d.]+", r)]
            for r in re.split(r"M", d) if r.strip()]
    if len(runs) > 1 and len(runs[0]) == 2 and runs[0][0][1] == runs[0][1][1] \
            and min(x for x, _ in runs[0]) > max(x for r in runs[1:] for x, _ in r):
        runs = runs[1:]
    return [p for r in runs for p in r]


def fail(msg):
    print("plotcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def fit(us, vs):
    """v = a + b u by least squares; the largest residual."""
    n = len(us)
    mu, mv = sum(us) / n, sum(vs) / n
    suu = sum((u - mu) ** 2 for u in us)
    if suu == 0:
        return mv, 0.0, max(abs(v - mv) for v in vs)
    b = sum((u - mu) * (v - mv) for u, v in zip(us, vs)) / suu
    a = mv - b * mu
    return a, b, max(abs(a + b * u - v) for u, v in zip(us, vs))


def series(svg, rgb, data, xcol, ycol, hline=None, value=None):
    found = paths(svg, rgb)
    if len(found) != 1:
        fail("%d lines of colour %s, not one" % (len(found), rgb))
    pts = points(found[0])
    # A step plot repeats x: the value at an x is the last one drawn there.
    at = {}
    for x, y in pts:
        at[x] = y
    with open(data) as f:
        rows = list(csv.DictReader(f))
    rows = [r for r in rows if r[ycol] != ""]
    xs = [float(r[xcol]) for r in rows]
    ys = [float(r[ycol]) for r in rows]
    if len(at) != len(set(xs)):
        fail("%d points drawn, %d in %s" % (len(at), len(set(xs)), data))
    px = sorted(at)
    last = {}
    for x, y in zip(xs, ys):
        last[x] = y
    dx = sorted(last)
    ax, bx, rx = fit(dx, px)
    ay, by, ry = fit([last[x] for x in dx], [at[p] for p in px])
    span = max(px) - min(px) + 1
    if bx <= 0 or rx > 0.01 * span:
        fail("x is not %s (slope %g, off by %g)" % (xcol, bx, rx))
    if by > 0 or (by == 0 and len(set(ys)) > 1) or ry > 1.0:
        fail("y is not %s (slope %g, off by %g)" % (ycol, by, ry))
    if hline is not None:
        lines = paths(svg, hline)
        if len(lines) != 1:
            fail("%d lines of colour %s, not one" % (len(lines), hline))
        want = ay + by * float(value)
        got = {round(y, 1) for _, y in points(lines[0])}
        if len(got) != 1 or abs(got.pop() - want) > 1.0:
            fail("the line of colour %s is not at %s" % (hline, value))


def png_pixels(data):
    """Rows of (r, g, b, a) of an 8-bit RGB or RGBA PNG, top row first."""
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
    if depth != 8 or ctype not in (2, 6):
        fail("a heat map that is not 8-bit RGB")
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], None
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        up = prev or bytearray(stride)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            c = up[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + up[i]) & 255
            elif f == 3:
                line[i] = (line[i] + (a + up[i]) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(up[i] - c), abs(a - c), abs(a + up[i] - 2 * c)
                pr = a if pa <= pb and pa <= pc else up[i] if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        prev = line
        rows.append([tuple(line[x * bpp:x * bpp + 3]) +
                     ((line[x * bpp + 3],) if bpp == 4 else (255,))
                     for x in range(w)])
    return rows


def decide(pod, acts, q, learned):
    """qs-decide's greedy action, None where the state is unlearned."""
    if not learned or all(v == 0 for v in q):
        return None
    cur = 0
    for i in range(1, len(acts)):
        if abs(acts[i] - pod) <= abs(acts[cur] - pod):
            cur = i
    best = 0
    for i in range(1, len(acts)):
        if q[i] < q[best]:
            continue
        if q[i] > q[best] or \
                abs(acts[i] - acts[cur]) <= abs(acts[best] - acts[cur]):
            best = i
    return best


def colour_box(svg):
    """The colour box's bands, bottom first: its polygons' fills."""
    bands = []
    for m in re.finditer(r"<polygon fill = 'rgb\(\s*(\d+),\s*(\d+),\s*(\d+)\)' "
                         r"points = '([^']*)'", svg):
        ys = [float(p.split(",")[1]) for p in m.group(4).split()]
        bands.append((max(ys), tuple(int(v) for v in m.group(1, 2, 3))))
    out = []
    for _, c in sorted(bands, reverse=True):
        if not out or out[-1] != c:
            out.append(c)
    return out


def greedy(svg, table):
    with open(table) as f:
        r = csv.reader(f)
        head = next(r)
        n = len(head) - 1 if head[-1] == "visits" else len(head)
        acts = [int(v) for v in head[5:n]]
        best = {}
        for row in r:
            q = [float(v) for v in row[5:n]]
            learned = n == len(head) or int(row[-1]) > 0
            lat = (int(row[1]), int(row[2]))
            best.setdefault(lat, {})[(int(row[0]), int(row[3]))] = \
                decide(int(row[0]), acts, q, learned)
    box = colour_box(svg)
    if len(box) != len(acts) or len(set(box)) != len(box):
        fail("the colour box has %d colours for %d actions" % (len(box), len(acts)))
    imgs = re.findall(r"xlink:href='data:image/png;base64,([^']*)'", svg)
    panels = sorted(best)[:6]
    if len(imgs) != len(panels):
        fail("%d heat maps for %d latency buckets" % (len(imgs), len(panels)))
    for n, (img, lat) in enumerate(zip(imgs, panels)):
        cells = best[lat]
        pods = sorted({p for p, _ in cells}, reverse=True)
        reqs = sorted({q for _, q in cells})
        want = [["blank" if cells[(p, q)] is None else acts[cells[(p, q)]]
                 for q in reqs] for p in pods]
        got = [["blank" if px[3] == 0 else
                acts[box.index(px[:3])] if px[:3] in box else "colour%s" % (px[:3],)
                for px in row] for row in png_pixels(base64.b64decode(img))]
        if got != want:
            fail("heat map %d (latency %d-%d) shows %s, the greedy actions "
                 "are %s" % (n + 1, lat[0], lat[1], got, want))


def count(svg, rgb):
    found = paths(svg, rgb)
    if len(found) != 1:
        fail("%d lines of colour %s, not one" % (len(found), rgb))
    print(len(points(found[0])))


def frames(svg):
    """The plots' frames as (left, top, right, bottom)."""
    out = []
    for m in re.finditer(r"<path stroke='black'\s+d='M([-\d.]+),([-\d.]+) "
                         r"L([-\d.]+),([-\d.]+) L([-\d.]+),([-\d.]+) "
                         r"L([-\d.]+),([-\d.]+) L[-\d.]+,[-\d.]+ Z", svg):
        v = [float(x) for x in m.groups()]
        xs, ys = v[0::2], v[1::2]
        out.append((min(xs), min(ys), max(xs), max(ys)))
    return out


def inside(svg, rgb):
    found = paths(svg, rgb)
    if len(found) != 1:
        fail("%d lines of colour %s, not one" % (len(found), rgb))
    pts = points(found[0])
    ys = {round(y, 1) for _, y in pts}
    xs = [x for x, _ in pts]
    if len(ys) != 1:
        fail("the line of colour %s is not horizontal" % rgb)
    y = ys.pop()
    for l, t, r, b in frames(svg):
        if l - 1 <= min(xs) and max(xs) <= r + 1 and t - 1 <= y <= b + 1:
            if y - t < 3 or b - y < 3:
                fail("the line of colour %s is on the frame (y %g, frame %g-%g)"
                     % (rgb, y, t, b))
            return
    fail("the line of colour %s is in no plot's frame" % rgb)


def boxes(svg):
    """Each text's box (left, top, right, bottom) and the text."""
    size = re.search(r"<svg[^>]*width=\"(\d+)\"[^>]*height=\"(\d+)\"", svg)
    out = []
    for m in re.finditer(r"<g transform=\"translate\(([-\d.]+),([-\d.]+)\)"
                         r"( rotate\(([-\d.]+)\))?\"[^>]*font-size=\"([\d.]+)\""
                         r"[^>]*text-anchor=\"(\w+)\">\s*<text>(.*?)</text>", svg, re.S):
        text = "".join(re.findall(r">([^<]*)</tspan>", m.group(7))).strip()
        if not text:
            continue
        x, y, fs = float(m.group(1)), float(m.group(2)), float(m.group(5))
        w = 0.55 * fs * len(text)
        u0 = {"start": 0, "middle": -w / 2, "end": -w}[m.group(6)]
        u = (u0, u0 + w)
        v = (-0.7 * fs, 0.15 * fs)
        angle = float(m.group(4) or 0) % 360
        if angle == 0:
            out.append(((x + u[0], y + v[0], x + u[1], y + v[1]), text))
        elif angle == 270:
            out.append(((x + v[0], y - u[1], x + v[1], y - u[0]), text))
        else:
            fail("a text rotated by %g" % angle)
    return out, (float(size.group(1)), float(size.group(2))) if size else None


def overlap(svg):
    found, size = boxes(svg)
    bad = []
    for i, (a, ta) in enumerate(found):
        if size and (a[0] < 0 or a[1] < 0 or a[2] > size[0] or a[3] > size[1]):
            bad.append("%r leaves the picture" % ta)
        for b, tb in found[i + 1:]:
            if min(a[2], b[2]) - max(a[0], b[0]) > 0.5 and \
                    min(a[3], b[3]) - max(a[1], b[1]) > 0.5:
                bad.append("%r overlaps %r" % (ta, tb))
    if bad:
        fail("; ".join(bad[:5]) + (" and %d more" % (len(bad) - 5) if len(bad) > 5 else ""))


def main():
    svg = open(sys.argv[2]).read()
    if sys.argv[1] == "texts":
        for t in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg):
            print(t.strip())
    elif sys.argv[1] == "images":
        for img in re.findall(r"xlink:href='data:image/png;base64,([^']*)'", svg):
            print(hashlib.sha256(img.encode()).hexdigest()[:16])
    elif sys.argv[1] == "greedy":
        greedy(svg, sys.argv[3])
    elif sys.argv[1] == "count":
        count(svg, sys.argv[3])
    elif sys.argv[1] == "inside":
        inside(svg, sys.argv[3])
    elif sys.argv[1] == "overlap":
        overlap(svg)
    elif sys.argv[1] == "series":
        series(svg, *sys.argv[3:])
    else:
        fail("unknown command " + sys.argv[1])


if __name__ == "__main__":
    main()
