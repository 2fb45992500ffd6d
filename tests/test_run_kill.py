"""Killing ``ostrack-eval run`` at random moments loses nothing and corrupts nothing; concurrent runs."""

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ostrack_eval.run import ResultStore, RunOptions, run_benchmark
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils.atomic import is_temp_file
from ostrack_eval.utils.boxio import read_boxes
from test_run_fakes import make_bench

TESTS = Path(__file__).parent
# 8 sequences whose frames are one 360x480 noise JPEG each: ~2 ms to decode a frame, ~1.5 s of work in all
LENGTHS = {f"seq{i}": 60 + 10 * i for i in range(8)}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill") / "data"
    return make_bench(root, LENGTHS, name="long", size=(360, 480), shared_frame=True)


@pytest.fixture(scope="module")
def uninterrupted(bench, tmp_path_factory):
    """The box files of an uninterrupted run, and how long its tracking loop took on this machine."""
    results = tmp_path_factory.mktemp("reference")
    start = time.monotonic()
    summary = run_benchmark(bench, TrackerSpec("identity"), RunOptions(results=results, progress=False))
    assert summary.exit_code == 0
    return _box_files(results / "identity" / "long"), time.monotonic() - start


@pytest.fixture(scope="module")
def reference(uninterrupted):
    return uninterrupted[0]


def _box_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt")) if not p.name.endswith("_time.txt")}


def _start(bench, results: Path, *extra) -> subprocess.Popen:
    cmd = [sys.executable, str(TESTS / "test_run_fakes.py"), "run", "--bench", "long", "--tracker", "identity",
           "--root", str(bench.root.parent), "--results", str(results), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _done(results: Path) -> set[str]:
    """The sequences the store counts as finished: a box file alone (killed before its times) is not."""
    store = ResultStore(results, "identity")
    return {seq for seq, n in LENGTHS.items() if store.is_done("long", seq, n)}


def _lock_holder(lock: Path) -> int | None:
    try:
        return json.loads(lock.read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None  # absent, stale from a killed run being replaced, or not written yet


def _check_no_torn_files(bench_dir: Path) -> None:
    """Whatever a kill leaves behind, every result file that exists under its real name is complete."""
    if not bench_dir.is_dir():
        return
    for path in bench_dir.iterdir():
        if is_temp_file(path):
            continue
        seq = path.name[: -len("_time.txt")] if path.name.endswith("_time.txt") else path.stem
        rows = read_boxes(path, ncols=None)
        assert rows.shape[0] == LENGTHS[seq], path


def test_sigkill_at_random_moments_then_resume_gives_the_uninterrupted_files(bench, uninterrupted, tmp_path):
    reference, work_s = uninterrupted
    results = tmp_path / "res"
    bench_dir = results / "identity" / "long"
    lock = results / "identity" / "long.lock"
    rng = random.Random(1234)
    killed = 0
    for _ in range(4):
        proc = _start(bench, results)
        deadline = time.monotonic() + 30
        while _lock_holder(lock) != proc.pid and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # past start-up: the run holds its lock and plans or tracks from here on
        # a quarter of the work at most per attempt, so (on any machine) the kills land while it tracks
        time.sleep(rng.uniform(0.0, 0.25 * work_s))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        killed += proc.returncode == -signal.SIGKILL
        _check_no_torn_files(bench_dir)
    assert killed >= 2, "the run finished before it could be killed: make the benchmark longer"
    done_before = len(_done(results))
    proc = _start(bench, results)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{len(LENGTHS) - done_before} run now, {done_before} already done" in out
    assert _box_files(bench_dir) == reference
    for seq, n in LENGTHS.items():
        assert len((bench_dir / f"{seq}_time.txt").read_text().splitlines()) == n
    leftovers = [p for p in results.rglob("*") if is_temp_file(p) or p.name.endswith(".lock")]
    assert leftovers == []


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_killing_the_parent_also_ends_its_workers(bench, tmp_path):
    proc = _start(bench, tmp_path / "res", "--workers", "2", "--device", "cpu")
    deadline = time.monotonic() + 30
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        workers = [p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers), "orphaned workers kept running"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_a_worker_that_dies_fails_its_sequence_and_the_rest_goes_on(bench, reference, tmp_path):
    results = tmp_path / "res"
    proc = _start(bench, results, "--workers", "2", "--device", "cpu")
    deadline = time.monotonic() + 30
    workers = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = [p for p in _children(proc.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()]
    while not list((results / "identity" / "long").glob("*_time.txt")) and time.monotonic() < deadline:
        time.sleep(0.02)  # both workers are now inside sequences
    os.kill(workers[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "worker process died (exit code -9)" in err and "1 sequence(s) failed" in out
    lost = re.search(r"long/(\S+) failed: worker process died", err)[1]
    # the dead worker's sequence is the only one missing, unless the kill landed after its time file was
    # written and before the worker could report it done: then it is complete and must be kept
    missing = set(LENGTHS) - _done(results)
    assert missing <= {lost}
    proc = _start(bench, results)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert f"{len(missing)} run now, {len(LENGTHS) - len(missing)} already done" in out
    assert _box_files(results / "identity" / "long") == reference


def test_concurrent_shards_share_one_results_folder(bench, reference, tmp_path):
    results = tmp_path / "res"
    procs = [_start(bench, results, "--shard", f"{i}/2") for i in (1, 2)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert _box_files(results / "identity" / "long") == reference

    sessions = json.loads((results / "identity" / "run.json").read_text())["benches"]["long"]["sessions"]
    assert sorted(s["shard"] for s in sessions) == ["1/2", "2/2"]
    assert all(s["status"] == "finished" for s in sessions)


def test_a_second_run_on_the_same_folder_is_refused_while_the_first_works(bench, tmp_path):
    results = tmp_path / "res"
    first = _start(bench, results)
    try:
        lock = results / "identity" / "long.lock"
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = _start(bench, results)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert f"(pid {first.pid} " in err and err.count("\n") == 1
        assert first.poll() is None, "the first run ended before the second was tried: make the benchmark longer"
    finally:
        first.kill()
        first.communicate()
