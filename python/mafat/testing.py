"""Plumbing shared by the end-to-end test drivers (test/e2e/run_e2e.py,
test/importers/darknet_e2e.py, test/importers/onnx_e2e.py): one PASS/FAIL
line per check, commands run with a timeout whose failure carries the tool's
own output, and the aarch64 run convention."""

from __future__ import annotations

import shlex
import subprocess
import time
from typing import List, Optional, Sequence

HOST_TARGET = "x86_64-linux-gnu"
AARCH64_TARGET = "aarch64-linux-gnu"
DEFAULT_QEMU = "qemu-aarch64 -L /usr/aarch64-linux-gnu"


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
