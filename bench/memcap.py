#!/usr/bin/python3
"""Latency under a memory cap: the paper's 'speedup under memory constraints'.

Runs compiled models inside a memory cgroup with a cap, for a sweep of caps,
for the unfused build (``--plan=none``) and planned builds, recording the
latency or the OOM kill. cgroup v1 (``/sys/fs/cgroup/memory``: a child of this
process's own memory cgroup, ``memory.limit_in_bytes`` and, if present,
``memory.memsw.limit_in_bytes`` set to the cap) or v2 (``memory.max``, and
``memory.swap.max=0`` if present). Needs root (or a delegated cgroup); where
no memory cgroup is writable it prints ``SKIP: ...`` and exits 0.

What a cap does here: these machines have no swap, so anonymous memory (the
workspace, the input and output buffers, the heap) over the cap gets the
process OOM-killed, while file-backed pages (the weights in the .so's
read-only data, the code) are dropped and re-read -- the only way a build can
run *slower* rather than die. To make the weights count against the cap, each
build runs from a private copy of its .so whose page cache is dropped
(fsync + POSIX_FADV_DONTNEED) before every capped run, so the child cgroup
faults them in and is charged for them (pages the parent cgroup already
holds would be free for the child).

Prints, per build, the smallest cap it survives, and per cap the median and
min latency (or OOM), and plots ``OUT/memcap-<model>.png``: latency vs cap
and the planned builds' speedup over the unfused one.

Usage:
    /usr/bin/python3 bench/memcap.py [--model yolov2-608|yolov3-tiny|mobilenet_v2]
        [--budgets L/8,min] [--caps 96,80,64,...] [--repeat N] [--timeout S] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_experiment as pe  # noqa: E402

MIB = pe.MIB


# ---------------------------------------------------------------- cgroups


class Cgroup:
    """A parent directory under which child cgroups with a memory cap can be made."""

    def __init__(self, version: int, parent: str):
        self.version, self.parent = version, parent
        self.n = 0

    def make(self, cap: int) -> str:
        self.n += 1
        path = os.path.join(self.parent, f"mafat-memcap-{os.getpid()}-{self.n}")
        os.mkdir(path)
        try:
            if self.version == 1:
                _write(os.path.join(path, "memory.limit_in_bytes"), cap)
                sw = os.path.join(path, "memory.memsw.limit_in_bytes")
                if os.path.exists(sw):
                    _write(sw, cap)
                if os.path.exists(os.path.join(path, "memory.swappiness")):
                    try:
                        _write(os.path.join(path, "memory.swappiness"), 0)
                    except OSError:
                        pass
            else:
                _write(os.path.join(path, "memory.max"), cap)
                if os.path.exists(os.path.join(path, "memory.swap.max")):
                    _write(os.path.join(path, "memory.swap.max"), 0)
        except OSError:
            os.rmdir(path)
            raise
        return path

    def stats(self, path: str) -> dict:
        s = {}
        if self.version == 1:
            s["max_usage"] = int(_read(os.path.join(path, "memory.max_usage_in_bytes")))
            s["failcnt"] = int(_read(os.path.join(path, "memory.failcnt")))
            for line in _read(os.path.join(path, "memory.oom_control")).splitlines():
                k, _, v = line.partition(" ")
                if k == "oom_kill":
                    s["oom_kill"] = int(v)
        else:
            if os.path.exists(os.path.join(path, "memory.peak")):
                s["max_usage"] = int(_read(os.path.join(path, "memory.peak")))
            for line in _read(os.path.join(path, "memory.events")).splitlines():
                k, _, v = line.partition(" ")
                if k in ("oom_kill", "max"):
                    s["oom_kill" if k == "oom_kill" else "failcnt"] = int(v)
        return s

    def remove(self, path: str) -> None:
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except OSError:
                time.sleep(0.1)


def _write(path: str, value) -> None:
    with open(path, "w") as f:
        f.write(str(value))


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def find_cgroup() -> tuple:
    """(Cgroup, None) or (None, why not)."""
    if os.geteuid() != 0:
        why = "not root"
    else:
        why = ""
    lines = _read("/proc/self/cgroup").splitlines()
    tried = []
    # v1 memory controller
    v1 = next((l.split(":", 2)[2] for l in lines if l.split(":", 2)[1].split(",").count("memory")), None)
    if v1 is not None and os.path.isdir("/sys/fs/cgroup/memory"):
        parent = os.path.join("/sys/fs/cgroup/memory", v1.lstrip("/"))
        cg = Cgroup(1, parent)
        try:
            cg.remove(cg.make(256 * MIB))
            return cg, None
        except OSError as e:
            tried.append(f"v1 {parent}: {e.strerror}")
    # v2 unified hierarchy (pure v2 at /sys/fs/cgroup, or hybrid at /sys/fs/cgroup/unified)
    v2 = next((l.split(":", 2)[2] for l in lines if l.startswith("0::")), None)
    for mnt in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        ctl = os.path.join(mnt, "cgroup.controllers")
        if v2 is None or not os.path.exists(ctl):
            continue
        parent = os.path.join(mnt, v2.lstrip("/"))
        try:
            if "memory" not in _read(os.path.join(parent, "cgroup.controllers")).split():
                tried.append(f"v2 {parent}: no memory controller")
                continue
            sub = os.path.join(parent, "cgroup.subtree_control")
            if "memory" not in _read(sub).split():
                _write(sub, "+memory")
            cg = Cgroup(2, parent)
            cg.remove(cg.make(256 * MIB))
            return cg, None
        except OSError as e:
            tried.append(f"v2 {parent}: {e.strerror}")
    return None, "; ".join(filter(None, [why] + tried)) or "no memory cgroup controller found"


# ---------------------------------------------------------------- runs


def drop_cache(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def capped_run(cg: Cgroup, cap: int, so: str, repeat: int, timeout: float) -> dict:
    drop_cache(so)
    path = cg.make(cap)
    procs = os.path.join(path, "cgroup.procs")
    cmd = [os.path.join(pe.BIN, "mafat-run"), so, "--seed", "1", "--repeat", str(repeat), "--warmup", "1", "--json"]
    t0 = time.time()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: _write(procs, os.getpid()))
        try:
            out, err = proc.communicate(timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            rc = "timeout"
        res = {"cap": cap, "rc": rc, "wall_s": time.time() - t0}
        res.update(cg.stats(path))
    finally:
        cg.remove(path)
    if rc == 0:
        d = json.loads(out)
        res.update(status="ok", lat_median=d["latency_ms"]["median"], lat_min=d["latency_ms"]["min"],
                   rss=d["peak_rss_bytes"])
    elif rc == "timeout":
        res["status"] = "TIMEOUT"
    elif res.get("oom_kill", 0) > 0 or rc == -9:
        res["status"] = "OOM"
    else:
        res["status"] = f"rc {rc}"
        res["stderr"] = err.strip()[:200]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov2-608", choices=["yolov2-608", "yolov3-tiny", "mobilenet_v2"])
    ap.add_argument("--budgets", default="L/8,min",
                    help="planned builds: comma-separated labels of paper_experiment's budgets (L/2, L/4, L/8, min, ...)"
                         " or sizes like 7MiB")
    ap.add_argument("--caps", default="", help="caps in MiB, comma-separated (default: a ladder around the builds' RSS)")
    ap.add_argument("--repeat", type=int, default=3, help="mafat-run --repeat in each capped run")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--quick", action="store_true", help="fewer caps, --repeat 1")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-skip", action="store_true",
                    help="also run builds at caps below one they were OOM-killed at (default: mark them OOM*)")
    ap.add_argument("--out", default=os.path.join(pe.ROOT, "bench", "out"))
    pe.add_cache_flag(ap)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    pe.KEEP_CACHE = args.keep_cache
    if args.quick:
        args.repeat = 1
    cg, why = find_cgroup()
    if cg is None:
        print(f"SKIP: no writable memory cgroup ({why})")
        return 0
    t0 = time.time()
    print(f"== memcap: {args.model} under cgroup v{cg.version} memory caps (child cgroups of {cg.parent})")
    work = os.path.join(args.out, "models")
    cache = os.path.join(args.out, "cache", args.model)
    model = pe.make_model(args.model, work)
    top, err = pe.preplan(model, pe.Spec("x"), os.path.join(cache, f"_top-{os.getpid()}.json"))
    if top is None:
        print("ERROR:", err)
        return 1
    os.remove(os.path.join(cache, f"_top-{os.getpid()}.json"))
    unf = pe.prepare(model, [pe.Spec("unfused", "none")], cache)
    pe.compile_all(model, unf, cache, args.jobs)
    L = unf[0].report["predicted_workspace_bytes"]
    named = {"L/2": L // 2, "L/4": L // 4, "L/8": L // 8, "L/16": L // 16, "min": top["min_workspace_bytes"]}
    specs = []
    for lab in [x.strip() for x in args.budgets.split(",") if x.strip()]:
        if lab in named:
            b = named[lab]
        else:
            num = lab.rstrip("MiB").rstrip("KiB")
            b = int(float(num) * (MIB if lab.endswith("MiB") else 1024 if lab.endswith("KiB") else 1))
        specs.append(pe.Spec(lab, "auto", b))
    builds = pe.prepare(model, specs, cache)
    pe.compile_all(model, builds, cache, args.jobs)
    allb = [b for b in unf + builds if b.report]
    priv = os.path.join(args.out, "memcap")
    os.makedirs(priv, exist_ok=True)
    runs = {}
    for b in allb:
        dst = os.path.join(priv, f"{args.model}-{b.spec.label.replace('/', '_')}.so")
        shutil.copyfile(b.so, dst)
        b.priv = dst
        free = pe.run_once(dst, args.repeat, 1)
        runs[b.spec.label] = {"uncapped": free}
        print(f"  {b.spec.label:>8}: {pe.plan_summary(b.report)[:50]:<50} workspace {pe.mib(b.report['predicted_workspace_bytes'])} MiB, "
              f"uncapped RSS {pe.mib(free.get('peak_rss_bytes'))} MiB, {free.get('latency_ms', {}).get('median', 0):.1f} ms")
    rss = [runs[b.spec.label]["uncapped"].get("peak_rss_bytes", 0) for b in allb]
    if args.caps:
        caps = [int(float(c) * MIB) for c in args.caps.split(",")]
    else:
        ladder = [160, 128, 112, 96, 88, 80, 76, 72, 68, 64, 60, 56, 48, 44, 40, 36, 32, 28, 24, 20, 16, 12, 10, 8, 6, 4]
        if args.quick:
            ladder = [128, 96, 80, 64, 48, 32, 24, 16, 12, 8, 6]
        hi, lo = max(rss) * 1.25 / MIB, min(rss) * 0.2 / MIB
        caps = [c * MIB for c in ladder if lo <= c <= hi]
    print(f"  caps (MiB): {', '.join(str(c // MIB) for c in caps)}; each run: mafat-run --repeat {args.repeat} --warmup 1")
    for cap in caps:
        line = [f"  cap {cap / MIB:>6.0f} MiB:"]
        for b in allb:
            dead = runs[b.spec.label].get("dead_at")
            if dead is not None and not args.no_skip:
                # killed at a larger cap: anonymous memory does not shrink with the cap
                r = {"cap": cap, "status": runs[b.spec.label]["dead_status"] + "*", "inferred_from_cap": dead}
            else:
                r = capped_run(cg, cap, b.priv, args.repeat, args.timeout)
                if r["status"] in ("OOM", "TIMEOUT"):
                    runs[b.spec.label]["dead_at"] = cap
                    runs[b.spec.label]["dead_status"] = r["status"]
            runs[b.spec.label][cap] = r
            line.append(f"{b.spec.label} " + (f"{r['lat_median']:.0f} ms" if r["status"] == "ok" else r["status"]))
        print("  ".join(line), flush=True)
    # table
    print()
    hdr = f"{'cap MiB':>8} " + " ".join(f"{b.spec.label + ' ms (med/min)':>24}" for b in allb) + \
          " " + " ".join(f"{'speedup ' + b.spec.label:>14}" for b in allb[1:])
    print(hdr)
    print("-" * len(hdr))
    base = allb[0].spec.label
    for cap in caps:
        cells = []
        for b in allb:
            r = runs[b.spec.label][cap]
            cells.append(f"{r['lat_median']:>11.1f} /{r['lat_min']:>9.1f}" if r["status"] == "ok" else f"{r['status']:>22}")
        sp = []
        u = runs[base][cap]
        for b in allb[1:]:
            r = runs[b.spec.label][cap]
            if r["status"] == "ok" and u["status"] == "ok":
                sp.append(f"{u['lat_min'] / r['lat_min']:>13.2f}x")
            elif r["status"] == "ok":
                sp.append(f"{'unfused dies':>14}")
            else:
                sp.append(f"{'-':>14}")
        print(f"{cap / MIB:>8.0f} " + " ".join(f"{c:>24}" for c in cells) + " " + " ".join(sp))
    u0 = runs[base]["uncapped"]
    print(f"{'none':>8} " + " ".join(f"{runs[b.spec.label]['uncapped']['latency_ms']['median']:>11.1f} /"
                                    f"{runs[b.spec.label]['uncapped']['latency_ms']['min']:>9.1f}" for b in allb) +
          " " + " ".join(f"{u0['latency_ms']['min'] / runs[b.spec.label]['uncapped']['latency_ms']['min']:>13.2f}x" for b in allb[1:]))
    print("(latency in ms of mafat-run --repeat; speedup = unfused min / planned min at the same cap;\n"
          " OOM = OOM-killed in the cgroup; TIMEOUT = slower than --timeout; OOM*/TIMEOUT* = not run, that happened\n"
          " at a larger cap already)")
    print()
    for b in allb:
        ok = [c for c in caps if runs[b.spec.label][c]["status"] == "ok"]
        ok = [c for c in ok if all(runs[b.spec.label][d]["status"] == "ok" for d in caps if d >= c)]
        smallest = min(ok) if ok else None
        free = runs[b.spec.label]["uncapped"]
        print(f"  {b.spec.label:>8}: smallest cap survived {pe.mib(smallest)} MiB "
              f"(uncapped peak RSS {pe.mib(free['peak_rss_bytes'])} MiB, workspace {pe.mib(free['workspace_bytes'])} MiB, "
              f"weights {pe.mib(free['weight_bytes'])} MiB)"
              + ("" if smallest is None else
                 f"; at it {runs[b.spec.label][smallest]['lat_median']:.1f} ms = "
                 f"{runs[b.spec.label][smallest]['lat_min'] / free['latency_ms']['min']:.2f}x its uncapped min"))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
        for i, b in enumerate(allb):
            xs = [c / MIB for c in caps if runs[b.spec.label][c]["status"] == "ok"]
            ys = [runs[b.spec.label][c]["lat_min"] for c in caps if runs[b.spec.label][c]["status"] == "ok"]
            lab = f"{b.spec.label} (ws {pe.mib(b.report['predicted_workspace_bytes'])} MiB)"
            ax1.plot(xs, ys, marker="o", color=f"C{i}", label=lab)
            dead = [c / MIB for c in caps if runs[b.spec.label][c]["status"] != "ok"]
            if dead:
                ax1.scatter(dead, [0] * len(dead), marker="x", color=f"C{i}", s=50, clip_on=False)
            if i:
                sx, sy = [], []
                for c in caps:
                    u, r = runs[base][c], runs[b.spec.label][c]
                    if r["status"] == "ok" and u["status"] == "ok":
                        sx.append(c / MIB)
                        sy.append(u["lat_min"] / r["lat_min"])
                ax2.plot(sx, sy, marker="o", color=f"C{i}", label=f"{b.spec.label} vs unfused")
                killed = [c / MIB for c in caps if runs[b.spec.label][c]["status"] == "ok" and runs[base][c]["status"] != "ok"]
                if killed:
                    ax2.scatter(killed, [0.5] * len(killed), marker="^", color=f"C{i}",
                                label=f"{b.spec.label} runs, unfused OOM-killed")
        ax1.set_xlabel("memory cap (MiB)")
        ax1.set_ylabel("latency, min of runs (ms); x = OOM-killed")
        ax1.set_ylim(bottom=0)
        ax1.set_title(f"{args.model}: latency under a cgroup memory cap")
        ax2.axhline(1.0, color="grey", lw=1)
        ax2.set_xlabel("memory cap (MiB)")
        ax2.set_ylabel("speedup over unfused (min/min)")
        ax2.set_title("planned vs unfused at the same cap")
        for ax in (ax1, ax2):
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=8)
            ax.invert_xaxis()
        fig.tight_layout()
        png = os.path.join(args.out, f"memcap-{args.model}.png")
        fig.savefig(png, dpi=110)
        print(f"\nplot: {png}")
    except Exception as ex:
        print(f"plot failed: {ex}")
    with open(os.path.join(args.out, f"memcap-{args.model}.json"), "w") as f:
        json.dump({"model": args.model, "cgroup_version": cg.version, "caps": caps,
                   "runs": {k: {str(c): v for c, v in d.items()} for k, d in runs.items()}}, f, indent=1, default=str)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
