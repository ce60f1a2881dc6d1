#!/usr/bin/python3
"""How much slower one core reads memory another core just wrote.

A thread pinned to core 0 sums a block of floats it wrote itself, then one
that the last core wrote (each the least of 30 tries, the writer and the
reader never running at once). On a board whose cores share a cache the two
times are close; on a VM whose virtual CPUs the host places on different
core complexes, data a thread reads from a map another thread produced
crosses between caches and costs several times more. ``bench/peers.py`` runs
this probe before every round and ``bench/group_latency.py --cross-core``
before its table, so a measurement records what the machine did then: on the
2-core VM the ratio was 1.4x-4x over one day, and a 1.87x against 1.39x
two-thread speedup of one build came with the same ratio
(docs/Benchmarks.md, "One build, two host phases"), so it rules this cause
in or out rather than explaining the speedup.

The probe is a small C program built with clang-22 into a temporary folder.

Usage:
    /usr/bin/python3 bench/cross_core.py [--sizes 256KiB,1600KiB,8MiB]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

PROBE_C = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
static long n; static float *buf; volatile float sink;
struct job { int cpu, write; double us; };
static void *work(void *p) {
  struct job *j = p; cpu_set_t s; CPU_ZERO(&s); CPU_SET(j->cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
  double t = now();
  if (j->write) { for (long i = 0; i < n; ++i) buf[i] = (float)j->cpu; }
  else { float a = 0; for (long i = 0; i < n; ++i) a += buf[i]; sink = a; }
  j->us = now() - t; return 0;
}
static double step(int cpu, int write) {
  struct job j = {cpu, write, 0}; pthread_t t;
  pthread_create(&t, 0, work, &j); pthread_join(t, 0); return j.us;
}
int main(int argc, char **argv) {
  n = atol(argv[1]) / 4; buf = aligned_alloc(64, (n * 4 + 127) / 64 * 64);
  int other = atoi(argv[2]);
  double local = 1e30, remote = 1e30;
  for (int k = 0; k < 30; ++k) {
    step(0, 1); double a = step(0, 0); if (a < local) local = a;
    step(other, 1); double b = step(0, 0); if (b < remote) remote = b;
  }
  printf("%.3f %.3f\n", local, remote);
  return 0;
}
"""

UNITS = {"KiB": 1 << 10, "MiB": 1 << 20}


def parse_size(text: str) -> int:
    for unit, scale in UNITS.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    return int(text)


def build(work: str) -> str | None:
    """The probe executable in `work` (named by its source's hash), or None
    on a one-CPU machine or without clang-22."""
    if (os.cpu_count() or 1) < 2:
        return None
    tag = hashlib.sha256(PROBE_C.encode()).hexdigest()[:12]
    src = os.path.join(work, f"cross_core.{tag}.c")
    exe = os.path.join(work, f"cross_core.{tag}")
    if not os.path.exists(exe):
        with open(src, "w") as f:
            f.write(PROBE_C)
        try:
            subprocess.run(["clang-22", "-O2", "-ffast-math", src, "-o", exe, "-lpthread"],
                           check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"cross-core probe not built: {e}", file=sys.stderr)
            return None
    return exe


def probe(exe: str, size: int) -> tuple[float, float]:
    """(us reading a block core 0 wrote, us reading one the last core wrote)."""
    out = subprocess.run([exe, str(size), str((os.cpu_count() or 2) - 1)], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def print_table(exe: str, sizes: list[int]) -> list[tuple[int, float, float]]:
    rows = [(size, *probe(exe, size)) for size in sizes]
    print("cross-core probe: core 0 reads a block it wrote / that core %d wrote"
          % ((os.cpu_count() or 2) - 1))
    print("%10s  %10s  %10s  %6s" % ("bytes", "own us", "other's us", "ratio"))
    for size, own, other in rows:
        print("%10d  %10.1f  %10.1f  %6.2f" % (size, own, other, other / own))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="256KiB,1600KiB,8MiB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mafat-cross-core-") as work:
        exe = build(work)
        if not exe:
            print("one CPU: nothing to compare")
            return 0
        print_table(exe, [parse_size(s) for s in args.sizes.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
