#!/usr/bin/env python3
"""bench/interference/run's report: reads OUT (the victim's echo-client JSON, tcp-flood's output and
the daemon's status around each phase) and writes summary.json, summary.md (tables) and
interference.png (the victim's latency per phase)."""
import json
import os
import sys

PHASES = ["alone", "attack-off", "attack-on"]
VARIANTS = {"one": "1 connection", "many": "32 connections"}
PHASE_LABEL = {"alone": "alone", "attack-off": "attack, budgets off", "attack-on": "attack, budgets on"}


def load(out, name):
    try:
        return json.load(open(os.path.join(out, name)))
    except (OSError, ValueError):
        return None


def flood(out, name):
    try:
        lines = open(os.path.join(out, f"flood-{name}.json")).read().splitlines()
        return json.loads(lines[-1])
    except (OSError, ValueError, IndexError):
        return None


def accounts(status):
    """Each account's counters: tenants by name, then the host's."""
    acc = {t["name"]: dict(t["cpu"], rx_segments=t["traffic"]["rx_segments"]) for t in status["tenants"]}
    acc["host"] = dict(status["budgets"]["host"], rx_segments=status["host_traffic"]["rx_segments"])
    return acc


def window(out, name):
    """What the fast path did between NAME.before and NAME.after."""
    a, b = load(out, f"{name}.before.status.json"), load(out, f"{name}.after.status.json")
    if not a or not b:
        return None
    ca, cb = a["fastpath"]["cycles"], b["fastpath"]["cycles"]
    all_cycles = sum(cb.values()) - sum(ca.values())
    busy = all_cycles - (cb["idle"] - ca["idle"])
    hz = b["fastpath"]["tsc_hz"] or 1
    secs = all_cycles / hz if all_cycles else 0
    before, after = accounts(a), accounts(b)
    charged = sum(after[k]["cycles"] - before[k]["cycles"] for k in after)
    res = {"seconds": secs, "busy": busy / all_cycles if all_cycles else 0, "accounts": {}}
    for k in after:
        d = {f: after[k][f] - before[k][f] for f in ("cycles", "spare_cycles", "deferred_rx", "dropped_rx", "rx_segments")}
        d["share"] = d["cycles"] / charged if charged else 0
        d["segments_per_s"] = d["rx_segments"] / secs if secs else 0
        d["cycles_per_segment"] = d["cycles"] / d["rx_segments"] if d["rx_segments"] else None
        res["accounts"][k] = d
    return res


def main():
    out, rate = sys.argv[1], sys.argv[2]
    cpu = open(os.path.join(out, "cpu.txt")).read().strip() if os.path.exists(os.path.join(out, "cpu.txt")) else "?"
    summary = {"cpu": cpu, "victim_rate": float(rate), "phases": {}}
    lines = [f"CPU: {cpu}; victim: 64 B echo, open loop at {rate} requests/s", "",
             "| victim | phase | p50 us | p99 us | p99.9 us | victim req/s | flood frames/s sent | "
             "aggressor segments/s processed | fast path busy | victim / aggressor / host share of cycles | "
             "aggressor parked / dropped |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for v, vlabel in VARIANTS.items():
        for p in PHASES:
            name = f"{p}-{v}"
            j = load(out, f"{name}.json")
            if not j:
                continue
            lat = j["latency_us"]
            w = window(out, name) or {"accounts": {}, "busy": 0}
            f = flood(out, name)
            acc = w["accounts"]
            b = acc.get("b", {})
            row = {"p50": lat["p50"], "p99": lat["p99"], "p99.9": lat["p99.9"], "requests_per_s": j["requests_per_s"],
                   "flood_frames_per_s": f["frames_per_s"] if f else 0, "window": w}
            summary["phases"][name] = row
            shares = " / ".join(f"{100 * acc.get(k, {}).get('share', 0):.1f}%" for k in ("a", "b", "host"))
            lines.append(f"| {vlabel} | {PHASE_LABEL[p]} | {lat['p50']:.1f} | {lat['p99']:.1f} | {lat['p99.9']:.1f} | "
                         f"{j['requests_per_s']:,.0f} | {row['flood_frames_per_s']:,.0f} | "
                         f"{b.get('segments_per_s', 0):,.0f} | {100 * w['busy']:.0f}% | {shares} | "
                         f"{b.get('deferred_rx', 0):,} / {b.get('dropped_rx', 0):,} |")
    lines += ["", "| victim | p99 budgets off / on | p99 budgets on / alone |", "|---|---|---|"]
    for v, vlabel in VARIANTS.items():
        ph = summary["phases"]
        if all(f"{p}-{v}" in ph for p in PHASES):
            off, on, alone = (ph[f"{p}-{v}"]["p99"] for p in ("attack-off", "attack-on", "alone"))
            summary.setdefault("ratios", {})[v] = {"p99_off_over_on": off / on, "p99_on_over_alone": on / alone}
            lines.append(f"| {vlabel} | {off / on:.1f}x | {on / alone:.2f}x |")
    def closed(e):
        """Median over the repetitions of budgets `e`: requests/s and fast-path cycles per request."""
        runs = []
        for rep in (1, 2, 3):
            j, wnd = load(out, f"closed-{e}-{rep}.json"), window(out, f"closed-{e}-{rep}")
            if j and wnd and j["requests_per_s"] and wnd["seconds"]:
                cyc = sum(a["cycles"] for a in wnd["accounts"].values()) / (j["requests_per_s"] * wnd["seconds"])
                runs.append((j["requests_per_s"], cyc))
        if not runs:
            return None
        med = lambda xs: sorted(xs)[len(xs) // 2]
        return {"requests_per_s": med([r for r, _ in runs]), "cycles_per_request": med([c for _, c in runs]),
                "runs": [r for r, _ in runs]}
    c_off, c_on = closed("off"), closed("on")
    if c_off and c_on:
        summary["accounting"] = {"off": c_off, "on": c_on, "on_over_off": c_on["requests_per_s"] / c_off["requests_per_s"]}
        runs = lambda c: ", ".join(f"{r:,.0f}" for r in c["runs"])
        lines += ["", "The accounting's cost (victim alone, closed loop, 32 connections of 64 B echo; median of 3, "
                  "runs in turn):", "",
                  "| budgets | req/s (median) | runs | fast-path cycles/request |", "|---|---|---|---|",
                  f"| off | {c_off['requests_per_s']:,.0f} | {runs(c_off)} | {c_off['cycles_per_request']:,.0f} |",
                  f"| on | {c_on['requests_per_s']:,.0f} | {runs(c_on)} | {c_on['cycles_per_request']:,.0f} |",
                  f"| on / off | {summary['accounting']['on_over_off']:.3f} | | |"]
    ww = window(out, "weights")
    if ww:
        a, b = ww["accounts"]["a"]["cycles"], ww["accounts"]["b"]["cycles"]
        summary["weights"] = {"a_share": a / (a + b) if a + b else 0, "b_share": b / (a + b) if a + b else 0,
                              "busy": ww["busy"]}
        lines += ["", f"Two tenants flooding, weights 1:3: a {100 * summary['weights']['a_share']:.1f}% / "
                  f"b {100 * summary['weights']['b_share']:.1f}% of their cycles (target 25% / 75%); "
                  f"fast path busy {100 * ww['busy']:.0f}%"]
    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
    open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (v, vlabel) in zip(axes, VARIANTS.items()):
        xs = [p for p in PHASES if f"{p}-{v}" in summary["phases"]]
        for k, pct in enumerate(("p50", "p99", "p99.9")):
            ax.bar([i + 0.27 * (k - 1) for i in range(len(xs))], [summary["phases"][f"{p}-{v}"][pct] for p in xs],
                   width=0.27, label=pct)
        ax.set_xticks(range(len(xs)), [PHASE_LABEL[p] for p in xs], rotation=10)
        ax.set_yscale("log")
        ax.set_title(f"victim, {vlabel}")
        ax.set_ylabel("latency (us)")
        ax.legend()
    fig.suptitle(f"64 B echo of a victim tenant under an out-of-order flood ({cpu})", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "interference.png"), dpi=110)


if __name__ == "__main__":
    main()
