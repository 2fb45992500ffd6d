"""Ray's overhead on one machine: the demo on 2 local worker processes against 2 Ray actors.

Each round runs ``ostrack-eval run --bench demo --tracker ostrack-tiny --device cpu`` three ways, as a user
would (a fresh process each, wall time from start to exit, start-up included), into fresh results folders:

- ``local``: ``--workers 2`` (spawned worker processes, one torch thread each);
- ``ray, own instance``: ``--executor ray --workers 2``, which starts (and stops) a local Ray instance;
- ``ray, running cluster``: the same joining a Ray instance started once beforehand (``ray start --head``),
  as runs on a real, long-lived cluster do.

The box files of the three are compared (they must be equal). Rounds are interleaved; the minimum of each
is reported, with the ratio to ``local``. At the end ``ray stop --force`` stops the head it started (and any
other Ray instance of this user on this machine: run it where no other Ray job runs).

    python bench/bench_ray.py [--rounds 2] [--tracker ostrack-tiny] [--extra "--fast"]
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stderr}")
    return wall


def _boxes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*.txt")) if not p.name.endswith("_time.txt")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tracker", default="ostrack-tiny")
    ap.add_argument("--extra", default="", help="more run options, e.g. '--fast --batch 4'")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    base = [sys.executable, "-m", "ostrack_eval", "run", "--bench", "demo", "--tracker", args.tracker,
            "--device", "cpu", "--workers", "2", *shlex.split(args.extra)]
    _run([sys.executable, "-m", "ostrack_eval", "datasets", "list"], env)  # renders the demo if needed
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        tmp = Path(tmp)
        head = subprocess.run(["ray", "start", "--head", "--num-cpus", "2", "--include-dashboard", "false",
                               "--object-store-memory", str(96 * 2**20), "--disable-usage-stats"],
                              capture_output=True, text=True, env=env)
        if head.returncode != 0:
            sys.exit(f"ray start --head failed:\n{head.stderr}")
        address = "auto"  # the instance `ray start` just recorded as this machine's current cluster
        ways = {"local (--workers 2)": [],
                "ray, own local instance (2 actors)": ["--executor", "ray"],
                "ray, running cluster (2 actors)": ["--executor", "ray", "--ray-address", address]}
        times: dict[str, list[float]] = {name: [] for name in ways}
        try:
            for r in range(args.rounds):
                for k, (name, extra) in enumerate(ways.items()):
                    out = tmp / f"r{r}w{k}"
                    times[name].append(_run([*base, *extra, "--results", str(out)],
                                            dict(env, RAY_ADDRESS="") if "own" in name else env))
                    boxes = _boxes(out)
                    if k == 0:
                        reference = boxes
                    elif boxes != reference:
                        sys.exit(f"{name}: box files differ from the local run's")
        finally:
            subprocess.run(["ray", "stop", "--force"], capture_output=True, env=env)
    local = min(times["local (--workers 2)"])
    print(f"demo, {args.tracker} {args.extra}".rstrip() + f", 2 workers on {os.cpu_count()} CPUs, "
          f"min of {args.rounds} interleaved rounds (all rounds in s)")
    for name, walls in times.items():
        print(f"  {name:36s} {min(walls):6.2f} s  ({min(walls) / local:.2f}x local)   "
              + ", ".join(f"{w:.2f}" for w in walls))
    print("  box files: identical in every run")


if __name__ == "__main__":
    main()
