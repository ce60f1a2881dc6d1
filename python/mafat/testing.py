"""Plumbing shared by the end-to-end test drivers (test/e2e/run_e2e.py,
test/importers/darknet_e2e.py, test/importers/onnx_e2e.py): one PASS/FAIL
line per check, commands run with a timeout whose failure carries the tool's
own output, the aarch64 run convention, running a compiled model through
mafat-run's driver, and :class:`PlanSweep`, which checks fused plans against
the unfused build (bit-identical outputs, exact workspace prediction)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
from typing import Dict, List, Optional, Sequence, Tuple

HOST_TARGET = "x86_64-linux-gnu"
AARCH64_TARGET = "aarch64-linux-gnu"
DEFAULT_QEMU = "qemu-aarch64 -L /usr/aarch64-linux-gnu"


def strip_weights(text: str) -> str:
    """Model text with every weight a splat: the same types (so the same
    weight bytes), tiny text. For planning only: the planner reads shapes."""
    cut = text.find("{-#")
    if cut >= 0:
        text = text[:cut]
    text = re.sub(r"dense<\[[^>]*\]>(\s*:\s*tensor<[0-9x]*f32>)", r"dense<0.0>\1", text)
    return re.sub(r"dense_resource<[\w.]+>", "dense<0.0>", text)


class Fatal(Exception):
    """A step could not complete (the driver stops and exits non-zero)."""


class Checker:
    """Counts checks and prints each as ``PASS: what[: detail]`` or ``FAIL: ...``."""

    def __init__(self) -> None:
        self.failures: List[str] = []
        self.count = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        self.count += 1
        line = f"{'PASS' if ok else 'FAIL'}: {what}" + (f": {detail}" if detail else "")
        print(line, flush=True)
        if not ok:
            self.failures.append(line)
        return ok


def run_cmd(cmd: Sequence[str], what: str, timeout: float, cwd: Optional[str] = None,
            env=None, show_time: bool = False) -> subprocess.CompletedProcess:
    """Runs `cmd`; raises Fatal with the tail of its stderr/stdout on failure."""
    print(f"RUN: {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError as e:
        raise Fatal(f"{what}: cannot execute: {e}") from None
    except subprocess.TimeoutExpired:
        raise Fatal(f"{what}: timed out after {timeout:.0f} s") from None
    if show_time:
        print(f"TIME: {what}: {time.time() - t0:.2f} s", flush=True)
    if p.returncode != 0:
        msg = f"{what}: exit status {p.returncode}"
        err = (p.stderr or "").strip()[-4000:]
        out = (p.stdout or "").strip()[-1000:]
        if err:
            msg += f"\n--- stderr ---\n{err}"
        if out:
            msg += f"\n--- stdout ---\n{out}"
        raise Fatal(msg)
    return p


# ---------------------------------------------------------------------------
# Running a compiled model through mafat-run's driver.


def header_path(artifact: str) -> str:
    """The C header mafat-compile writes next to ``artifact`` (``X.so`` -> ``X.h``, ``X`` -> ``X.h``)."""
    base, ext = os.path.splitext(artifact)
    return (base if ext == ".so" else artifact) + ".h"


def header_workspace(path: str, model_name: str) -> Optional[int]:
    """The value of ``<MODEL>_WORKSPACE_BYTES`` in a generated C header (None if absent)."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        text = f.read()
    macro = f"{model_name.upper()}_WORKSPACE_BYTES"
    m = re.search(rf"^\s*#\s*define\s+{re.escape(macro)}\s+(\d+)[uUlL]*\s*$", text, re.M)
    return int(m.group(1)) if m else None


def driver_command(bin_dir: str, artifact: str, target: str, emit: str, qemu: str = DEFAULT_QEMU) -> List[str]:
    """How to run a compiled model: mafat-run for a library (host only), the
    executable itself, or the executable under qemu-user for aarch64."""
    if emit == "lib":
        if target != HOST_TARGET:
            raise Fatal("a shared library can only be run on the host (use --emit exe)")
        return [os.path.join(bin_dir, "mafat-run"), artifact]
    if target == AARCH64_TARGET:
        return shlex.split(qemu) + [artifact]
    return [artifact]


def run_driver(cmd: Sequence[str], inputs: Sequence[str], outputs: Sequence[str], what: str, timeout: float,
               repeat: int = 1, warmup: int = 0, cwd: Optional[str] = None) -> dict:
    """Runs ``cmd`` (from driver_command) on the given .npy inputs, writing the
    given .npy outputs (stale ones removed first); returns its --json report."""
    full = list(cmd)
    for path in inputs:
        full += ["--input", path]
    for path in outputs:
        full += ["--output", path]
        if os.path.exists(path):
            os.remove(path)
    full += ["--json", "--repeat", str(repeat), "--warmup", str(warmup)]
    p = run_cmd(full, what, timeout, cwd=cwd)
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise Fatal(f"{what}: the driver's --json output is not one JSON object ({e}):\n{p.stdout[-2000:]}") from None
    if not isinstance(report, dict):
        raise Fatal(f"{what}: the driver's --json output is not a JSON object: {p.stdout[-500:]}")
    return report


def check_close(ck: Checker, what: str, out, ref, tol: float, against: str = "PyTorch") -> bool:
    """One check ``<what> vs <against>``: max|out - ref| <= tol * max|ref|
    (:func:`mafat.reference.compare`; shapes must match, values be finite)."""
    from mafat.reference import compare

    if out.shape != ref.shape:
        return ck.check(False, f"{what} vs {against}", f"shape {out.shape}, {against} {ref.shape}")
    c = compare(out, ref, tol)
    return ck.check(c.passed, f"{what} vs {against}", f"max|err| {c.max_abs_err:.3e}, max|ref| "
                    f"{c.max_abs_ref:.3e}, rel {c.rel_err:.3e} (tol {tol:g})")


def load_npys(paths: Sequence[str]) -> list:
    import numpy as np

    arrays = []
    for path in paths:
        if not os.path.isfile(path):
            raise Fatal(f"the driver wrote no {path}")
        arrays.append(np.load(path))
    return arrays


# ---------------------------------------------------------------------------
# Fused plans against the unfused build (issue 5): every plan must give
# bit-identical outputs to --plan=none, and the workspace of the generated code
# must equal the memory model's prediction byte for byte.

# Budgets of a plan sweep, as fractions of the way from the smallest feasible
# workspace (min_workspace_bytes of an unconstrained --report) to the unfused
# workspace: 0 is the smallest, 0.5 halfway. --full sweeps more.
BUDGET_FRACTIONS = (0.0, 0.5)
FULL_BUDGET_FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9)


def add_plan_args(ap) -> None:
    """The plan-sweep options every e2e driver takes (see plan_fractions)."""
    ap.add_argument("--plans", action="store_true",
                    help="check fused plans against the unfused build (--plan=none) instead of the default steps")
    ap.add_argument("--budgets", default=None, metavar="F,F,...",
                    help="with --plans: budgets as fractions from the smallest feasible workspace (0) to the "
                         f"unfused one (1); default {','.join(map(str, BUDGET_FRACTIONS))}")
    ap.add_argument("--full", action="store_true",
                    help=f"with --plans: budgets {','.join(map(str, FULL_BUDGET_FRACTIONS))} (the full tier)")
    ap.add_argument("--fixed", default=None, metavar="LABEL,...",
                    help="with --plans: only these of the driver's hand-written plans ('' for none; default all)")


def select_fixed(args, plans: Dict[str, dict]) -> Dict[str, dict]:
    """The hand-written plans --fixed asks for (all by default)."""
    if args.fixed is None:
        return dict(plans)
    labels = [x for x in args.fixed.split(",") if x]
    unknown = [x for x in labels if x not in plans]
    if unknown:
        raise Fatal(f"--fixed: no plan {', '.join(unknown)} (have: {', '.join(plans) or 'none'})")
    return {x: plans[x] for x in labels}


def plan_fractions(args) -> Tuple[float, ...]:
    if args.budgets is not None:
        try:
            fr = tuple(float(x) for x in args.budgets.split(","))
        except ValueError:
            raise Fatal(f"--budgets {args.budgets!r}: expected comma-separated numbers") from None
        if not all(0.0 <= f <= 1.0 for f in fr):
            raise Fatal(f"--budgets {args.budgets!r}: fractions must be in [0, 1]")
        return fr
    return FULL_BUDGET_FRACTIONS if args.full else BUDGET_FRACTIONS


def bitwise_equal(a, b) -> Tuple[bool, str]:
    """Whether two arrays hold the same bits (shape, dtype and every element's
    bit pattern, so -0.0 != 0.0 and NaN payloads count); with a detail string."""
    import numpy as np

    if a.shape != b.shape or a.dtype != b.dtype:
        return False, f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    ua = np.ascontiguousarray(a).view(f"u{a.dtype.itemsize}")
    ub = np.ascontiguousarray(b).view(f"u{b.dtype.itemsize}")
    diff = ua != ub
    n = int(np.count_nonzero(diff))
    if n == 0:
        return True, f"all {a.size} elements bitwise equal"
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), a.shape))
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))
    return False, (f"{n} of {a.size} elements differ, max|diff| {float(np.nanmax(d)):.3e}, first at {first}: "
                   f"{a[first]!r} vs {b[first]!r}")


def is_tiled(group: dict) -> bool:
    """A grid other than 1x1, or streamed (a stream group ending in a global pool has one output tile)."""
    return list(group.get("grid", [1, 1])) != [1, 1] or group.get("mode") == "stream"


def tiled_groups(report: dict) -> List[dict]:
    """The report's groups that run in pieces (is_tiled)."""
    return [g for g in report.get("groups", []) if is_tiled(g)]


def describe_plan(report: dict) -> str:
    tiled = tiled_groups(report)
    if not tiled:
        return "layer by layer"
    parts = []
    for g in tiled:
        layers = g.get("layers", [])
        span = f"{layers[0]}..{layers[-1]}" if len(layers) > 1 else "".join(layers)
        parts.append(f"{g.get('name')}[{span}] {g['grid'][0]}x{g['grid'][1]}")
    return ", ".join(parts)


class PlanBuild:
    """One compiled and run plan: its report, the driver's JSON, its outputs."""

    def __init__(self, label: str, report: dict, run: dict, outputs: list) -> None:
        self.label, self.report, self.run, self.outputs = label, report, run, outputs
        self.workspace = run.get("workspace_bytes")


class PlanSweep:
    """Compiles one model under several plans, runs each build on the same
    inputs and checks it against the unfused (--plan=none) build.

    Every compile passes --verify-memory-model (the compile fails unless the
    generated code's workspace equals the memory model's prediction) and
    --report. Per build: the compile succeeds; mafat-run's workspace_bytes ==
    the report's predicted_workspace_bytes == the header's
    <MODEL>_WORKSPACE_BYTES (exact); every output is bitwise equal to the
    unfused build's. Budget builds: workspace <= budget. Fixed plans: the report
    has every group of the plan with its layers, grid and any explicit tiles,
    and the plan is really tiled. A build that cannot compile or run is one
    FAIL and the sweep goes on with the next plan. ``perturb_base`` (a
    self-test of the checker) flips the lowest bit of one element of the
    unfused build's first output, so every bit-identity check must fail.
    """

    def __init__(self, ck: Checker, *, bin_dir: str, mlir: str, workdir: str, stem: str, inputs: Sequence[str],
                 output_names: Sequence[str], target: str = HOST_TARGET, emit: str = "lib",
                 qemu: str = DEFAULT_QEMU, timeout: float = 600.0, compile_flags: Sequence[str] = (),
                 perturb_base: bool = False) -> None:
        self.ck, self.bin_dir, self.mlir, self.workdir, self.stem = ck, bin_dir, mlir, workdir, stem
        self.inputs, self.output_names = list(inputs), list(output_names)
        self.target, self.emit, self.qemu, self.timeout = target, emit, qemu, timeout
        self.compile_flags = list(compile_flags)
        self.perturb_base = perturb_base
        self.base: Optional[PlanBuild] = None
        self.auto: Optional[PlanBuild] = None

    def build(self, label: str, flags: Sequence[str]) -> Optional[PlanBuild]:
        """Compile with `flags`, run, and check the workspace figures agree; None if a step failed."""
        art = os.path.join(self.workdir, f"{self.stem}-{label}" + (".so" if self.emit == "lib" else ""))
        rep_path = os.path.join(self.workdir, f"{self.stem}-{label}.report.json")
        outs = [os.path.join(self.workdir, f"out_{name}-{label}.npy") for name in self.output_names]
        for stale in (art, header_path(art), rep_path):
            if os.path.exists(stale):
                os.remove(stale)
        cmd = [os.path.join(self.bin_dir, "mafat-compile"), self.mlir, "-o", art, f"--emit={self.emit}",
               f"--target={self.target}", "--verify-memory-model", f"--report={rep_path}"]
        cmd += self.compile_flags + list(flags)
        try:
            run_cmd(cmd, f"{label}: mafat-compile", self.timeout, show_time=True)
            with open(rep_path) as f:
                report = json.load(f)
            run = run_driver(driver_command(self.bin_dir, art, self.target, self.emit, self.qemu), self.inputs,
                             outs, f"{label}: running the {self.target} model", self.timeout, cwd=self.workdir)
            arrays = load_npys(outs)
        except (Fatal, OSError, ValueError) as e:
            self.ck.check(False, f"{label}: compiles with --verify-memory-model and runs", str(e))
            return None
        b = PlanBuild(label, report, run, arrays)
        print(f"INFO: {label}: {describe_plan(report)}; predicted latency "
              f"{report.get('predicted_latency_ms', float('nan')):.3f} ms", flush=True)
        pred = report.get("predicted_workspace_bytes")
        hdr = header_workspace(header_path(art), str(run.get("model", "")))
        ok = isinstance(b.workspace, int) and b.workspace == pred == hdr
        self.ck.check(ok, f"{label}: workspace: mafat-run == predicted == header",
                      f"{b.workspace} / {pred} / {hdr} B (exact)")
        # The weights the binary holds are at most the model's, each once, as the predicted peak
        # counts them (a filter packed once per register-block width would hold more; equal
        # constants of two layers may share one global, which holds less).
        wpred = report.get("peak_breakdown", {}).get("weight_bytes")
        wrun = run.get("weight_bytes")
        self.ck.check(isinstance(wpred, int) and isinstance(wrun, int) and 0 < wrun <= wpred,
                      f"{label}: weights: mafat-run <= predicted", f"{wrun} / {wpred} B")
        return b

    def baseline(self) -> Optional[PlanBuild]:
        """The unfused build every plan is compared with; checks it runs layer by layer."""
        self.base = self.build("none", ["--plan=none"])
        if self.base is not None and self.perturb_base and self.base.outputs:
            import numpy as np

            flat = self.base.outputs[0].reshape(-1).view(f"u{self.base.outputs[0].dtype.itemsize}")
            flat[flat.size // 2] ^= np.array(1, dtype=flat.dtype)
            print(f"INFO: self-test: flipped the lowest bit of element {flat.size // 2} of the unfused "
                  f"{self.output_names[0]!r}", flush=True)
        if self.base is not None:
            tiled = tiled_groups(self.base.report)
            self.ck.check(not tiled and bool(self.base.report.get("groups")), "none: every group is 1x1",
                          f"{len(self.base.report.get('groups', []))} groups, {len(tiled)} tiled")
        return self.base

    def compare(self, b: PlanBuild) -> None:
        if self.base is None:
            self.ck.check(False, f"{b.label}: outputs vs --plan=none", "no unfused build to compare with")
            return
        for name, o, r in zip(self.output_names, b.outputs, self.base.outputs):
            ok, detail = bitwise_equal(o, r)
            self.ck.check(ok, f"{b.label}: output {name!r} bit-identical to --plan=none", detail)

    def auto_plan(self) -> Optional[PlanBuild]:
        """The unconstrained search (the fastest plan); its report gives min_workspace_bytes."""
        self.auto = self.build("auto", [])
        if self.auto is not None:
            self.compare(self.auto)
            mn = self.auto.report.get("min_workspace_bytes")
            self.ck.check(isinstance(mn, int) and 0 < mn <= self.auto.workspace,
                          "auto: 0 < min_workspace_bytes <= workspace", f"{mn} <= {self.auto.workspace} B")
        return self.auto

    def budgets(self, fractions: Sequence[float]) -> List[int]:
        """Budgets at min + f * (unfused - min) for each f in `fractions` (0: the
        smallest feasible workspace; 0.5: halfway to the unfused workspace)."""
        if self.base is None or self.auto is None or not isinstance(self.auto.report.get("min_workspace_bytes"), int):
            self.ck.check(False, "budgets", "need the unfused build and the unconstrained report")
            return []
        lo, hi = self.auto.report["min_workspace_bytes"], self.base.workspace
        out = []
        for f in fractions:
            budget = lo + int(f * max(0, hi - lo))
            if budget not in out:
                out.append(budget)
        return out

    def check_rematerialized(self, b: PlanBuild) -> None:
        """Each map the report says is recomputed (mafat/Graph/Rematerialization.h): its copies
        run in the plan's groups, and the copy's readers are not the original's first reader."""
        for r in b.report.get("rematerialized", []):
            planned = {name for g in b.report.get("groups", []) for name in g.get("layers", [])}
            copies = r.get("copies", [])
            ok = bool(copies) and all(c in planned for c in copies) and copies[-1] == r.get("layer", "") + ".remat"
            # The source is a planned layer or a model input (which the order does not list).
            source = r.get("source", "")
            ok = ok and bool(source) and (source in planned or source not in b.report.get("order", []))
            ok = ok and bool(r.get("readers")) and r.get("extra_flops", 0) > 0
            self.ck.check(ok, f"{b.label}: rematerialized {r.get('layer')} from {r.get('source')} "
                          f"for {', '.join(r.get('readers', []))}", f"{r}")

    def budget_plan(self, budget: int) -> Optional[PlanBuild]:
        label = f"budget{budget}"
        b = self.build(label, [f"--memory-budget={budget}"])
        if b is not None:
            self.compare(b)
            self.check_rematerialized(b)
            ok = isinstance(b.workspace, int) and b.workspace <= budget
            ok = ok and b.report.get("memory_budget_bytes") == budget
            self.ck.check(ok, f"{label}: workspace <= budget",
                          f"{b.workspace} <= {budget} B (report's memory_budget_bytes "
                          f"{b.report.get('memory_budget_bytes')})")
        return b

    def write_plan(self, label: str, plan: dict) -> str:
        """The plan as a JSON file in the work directory, for --plan=FILE."""
        path = os.path.join(self.workdir, f"{self.stem}-{label}.plan.json")
        with open(path, "w") as f:
            json.dump(plan, f, indent=1)
        return path

    def fixed_plan(self, label: str, plan: dict) -> Optional[PlanBuild]:
        path = self.write_plan(label, plan)
        b = self.build(label, [f"--plan={path}"])
        if b is None:
            return None
        self.compare(b)
        if plan.get("rematerialize"):
            got = [r.get("layer") for r in b.report.get("rematerialized", [])]
            self.ck.check(got == plan["rematerialize"], f"{label}: report lists the rematerialized maps",
                          f"{got} (planned {plan['rematerialize']})")
            self.check_rematerialized(b)
        by_layers = {tuple(g.get("layers", [])): g for g in b.report.get("groups", [])}
        for i, want in enumerate(plan["groups"]):
            got = by_layers.get(tuple(want["layers"]))
            ok = got is not None and list(got.get("grid", [])) == list(want["grid"])
            for key in ("row_tiles", "col_tiles"):
                if ok and want.get(key):
                    ok = [list(t) for t in got.get(key, [])] == [list(t) for t in want[key]]
            # A stream group (issue 12) must be compiled as one, with its stripes.
            if ok and want.get("mode", "recompute") != "recompute":
                ok = got.get("mode") == want["mode"] and got.get("stripe_rows") == want.get("stripe_rows")
            keys = ("name", "grid", "row_tiles", "col_tiles") + (("mode", "stripe_rows") if "mode" in want else ())
            shown = {k: got.get(k) for k in keys} if got else "no such group"
            self.ck.check(ok, f"{label}: report has group {i} ({want['layers'][0]}..{want['layers'][-1]}) "
                          f"as planned", f"{shown}")
            if got is not None and want.get("mode") == "stream" and want["grid"][1] == 1:
                halo = got.get("halo_overhead")
                self.ck.check(halo == 0, f"{label}: group {i} is streamed without recomputation",
                              f"halo_overhead {halo}")
            elif got is not None and want.get("mode") == "stream":
                # Hybrid: rows are computed once, column tiles recompute their column halos.
                halo = got.get("halo_overhead")
                self.ck.check(isinstance(halo, (int, float)) and halo > 0,
                              f"{label}: group {i} is streamed, recomputing column halos only",
                              f"halo_overhead {halo}")
        want_tiled = sum(1 for g in plan["groups"] if is_tiled(g))
        got_tiled = len(tiled_groups(b.report))
        self.ck.check(want_tiled > 0 and got_tiled == want_tiled, f"{label}: really tiled",
                      f"{got_tiled} tiled groups in the report, {want_tiled} planned")
        return b

    def random_streams(self, count: int, seed: int = 0) -> int:
        """`count` random stream plans (issue 12): one or two stream groups, each a random run of the
        model's layers (from the unfused report, in execution order) in stripes of 1-4 rows, 1-3
        column tiles and, sometimes, one-row pieces (chunk_rows 1). A candidate the planner rejects
        (``mafat-opt --mafat-plan``: a group the stream transform cannot run, a layer read outside
        its group) is skipped; every accepted one must compile with --verify-memory-model, run,
        match the unfused build bit for bit with workspace == prediction == header, and show its
        groups streamed as planned (mode, stripe rows and grid; no recomputation without column
        tiles). A group ending in a one-row layer (a global pool) is one tile whose stripes run over
        the rows of the map it reduces. Returns how many ran."""
        import random

        if self.base is None:
            self.ck.check(False, "random stream plans", "no unfused build")
            return 0
        rng = random.Random(seed)
        # Every layer in order with its group's output extent (an epilogue has its producer's shape;
        # the unfused plan's groups are single layers or a layer with its epilogues).
        layers: List[Tuple[str, int, int]] = []
        for g in self.base.report.get("groups", []):
            rows = g.get("row_tiles", [[0, 0]])[-1][1] + 1
            cols = g.get("col_tiles", [[0, 0]])[-1][1] + 1
            layers += [(name, rows, cols) for name in g.get("layers", [])]
        opt = os.path.join(self.bin_dir, "mafat-opt")
        ran = attempts = 0
        while ran < count and attempts < 40 * count:
            attempts += 1
            groups, start = [], 0
            for k in range(rng.choice((1, 2))):
                if start >= len(layers) - 1:
                    break
                i = rng.randrange(start, len(layers) - 1)
                j = rng.randrange(i + 1, min(len(layers), i + 12))
                _, rows, cols = layers[j]
                if rows < 2:
                    # A group ending in a global reduction (one row): one tile, the stripes run over
                    # the rows of the map it reduces, taken to be the layer before it (where it is
                    # not, the planner rejects the plan and another is drawn).
                    reduced = layers[j - 1][1]
                    if reduced < 2:
                        break
                    stripe = rng.randint(1, min(4, reduced - 1))
                    grid = [1, 1]
                else:
                    stripe = rng.randint(1, min(4, rows - 1))
                    grid = [-(-rows // stripe), rng.randint(1, min(3, cols))]
                group = {"name": f"g{k}", "layers": [n for n, _, _ in layers[i:j + 1]],
                         "grid": grid, "mode": "stream", "stripe_rows": stripe}
                if rng.random() < 0.3:
                    group["chunk_rows"] = 1
                groups.append(group)
                start = j + 1
            if not groups:
                continue
            plan = {"groups": groups}
            label = f"random{ran}"
            path = self.write_plan(label, plan)
            probe = subprocess.run([opt, self.mlir, "--mafat-normalize", f"--mafat-plan=plan={path}",
                                    "-o", os.devnull], capture_output=True, text=True, timeout=self.timeout)
            if probe.returncode != 0:
                # Only the planner's own rejections (a diagnostic, exit status 1) are skipped; anything
                # else (a crash, an internal error) is a failure.
                if probe.returncode != 1 or "mafat-plan:" not in probe.stderr or "internal error" in probe.stderr:
                    self.ck.check(False, f"{label}: the planner accepts or rejects the plan cleanly",
                                  probe.stderr.strip()[-400:])
                continue
            ran += 1
            print(f"INFO: {label}: {json.dumps(plan)}", flush=True)
            b = self.build(label, [f"--plan={path}"])
            if b is None:
                continue
            self.compare(b)
            by_layers = {tuple(g.get("layers", [])): g for g in b.report.get("groups", [])}
            for k, want in enumerate(groups):
                got = by_layers.get(tuple(want["layers"]), {})
                ok = got.get("mode") == "stream" and got.get("stripe_rows") == want["stripe_rows"]
                ok = ok and list(got.get("grid", [])) == want["grid"]
                if want["grid"][1] == 1:
                    ok = ok and got.get("halo_overhead") == 0
                self.ck.check(ok, f"{label}: group {k} streamed as planned",
                              f"{ {key: got.get(key) for key in ('grid', 'mode', 'stripe_rows', 'halo_overhead')} }")
        self.ck.check(ran == count, "random stream plans: all of them ran",
                      f"{ran} of {count} ran, {attempts} drawn")
        return ran

    def run_all(self, fixed: Dict[str, dict], fractions: Sequence[float] = BUDGET_FRACTIONS) -> None:
        """baseline, auto, one build per budget fraction, then each fixed plan."""
        if self.base is None:
            self.baseline()
        self.auto_plan()
        for budget in self.budgets(fractions):
            self.budget_plan(budget)
        for label, plan in fixed.items():
            self.fixed_plan(label, plan)
