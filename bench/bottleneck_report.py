#!/usr/bin/env python3
"""bench/bottleneck's report: per variant, fairness, goodput, the queue over time, cycles per segment.

Reads what bench/bottleneck wrote under OUT (the sink's JSON, the queue samples, the daemon's
status), writes summary.json and one SVG per variant (goodput per flow and queue depth over
time), and prints a table. Usage: bottleneck_report.py OUT "VARIANTS" COMMIT RATE QUEUE MARK
"""
import csv
import json
import os
import sys

LABELS = {
    "vrt-dctcp": "stack senders, DCTCP",
    "vrt-cubic-ecn": "stack senders, CUBIC + ECN",
    "vrt-cubic-drop": "stack senders, CUBIC, drop-tail",
    "vrt-timely": "stack senders, TIMELY, drop-tail",
    "linux-cubic-ecn": "Linux senders, CUBIC + ECN",
    "linux-cubic-drop": "Linux senders, CUBIC, drop-tail",
}
# A stack variant with [tcp] pacing off (bench/bottleneck's *-unpaced).
LABELS.update({f"{v}-unpaced": f"{LABELS[v]}, unpaced" for v in ("vrt-dctcp", "vrt-cubic-ecn", "vrt-cubic-drop")})
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]


def last_json(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def svg(path, title, sink, samples, t0, mark, queue_limit):
    """Two panels: each flow's goodput (Mbit/s per interval), the queue's backlog (KB)."""
    w, h, pad = 760, 220, 50
    step = sink["interval_s"]
    series = [f["series"] for f in sink["flows"]]
    tmax = max([len(s) * step for s in series] + [1])
    gmax = max([b * 8 / step / 1e6 for s in series for b in s] + [1])
    qs = [(t - t0, b) for t, b in samples if t0 <= t <= t0 + tmax]
    qmax = max([b for _, b in qs] + [mark, 1]) / 1000
    def x(t):
        return pad + (w - 2 * pad) * t / tmax
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{2 * h + 40}" font-family="sans-serif" font-size="11">',
           f'<text x="{pad}" y="16" font-size="13">{title}</text>']
    def panel(y0, ymax, unit, lines, hline=None):
        def y(v):
            return y0 + h - pad / 2 - (h - pad) * v / ymax
        out.append(f'<line x1="{pad}" y1="{y(0)}" x2="{w - pad}" y2="{y(0)}" stroke="black"/>')
        out.append(f'<line x1="{pad}" y1="{y(0)}" x2="{pad}" y2="{y(ymax)}" stroke="black"/>')
        out.append(f'<text x="{pad - 4}" y="{y(ymax) + 4}" text-anchor="end">{ymax:.0f}</text>')
        out.append(f'<text x="{pad - 4}" y="{y(0) + 4}" text-anchor="end">0</text>')
        out.append(f'<text x="{pad}" y="{y(ymax) - 6}">{unit}</text>')
        out.append(f'<text x="{w - pad}" y="{y(0) + 14}" text-anchor="end">{tmax:.1f} s</text>')
        if hline is not None:
            out.append(f'<line x1="{pad}" y1="{y(hline)}" x2="{w - pad}" y2="{y(hline)}" stroke="gray" stroke-dasharray="4"/>')
        for color, pts in lines:
            d = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{d}"/>')
    panel(30, gmax, "goodput per flow, Mbit/s",
          [(COLORS[i % 4], [(k * step, b * 8 / step / 1e6) for k, b in enumerate(s)]) for i, s in enumerate(series)])
    panel(30 + h, qmax, f"queue backlog, KB (dashed: mark above {mark / 1000:g} KB; limit {queue_limit / 1000:g} KB)",
          [("black", [(t, b / 1000) for t, b in qs])], hline=mark / 1000 if mark else None)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    out, variants, commit, rate, queue, mark = sys.argv[1], sys.argv[2].split(), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    rtt_ms = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    summary = {"commit": commit, "rate_mbps": rate, "queue_bytes": queue, "mark_bytes": mark, "added_rtt_ms": rtt_ms, "variants": {}}
    rows = []
    for v in variants:
        try:
            sink = last_json(os.path.join(out, f"{v}.sink.out"))
            status = json.load(open(os.path.join(out, f"{v}.status.json")))
            with open(os.path.join(out, f"{v}.queue.csv")) as f:
                samples = [(float(r["t_mono"]), int(r["backlog_bytes"])) for r in csv.DictReader(f)]
        except (OSError, ValueError, KeyError) as e:
            rows.append((v, None))
            summary["variants"][v] = {"error": str(e)}
            continue
        if not sink.get("ok"):
            rows.append((v, None))
            summary["variants"][v] = {"error": sink}
            continue
        d = "tx" if v.startswith("vrt") else "rx"
        q = status["faults"][d]["queue"]
        t0 = sink["t0_mono"]
        # The second half of the time all four flows sent, as the sink judged fairness over it.
        overlap_end = t0 + len(sink["flows"][0]["series"]) * sink["interval_s"]
        half_from = overlap_end - sink["second_half_s"] - sink["interval_s"]
        steady = [b for t, b in samples if half_from <= t <= overlap_end]
        fp = status["fastpath"]
        r = {
            "jain": sink["jain"],
            "link_mbit_s": sink["mbit_s"],
            "flows_mbit_s": [f["mbit_s_second_half"] for f in sink["flows"]],
            "queue_p50_bytes": pct(steady, 50),
            "queue_p95_bytes": pct(steady, 95),
            "queue_peak_bytes": q["peak_bytes"],
            "dropped": q["dropped"],
            "ce_marked": q["ce_marked"],
            "queued": q["queued"],
            "fastpath_cycles_per_tx_segment": fp.get("cycles_per_tx_segment"),
            "fastpath_cycles_per_rx_segment": fp.get("cycles_per_rx_segment"),
        }
        summary["variants"][v] = r
        svg(os.path.join(out, f"{v}.svg"), f"{LABELS.get(v, v)}: {rate:g} Mbit/s, commit {commit}", sink, samples,
            t0, mark if "drop" not in v else 0, queue)
        rows.append((v, r))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"four flows through a {rate:g} Mbit/s bottleneck, queue {queue} B, marks above {mark} B, "
          f"{rtt_ms:g} ms added to the round trip, commit {commit}")
    print("| variant | Jain | link Mbit/s | queue p50 / p95 KB (second half) | peak KB | drops | CE marks | cycles/tx seg | cycles/rx seg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for v, r in rows:
        if r is None:
            print(f"| {LABELS.get(v, v)} | failed | | | | | | | |")
            continue
        def kb(b):
            return "-" if b is None else f"{b / 1000:.0f}"
        def cyc(c):
            return "-" if c is None else f"{c:,.0f}"
        print(f"| {LABELS.get(v, v)} | {r['jain']:.3f} | {r['link_mbit_s']:.0f} | {kb(r['queue_p50_bytes'])} / "
              f"{kb(r['queue_p95_bytes'])} | {kb(r['queue_peak_bytes'])} | {r['dropped']} | {r['ce_marked']} | "
              f"{cyc(r['fastpath_cycles_per_tx_segment'])} | {cyc(r['fastpath_cycles_per_rx_segment'])} |")
    print(f"results: {out}")


main()
