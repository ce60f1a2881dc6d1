#!/usr/bin/python3
"""Does mafat-run's peak RSS fall with the budget as the memory model predicts?

Claim checked: "peak RSS falls with the budget as predicted, within 5% after
subtracting weights, code and process overhead measured on an empty model".

For the model (default YOLOv2 layers 0-15 at 608x608, seeded weights) this
builds the unfused binary and planned binaries at the budgets of
bench/paper_experiment.py (same cache: after a paper_experiment run nothing is
recompiled), plus an 'empty' model compiled the same way (one 3x3 conv,
3 -> 32 channels, on a 32x32 image: YOLOv2's layer 0 alone). Each binary runs
ROUNDS times (``mafat-run --repeat 1 --warmup 1``); the minimum VmHWM is used.

    overhead  = RSS(empty) - weights(empty) - io(empty)        mafat-run, libc, the loader, a tiny .so
    residual  = RSS - overhead - weights - io                  the workspace, plus the extra code
    code      = (the .so's allocated sections, from readelf) - weights, minus the empty model's
    error     = (residual - code - predicted) / predicted      the 5% check ('err-code' column)

``weights`` are the model's constants (the .so's read-only data, file-backed,
all touched by one run); ``io`` the input and output buffers mafat-run
allocates; ``code`` matters: a tiled plan's .so has up to ~1 MiB more code
than the unfused one, which is most of a 1.5 MiB workspace.

Usage:
    /usr/bin/python3 bench/rss_vs_budget.py [--model yolov2-608|yolov3-tiny|mobilenet_v2]
        [--quick] [--rounds N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_experiment as pe  # noqa: E402

MIB = pe.MIB


def image_bytes(so: str) -> int:
    """Bytes of the .so's allocated sections (code, read-only data with the weights, data), from readelf."""
    out = subprocess.run(["readelf", "-SW", so], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)", line)
        if m and m.group(2) != "NOBITS" and "A" in m.group(4):
            total += int(m.group(3), 16)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov2-608", choices=["yolov2-608", "yolov3-tiny", "mobilenet_v2"])
    ap.add_argument("--quick", action="store_true", help="paper_experiment's quick budgets")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.05)
    ap.add_argument("--out", default=os.path.join(pe.ROOT, "bench", "out"))
    pe.add_cache_flag(ap)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pe.KEEP_CACHE = args.keep_cache
    t0 = time.time()
    work = os.path.join(args.out, "models")
    cache = os.path.join(args.out, "cache", args.model)
    print(f"== RSS vs budget: {args.model} (min VmHWM over {args.rounds} runs)")
    model = pe.make_model(args.model, work)
    empty_model = pe.make_model("empty", work)
    empty = pe.prepare(empty_model, [pe.Spec("empty")], os.path.join(args.out, "cache", "empty"))
    pe.compile_all(empty_model, empty, os.path.join(args.out, "cache", "empty"), 1)
    top, err = pe.preplan(model, pe.Spec("x"), os.path.join(cache, f"_top-{os.getpid()}.json"))
    if top is None:
        print("ERROR:", err)
        return 1
    os.remove(os.path.join(cache, f"_top-{os.getpid()}.json"))
    unf = pe.prepare(model, [pe.Spec("unfused", "none")], cache)
    pe.compile_all(model, unf, cache, args.jobs)
    L = unf[0].report["predicted_workspace_bytes"]
    specs = [s for s in pe.budget_specs(args.model, L, top["min_workspace_bytes"], None, args.quick) if not s.paper]
    builds = pe.prepare(model, specs, cache)
    pe.compile_all(model, builds, cache, args.jobs)
    allb = [b for b in empty + unf + builds if b.report]
    meas = {}
    for so in dict.fromkeys(b.so for b in allb):
        runs = [pe.run_once(so, 1, 1) for _ in range(args.rounds)]
        ok = [r for r in runs if "error" not in r]
        if not ok:
            print(f"ERROR running {so}: {runs[0]['error']}")
            return 1
        io = sum(4 * pe._prod(t["shape"]) for t in ok[0]["inputs"] + ok[0]["outputs"])
        meas[so] = dict(rss=min(r["peak_rss_bytes"] for r in ok), rss_max=max(r["peak_rss_bytes"] for r in ok),
                        ws=ok[0]["workspace_bytes"], weights=ok[0]["weight_bytes"], io=io,
                        so_size=os.path.getsize(so), code=image_bytes(so) - ok[0]["weight_bytes"])
    e = meas[empty[0].so]
    overhead = e["rss"] - e["weights"] - e["io"]
    print(f"  empty model: RSS {pe.mib(e['rss'])} MiB (weights {e['weights']} B, io {e['io']} B, code+data {e['code']} B)"
          f" -> process overhead {pe.mib(overhead)} MiB")
    hdr = (f"{'build':>9} {'plan':<40} {'RSS MiB':>8} {'spread':>7} {'weights':>8} {'io':>6} {'code':>6} "
           f"{'resid':>7} {'resid-code':>10} {'pred ws':>8} {'meas ws':>8} {'err':>7} {'err-code':>8} {'<=5%':>5}")
    print(hdr)
    print("-" * len(hdr))
    rows = []
    for b in unf + builds:
        if not b.report:
            print(f"{b.spec.label:>9} ERROR {b.error}")
            continue
        m = meas[b.so]
        resid = m["rss"] - overhead - m["weights"] - m["io"]
        code = m["code"] - e["code"]  # the empty model's code is in the overhead already
        resid2 = resid - code
        pred = b.report["predicted_workspace_bytes"]
        err, err2 = (resid - pred) / pred, (resid2 - pred) / pred
        ok = abs(err2) <= args.tolerance
        rows.append(dict(label=b.spec.label, plan=pe.plan_summary(b.report), budget=b.spec.budget, rss=m["rss"],
                         rss_max=m["rss_max"], weights=m["weights"], io=m["io"], code=code, residual=resid,
                         residual_minus_code=resid2, pred_ws=pred, meas_ws=m["ws"], error=err,
                         error_minus_code=err2, ok=ok, so_size=m["so_size"], overhead=overhead))
        print(f"{b.spec.label:>9} {rows[-1]['plan'][:40]:<40} {pe.mib(m['rss']):>8} "
              f"{pe.mib(m['rss_max'] - m['rss']):>7} {pe.mib(m['weights']):>8} {pe.mib(m['io']):>6} {pe.mib(code):>6} "
              f"{pe.mib(resid):>7} {pe.mib(resid2):>10} {pe.mib(pred):>8} {pe.mib(m['ws']):>8} {err * 100:>+6.1f}% "
              f"{err2 * 100:>+7.1f}% {'yes' if ok else 'NO':>5}")
    print("(MiB = 2^20 B; resid = RSS - process overhead - weights - io; code = the .so's allocated sections\n"
          " minus its weights, minus the empty model's; resid-code = resid - code; err / err-code = those vs the\n"
          " predicted workspace, the 5% check is on err-code; spread = max - min RSS over the runs)")
    # Does RSS fall with the budget?
    seq = [r for r in rows if r["label"] != "unfused"]
    falls = all(a["rss"] >= b["rss"] - 64 * 1024 for a, b in zip(seq, seq[1:]))
    print(f"\nRSS falls as the budget falls: {'yes' if falls else 'NO'} "
          f"({' > '.join(pe.mib(r['rss']) for r in seq)} MiB)")
    falls2 = all(a["residual_minus_code"] >= b["residual_minus_code"] - 64 * 1024 for a, b in zip(seq, seq[1:]))
    print(f"RSS minus the extra code falls as the budget falls: {'yes' if falls2 else 'NO'} "
          f"({' > '.join(pe.mib(r['residual_minus_code']) for r in seq)} MiB)")
    n_ok = sum(r["ok"] for r in rows)
    print(f"within {args.tolerance * 100:.0f}% of the predicted workspace: {n_ok}/{len(rows)} builds"
          + ("" if n_ok == len(rows) else "  <-- NOT all (see the error column)"))
    mism = [r for r in rows if r["meas_ws"] != r["pred_ws"]]
    for r in mism:
        print(f"!!! WORKSPACE MISMATCH [{r['label']}]: binary {r['meas_ws']} B vs predicted {r['pred_ws']} B")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        xs = [r["pred_ws"] / MIB for r in rows]
        ax.scatter(xs, [r["residual"] / MIB for r in rows], marker="x", label="RSS - overhead - weights - io")
        ax.scatter(xs, [r["residual_minus_code"] / MIB for r in rows], label="... - extra code")
        ax.scatter(xs, [r["rss"] / MIB for r in rows], marker="s", label="peak RSS")
        for r in rows:
            ax.annotate(r["label"], (r["pred_ws"] / MIB, r["residual_minus_code"] / MIB), fontsize=7, xytext=(3, -9),
                        textcoords="offset points")
        lo, hi = min(xs) * 0.8, max(xs) * 1.25
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="= predicted workspace")
        ax.fill_between([lo, hi], [lo * 0.95, hi * 0.95], [lo * 1.05, hi * 1.05], color="grey", alpha=0.2, label="+-5%")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("predicted workspace (MiB)")
        ax.set_ylabel("MiB")
        ax.set_title(f"{args.model}: peak RSS vs predicted workspace")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        png = os.path.join(args.out, f"rss_vs_budget-{args.model}.png")
        fig.savefig(png, dpi=110)
        print(f"plot: {png}")
    except Exception as ex:
        print(f"plot failed: {ex}")
    with open(os.path.join(args.out, f"rss_vs_budget-{args.model}.json"), "w") as f:
        json.dump({"model": args.model, "empty": e, "overhead": overhead, "rows": rows}, f, indent=1)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
