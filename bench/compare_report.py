#!/usr/bin/env python3
"""Turns a bench/compare results folder into a table (stdout and summary.md), summary.json and PNG plots.

Ratios are Virtuoso against each Linux variant measured in the same run: throughput as
virtuoso / linux (above 1: Virtuoso faster), latency as linux / virtuoso (above 1: Virtuoso lower).

For Virtuoso runs, a second table: the fast path's TSC cycles per request and per segment, from
its counters read before and after the measured window (<workload>.virtuoso.fp-{before,after}.json),
and the shim's cycles per send and per recv over the same window (both apps' calls).
"""
import json
import pathlib
import sys

# Every variant bench/compare may run, in table order; a run has some of them (see present()).
ALL_VARIANTS = ["linux-lo", "linux-lo-2c", "linux-veth", "linux-bridge", "virtuoso", "virtuoso-tenants"]
VARIANTS = ALL_VARIANTS  # narrowed to the variants of the run being read, in main()
# workload -> [(label, json path, unit, higher_is_better)]
METRICS = {
    "echo64": [("throughput", ("requests_per_s",), "req/s", True),
               ("p50", ("latency_us", "p50"), "us", False),
               ("p99", ("latency_us", "p99"), "us", False)],
    "echo64-open": [("achieved", ("requests_per_s",), "req/s", True),
                    ("p50", ("latency_us", "p50"), "us", False),
                    ("p99", ("latency_us", "p99"), "us", False),
                    ("p99.9", ("latency_us", "p99.9"), "us", False)],
    "bulk": [("one stream", ("gbit_per_s",), "Gbit/s", True)],
    "cpr": [("connections", ("requests_per_s",), "conn/s", True),
            ("p50", ("latency_us", "p50"), "us", False)],
    "kv": [("throughput", ("requests_per_s",), "req/s", True),
           ("p50", ("latency_us", "p50"), "us", False),
           ("p99", ("latency_us", "p99"), "us", False)],
}


ALIASES = {"requests_per_s": "req_per_s"}  # kv-client's name for the same figure


def dig(d, path):
    for k in path:
        d = d[k] if k in d else d[ALIASES[k]]
    return float(d)


def load(out):
    data = {}
    for w in METRICS:
        for v in VARIANTS:
            f = out / f"{w}.{v}.json"
            if f.exists():
                try:
                    data[(w, v)] = json.loads(f.read_text())
                except json.JSONDecodeError:
                    pass
    return data


def error_count(result):
    e = result.get("errors", 0)
    return e.get("total", 0) if isinstance(e, dict) else int(e)


BUSY_PHASES = ("rx", "local", "commands", "apps", "tx", "events")


def stack_variant():
    """The run's Virtuoso variant (plain, or two tenants with --tenants)."""
    return next((v for v in VARIANTS if v.startswith("virtuoso")), "virtuoso")


def linux_variants():
    return [v for v in VARIANTS if v.startswith("linux")]


def present(out):
    """The variants that have at least one result in OUT."""
    return [v for v in ALL_VARIANTS if any(out.glob(f"*.{v}.json"))]


def fastpath_cycles(out, result):
    """Cycles the fast path spent per request and per segment over one run's window, or None."""
    def read(name):
        try:
            return json.loads((out / f"{result}.{stack_variant()}.{name}").read_text())
        except (OSError, json.JSONDecodeError):
            return None
    a, b, client = read("fp-before.json"), read("fp-after.json"), read("json")
    if a is None or b is None:
        return None
    fa, fb = a["fastpath"], b["fastpath"]
    d = {k: fb["cycles"][k] - fa["cycles"][k] for k in fb["cycles"]}
    count = {k: fb[k] - fa[k] for k in ("rx_segments", "tx_data_segments", "tx_pure_acks", "loops")}
    busy = sum(d[k] for k in BUSY_PHASES)
    seconds = b["t"] - a["t"]
    hz = fb["tsc_hz"]
    # Requests in the window: the client's rate over it when the window is its measured one;
    # the client's own total when the window is the whole run (no --duration).
    requests = None
    if client is not None:
        if b.get("window") == "measured":
            requests = client.get("requests_per_s", client.get("req_per_s", 0)) * seconds
        else:
            requests = client.get("requests", 0)
    tx_segments = count["tx_data_segments"] + count["tx_pure_acks"]
    sa, sb = a.get("shim"), b.get("shim")
    shim = None
    if sa is not None and sb is not None:
        sends, recvs = sb["sends"] - sa["sends"], sb["recvs"] - sa["recvs"]
        shim = {"sends": sends, "recvs": recvs,
                "cycles_per_send": (sb["send_cycles"] - sa["send_cycles"]) / sends if sends > 0 else None,
                "cycles_per_recv": (sb["recv_cycles"] - sa["recv_cycles"]) / recvs if recvs > 0 else None}
    return {
        "shim": shim,
        "tsc_hz": hz,
        "window_s": round(seconds, 3),
        "cycles": d,
        "counts": count,
        "busy_cycles": busy,
        "busy_share": busy / (hz * seconds) if hz and seconds > 0 else None,
        "cycles_per_request": busy / requests if requests else None,
        "cycles_per_rx_segment": ((d["rx"] + d["local"]) / count["rx_segments"]
                                  if count["rx_segments"] else None),
        "cycles_per_tx_segment": d["tx"] / tx_segments if tx_segments else None,
    }


def cycles_table(out, summary):
    header = ("| workload | fp cycles/request | fp cycles/rx segment | fp cycles/tx segment | fp busy share "
              "| rx segments | tx segments | shim cycles/send | shim cycles/recv | TSC GHz |")
    lines = [header, "|" + "---|" * 10]
    for w in METRICS:
        c = fastpath_cycles(out, w)
        if c is None:
            continue
        summary.setdefault("fastpath_cycles", {})[w] = c

        def cell(x, f=fmt):
            return "-" if x is None else f(x)
        lines.append(f"| {w} | {cell(c['cycles_per_request'])} | {cell(c['cycles_per_rx_segment'])} "
                     f"| {cell(c['cycles_per_tx_segment'])} | {cell(c['busy_share'], lambda x: f'{x:.0%}')} "
                     f"| {c['counts']['rx_segments']:,} "
                     f"| {c['counts']['tx_data_segments'] + c['counts']['tx_pure_acks']:,} "
                     f"| {cell((c['shim'] or {}).get('cycles_per_send'))} "
                     f"| {cell((c['shim'] or {}).get('cycles_per_recv'))} "
                     f"| {cell(c['tsc_hz'], lambda x: f'{x / 1e9:.3f}')} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def fmt(x):
    return f"{x:,.1f}" if x < 1000 else f"{x:,.0f}"


def main(out):
    global VARIANTS
    VARIANTS = present(out) or ALL_VARIANTS
    data = load(out)
    rows, summary = [], {"variants": VARIANTS, "workloads": {}}
    for w, metrics in METRICS.items():
        for label, path, unit, higher in metrics:
            vals = {v: dig(data[(w, v)], path) for v in VARIANTS if (w, v) in data}
            if not vals:
                continue
            errors = {v: error_count(data[(w, v)]) for v in vals}
            ratios = {}
            stack = stack_variant()
            if stack in vals:
                for base in linux_variants():
                    if base in vals and vals[base] > 0 and vals[stack] > 0:
                        r = vals[stack] / vals[base] if higher else vals[base] / vals[stack]
                        ratios[base] = round(r, 2)
            summary["workloads"].setdefault(w, {})[label] = {
                "unit": unit, "higher_is_better": higher, "values": vals, "ratios": ratios,
                "errors": errors}
            rows.append((w, f"{label} ({unit})", vals, ratios))
    bases = linux_variants()
    header = ("| workload | metric | " + " | ".join(VARIANTS) + " | "
              + " | ".join(f"x vs {b.removeprefix('linux-')}" for b in bases) + " |")
    lines = [header, "|" + "---|" * (len(VARIANTS) + len(bases) + 2)]
    for w, m, vals, ratios in rows:
        cells = [fmt(vals[v]) if v in vals else "-" for v in VARIANTS]
        rc = [f"{ratios[b]:.2f}" if b in ratios else "-" for b in bases]
        lines.append(f"| {w} | {m} | " + " | ".join(cells) + " | " + " | ".join(rc) + " |")
    table = "\n".join(lines)
    cycles = cycles_table(out, summary)
    if cycles:
        table += ("\n\nVirtuoso's fast path (TSC cycles on its core, busy loops only; "
                  "docs/benchmarks.md):\n\n" + cycles)
    print(table)
    (out / "summary.md").write_text(table + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(out, data, summary)


def plot(out, data, summary):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots (apt-get install python3-matplotlib)", file=sys.stderr)
        return
    tp = [(w, lab, s) for w, ms in summary["workloads"].items() for lab, s in ms.items() if s["higher_is_better"]]
    if tp:
        fig, axes = plt.subplots(1, len(tp), figsize=(3.2 * len(tp), 3.6))
        axes = axes if len(tp) > 1 else [axes]
        for ax, (w, lab, s) in zip(axes, tp):
            vs = [v for v in VARIANTS if v in s["values"]]
            ax.bar(vs, [s["values"][v] for v in vs],
                   color=["#999999" if not v.startswith("virtuoso") else "#1f77b4" for v in vs])
            ax.set_title(f"{w}: {lab}", fontsize=9)
            ax.set_ylabel(s["unit"], fontsize=8)
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=120)
        plt.close(fig)
    pct = ["p50", "p90", "p99", "p99.9", "p99.99"]
    for w in ("echo64-open", "echo64", "kv"):
        got = [v for v in VARIANTS if (w, v) in data]
        if not got:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for v in got:
            lat = data[(w, v)]["latency_us"]
            # A logit axis takes fractions in (0, 1): 0.5 .. 0.9999.
            ax.plot([float(p[1:]) / 100 for p in pct], [lat[p] for p in pct], marker="o", label=v)
        ax.set_xscale("logit")
        ax.set_yscale("log")
        ax.set_xticks([0.5, 0.9, 0.99, 0.999, 0.9999])
        ax.set_xticklabels(pct)
        ax.minorticks_off()
        ax.set_xlim(0.4, 0.99995)
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (us)")
        ax.set_title(f"{w}: latency percentiles")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"latency-{w}.png", dpi=120)
        plt.close(fig)


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
