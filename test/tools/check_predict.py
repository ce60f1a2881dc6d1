"""mafat-predict (the latency model on the layer graph JSON, which
mafat-calibrate fits with) against mafat-opt --mafat-plan's report (the same
model on the IR): every group's latency_ms and its parts, and the total, must
be equal, for models run layer by layer and with the hand-written plans of
run_e2e.py (recompute, uneven, stream, chunked, concurrent tiles), on two
profiles and 1 and 2 threads. A difference means the JSON loses something the
model reads, or the two tools build different groups: the profiles
mafat-calibrate fits would then not be the ones the compiler prices with.

Usage: check_predict.py --bin DIR --workdir DIR
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
sys.path.insert(0, os.path.join(SRC, "test", "e2e"))

from mafat.e2e_models import build_model  # noqa: E402
from run_e2e import FIXED_PLANS, with_slots  # noqa: E402

MODELS = ("tiny_cnn", "dw_net", "branch_net", "mobile_net", "res_net")
# Models whose "stream" plan has a rolling buffer (res_net's has none).
CHUNKED = ("tiny_cnn", "dw_net", "mobile_net")
PROFILES = ((os.path.join(SRC, "test", "Inputs", "synthetic-profile.json"), 1),
            (os.path.join(SRC, "profiles", "x86_64.json"), 2))
PARTS = ("latency_ms", "compute_ms", "memory_ms", "copy_ms", "overhead_ms")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    opt = os.path.join(args.bin, "mafat-opt")
    predict = os.path.join(args.bin, "mafat-predict")
    failures = 0
    for model in MODELS:
        mlir = os.path.join(args.workdir, model + ".mlir")
        with open(mlir, "w") as f:
            f.write(build_model(model).to_mlir())
        graph = os.path.join(args.workdir, model + ".graph.json")
        with open(graph, "w") as f:
            f.write(run([opt, mlir, "--mafat-normalize", "--mafat-print-layer-graph=format=json",
                         "-o", os.devnull]))
        plans = {"none": "none"}
        fixed = dict(FIXED_PLANS.get(model, {}))
        if "groups" in fixed:
            fixed["slots"] = with_slots(fixed["groups"], 2)
        if model in CHUNKED:  # stream segments computed a row at a time
            fixed["chunked"] = json.loads(json.dumps(fixed["stream"]))
            for g in fixed["chunked"]["groups"]:
                if g.get("mode") == "stream":
                    g["chunk_rows"] = 1
        for name, plan in fixed.items():
            path = os.path.join(args.workdir, f"{model}.{name}.plan.json")
            with open(path, "w") as f:
                json.dump(plan, f)
            plans[name] = path
        for plan_name, plan in plans.items():
            for profile, threads in PROFILES:
                report = os.path.join(args.workdir, f"{model}.{plan_name}.t{threads}.report.json")
                run([opt, mlir, "--mafat-normalize", "-o", os.devnull,
                     f"--mafat-plan=plan={plan} profile={profile} threads={threads} report={report}"])
                with open(report) as f:
                    want = json.load(f)
                got = json.loads(run([predict, graph, f"--plan={plan}", f"--profile={profile}",
                                      f"--threads={threads}"]))
                what = f"{model} plan {plan_name} {os.path.basename(profile)} {threads}T"
                rows = [(g["name"], g["latency_ms"]) for g in want["groups"]]
                mine = [(g["name"], g["latency_ms"]) for g in got["groups"]]
                same = rows == mine and want["predicted_latency_ms"] == got["predicted_latency_ms"]
                if same:
                    print(f"PASS: {what}: {len(rows)} groups, {got['predicted_latency_ms']:.6f} ms")
                else:
                    failures += 1
                    print(f"FAIL: {what}: report {rows} {want['predicted_latency_ms']}, "
                          f"mafat-predict {mine} {got['predicted_latency_ms']}")
                parts = sum(got[k] for k in PARTS[1:])
                if abs(parts - got["predicted_latency_ms"]) > 1e-9 * max(1.0, parts):
                    failures += 1
                    print(f"FAIL: {what}: the parts add up to {parts}, not the total")
    print(f"=== mafat-predict vs mafat-plan: {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
