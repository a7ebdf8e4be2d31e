#!/usr/bin/env python3
"""bench/apps' report: reads every tool's raw output in OUT, writes summary.json, summary.md (a
table: requests per second, ratio virtuoso/linux, median and p99 latency) and apps.png (the ratios)."""
import csv
import json
import os
import re
import sys

VARIANTS = ["linux", "virtuoso"]


def redis(out, v):
    rows = list(csv.reader(open(os.path.join(out, f"redis.{v}.csv"))))
    head, res = rows[0], {}
    for r in rows[1:]:
        d = dict(zip(head, r))
        res[d["test"]] = {"rps": float(d["rps"]), "p50_ms": float(d["p50_latency_ms"]),
                          "p99_ms": float(d["p99_latency_ms"])}
    return res


def unit_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]


def wrk(out, f, v):
    t = open(os.path.join(out, f"wrk.{f}.{v}.txt")).read()
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
    errors = re.search(r"Socket errors: (.*)", t)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
            "p50_ms": unit_ms(lat["50"]), "p99_ms": unit_ms(lat["99"]),
            "errors": errors.group(1) if errors else None}


def echo_client(out, name, v):
    j = json.load(open(os.path.join(out, f"{name}.{v}.json")))
    if j["errors"]["total"]:
        sys.exit(f"{name} ({v}): {j['errors']}")
    lat = j["latency_us"]
    return {"rps": j["requests_per_s"], "p50_ms": lat["p50"] / 1000.0, "p99_ms": lat["p99"] / 1000.0}


def kv_client(out, name, v):
    j = json.load(open(os.path.join(out, f"{name}.{v}.json")))
    if j["errors"]:
        sys.exit(f"{name} ({v}): {j['error_kinds']}")
    lat = j["latency_us"]
    return {"rps": j["req_per_s"], "p50_ms": lat["p50"] / 1000.0, "p99_ms": lat["p99"] / 1000.0}


def main():
    out, duration, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rows = {}  # workload -> {variant: figures}
    rows["memcached -t 2, kv-client (32 conns, 90% get)"] = {v: kv_client(out, "memcached", v) for v in VARIANTS}
    rows["blocking 64 B ping-pong (1 conn)"] = {v: echo_client(out, "pingpong", v) for v in VARIANTS}
    rd = {v: redis(out, v) for v in VARIANTS}
    for test in rd["linux"]:
        rows[f"redis-benchmark {test} (50 conns)"] = {v: rd[v][test] for v in VARIANTS}
    for f in ["index.html", "1m.bin"]:
        rows[f"wrk nginx {f} (32 conns)"] = {v: wrk(out, f, v) for v in VARIANTS}
    rows["socat fork+exec per connection (4 at a time)"] = {v: echo_client(out, "socat", v) for v in VARIANTS}
    for r in rows.values():
        r["ratio"] = r["virtuoso"]["rps"] / r["linux"]["rps"]
    summary = {"duration_s": duration, "redis_requests": requests, "workloads": rows}
    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)
    lines = ["| workload | Linux req/s | Virtuoso req/s | ratio | Linux p50 / p99 ms | Virtuoso p50 / p99 ms |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        a, b = r["linux"], r["virtuoso"]
        lines.append(f"| {name} | {a['rps']:.0f} | {b['rps']:.0f} | {r['ratio']:.2f} | "
                     f"{a['p50_ms']:.3f} / {a['p99_ms']:.3f} | {b['p50_ms']:.3f} / {b['p99_ms']:.3f} |")
    open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(out, rows)


def plot(out, rows):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot (apt-get install python3-matplotlib)")
        return
    names = list(rows)
    ratios = [rows[n]["ratio"] for n in names]
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(names) + 1.5))
    ax.barh(names, ratios, color=["tab:green" if r >= 1 else "tab:red" for r in ratios])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xlabel("requests per second, Virtuoso / Linux (same app core)")
    ax.invert_yaxis()
    for i, r in enumerate(ratios):
        ax.text(r, i, f" {r:.2f}x", va="center")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "apps.png"), dpi=100)
    print(f"plot: {os.path.join(out, 'apps.png')}")


if __name__ == "__main__":
    main()
