"""``run --executor ray`` on a real local Ray cluster (one per test session): same files as a local run,
actors killed mid-run, a killed driver resumed, a worker that cannot see the dataset."""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.datasets import get_benchmark
from ostrack_eval.errors import UserError
from ostrack_eval.run import ResultStore, RunOptions, run_benchmark
from ostrack_eval.run.ray_executor import INSTALL_HINT, RaySettings
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils.atomic import is_temp_file
from ostrack_eval.utils.boxio import read_boxes
from test_run_fakes import make_bench

TESTS = Path(__file__).parent
# identity over one shared 360x480 JPEG per sequence: ~2 ms a frame to decode, a few seconds on 2 actors
LENGTHS = {f"seq{i}": 300 + 100 * i for i in range(6)}
DEMO_SUBSET = ["fast-motion", "occlusion", "zoom"]
STORE = 80 * 2**20  # object store bytes per node: only boxes and frame lists travel through it


@pytest.fixture(scope="session")
def ray_cluster():
    """One Ray cluster for the whole session (starting one takes seconds): a head with no CPU for actors and
    two 1-CPU nodes (two raylets on this machine), so a node can be lost; small object stores."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": STORE,
                                                            "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=STORE)
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.ERROR)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="session")
def ray_address(ray_cluster):
    return ray_cluster.address


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return make_bench(tmp_path_factory.mktemp("ray") / "data", LENGTHS, name="long", size=(360, 480),
                      shared_frame=True)


@pytest.fixture(scope="module")
def reference(bench, tmp_path_factory):
    results = tmp_path_factory.mktemp("reference")
    assert run_benchmark(bench, TrackerSpec("identity"), RunOptions(results=results, progress=False)).ok
    return _box_files(results / "identity" / "long")


def _box_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.txt"))
            if not p.name.endswith("_time.txt")}


def _time_rows(folder: Path) -> dict[str, int]:
    return {p.name: len(read_boxes(p, ncols=None)) for p in sorted(folder.rglob("*_time.txt"))}


def _sessions(results: Path, run: str, bench: str) -> list[dict]:
    return json.loads((results / run / "run.json").read_text())["benches"][bench]["sessions"]


def _on_ray(actors: int | None = 2, **kw) -> RunOptions:
    return RunOptions(progress=False, ray=RaySettings(actors=actors), **kw)


@pytest.fixture(scope="module")
def demo_local(tmp_path_factory):
    """ostrack-tiny --fast over part of the demo on 2 local worker processes (one thread each, as the actors)."""
    results = tmp_path_factory.mktemp("demo_local")
    spec = TrackerSpec("ostrack-tiny", fast=True)
    assert run_benchmark(get_benchmark("demo"), spec, RunOptions(results=results, sequences=DEMO_SUBSET, workers=2,
                                                                 device="cpu", progress=False)).ok
    return results / spec.run_name() / "demo"


def test_demo_on_two_actors_equals_the_local_run_file_for_file(ray_address, demo_local, tmp_path):
    spec = TrackerSpec("ostrack-tiny", fast=True)
    ray_run = run_benchmark(get_benchmark("demo"), spec, _on_ray(results=tmp_path, sequences=DEMO_SUBSET,
                                                                 device="cpu"))
    assert ray_run.ok and sorted(ray_run.completed) == sorted(DEMO_SUBSET)
    folder = tmp_path / spec.run_name() / "demo"
    assert _box_files(folder) == _box_files(demo_local) and len(_box_files(folder)) == len(DEMO_SUBSET)
    assert _time_rows(folder) == _time_rows(demo_local)
    session = _sessions(tmp_path, spec.run_name(), "demo")[-1]
    assert session["status"] == "finished" and session["executor"]["executor"] == "ray"
    assert len(session["devices"]) == 2  # every actor's device, with the node it ran on
    assert all(d["executor"] == "ray" and d["node"] and d["cpu_threads"] == 1 for d in session["devices"])


def test_batched_actors_track_in_lockstep_like_one_at_a_time(ray_address, demo_local, tmp_path):
    spec = TrackerSpec("ostrack-tiny", fast=True)
    summary = run_benchmark(get_benchmark("demo"), spec, _on_ray(actors=1, results=tmp_path, sequences=DEMO_SUBSET,
                                                                 device="cpu", batch=3))
    assert summary.ok and sorted(summary.completed) == sorted(DEMO_SUBSET)
    folder = tmp_path / spec.run_name() / "demo"
    for seq in DEMO_SUBSET:  # batches change float rounding, not the boxes (the local batched tests' bound)
        np.testing.assert_allclose(read_boxes(folder / f"{seq}.txt"), read_boxes(demo_local / f"{seq}.txt"),
                                   atol=5e-3, rtol=0)  # test_run_batched.FILE_TOL
    assert _time_rows(folder) == _time_rows(demo_local)


def test_repetitions_on_ray_equal_the_local_ones(ray_address, bench, tmp_path):
    small = make_bench(tmp_path / "data", {"a": 7, "b": 12, "c": 5})
    spec = TrackerSpec("identity")
    assert run_benchmark(small, spec, RunOptions(results=tmp_path / "local", runs=2, progress=False)).ok
    summary = run_benchmark(small, spec, _on_ray(results=tmp_path / "ray", runs=2))
    assert summary.ok and summary.frames == 2 * (7 + 12 + 5)
    assert _box_files(tmp_path / "ray" / "identity" / "tiny") == _box_files(tmp_path / "local" / "identity" / "tiny")
    assert _time_rows(tmp_path / "ray" / "identity" / "tiny") == {f"{s}_time.txt": n for s, n in
                                                                 (("a", 7), ("b", 12), ("c", 5))}


def _actor_pids() -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes().startswith(b"ray::TrackerActor"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


@pytest.fixture
def writes(monkeypatch) -> list[str]:
    """The sequence of every result the store writes in this test, in order (the driver is the only writer)."""
    written: list[str] = []
    original = ResultStore.write

    def counting_write(self, bench_name, seq, boxes, times):
        written.append(seq)
        original(self, bench_name, seq, boxes, times)

    monkeypatch.setattr(ResultStore, "write", counting_write)
    return written


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find the actor processes")
def test_an_actor_killed_mid_run_loses_nothing_and_writes_nothing_twice(ray_address, bench, reference, tmp_path,
                                                                        writes):
    results = tmp_path / "res"
    killed: list[int] = []

    def kill_one_actor_once_a_result_is_stored():
        deadline = time.monotonic() + 60
        while not writes and time.monotonic() < deadline:
            time.sleep(0.01)
        pids = _actor_pids()  # both actors hold sequences now: the queue still has the short ones
        if writes and pids:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    killer = threading.Thread(target=kill_one_actor_once_a_result_is_stored)
    killer.start()
    logged: list[str] = []
    options = _on_ray(results=results)
    options.log = logged.append
    summary = run_benchmark(bench, TrackerSpec("identity"), options)
    killer.join()
    assert killed, "no actor process was found to kill"
    assert summary.ok, summary.lines()
    assert any("died" in line and "go back to the queue" in line for line in logged), logged
    assert sorted(writes) == sorted(LENGTHS)  # each sequence stored exactly once
    assert _box_files(results / "identity" / "long") == reference
    assert _time_rows(results / "identity" / "long") == {f"{s}_time.txt": n for s, n in LENGTHS.items()}
    devices = _sessions(results, "identity", "long")[-1]["devices"]
    assert len(devices) == 3 and killed[0] in {d["pid"] for d in devices}  # the replacement is recorded too


def test_a_node_lost_mid_run_loses_nothing_and_writes_nothing_twice(ray_cluster, bench, reference, tmp_path,
                                                                     writes):
    logged: list[str] = []
    options = _on_ray(results=tmp_path / "res")
    options.log = logged.append
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(summary=run_benchmark(bench, TrackerSpec("identity"),
                                                                                  options)))
    runner.start()
    deadline = time.monotonic() + 60
    while not writes and runner.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writes and runner.is_alive(), "the run ended before a node could be lost"
    lost = next(iter(ray_cluster.worker_nodes))
    ray_cluster.remove_node(lost, allow_graceful=False)  # its raylet and the actor on it are gone
    ray_cluster.add_node(num_cpus=1, object_store_memory=STORE)  # (Ray's node objects want the main thread)
    runner.join(timeout=120)
    summary = outcome["summary"]
    assert summary.ok, summary.lines()
    assert any("died" in line and "go back to the queue" in line for line in logged), logged
    assert sorted(writes) == sorted(LENGTHS)
    assert _box_files(tmp_path / "res" / "identity" / "long") == reference


def _check_no_torn_files(bench_dir: Path) -> None:
    for path in bench_dir.iterdir() if bench_dir.is_dir() else []:
        if not is_temp_file(path):
            seq = path.name[: -len("_time.txt")] if path.name.endswith("_time.txt") else path.stem
            assert len(read_boxes(path, ncols=None)) == LENGTHS[seq], path


def test_a_killed_driver_leaves_a_folder_a_rerun_resumes(ray_address, bench, reference, tmp_path):
    results = tmp_path / "res"
    bench_dir = results / "identity" / "long"
    cmd = [sys.executable, str(TESTS / "test_run_fakes.py"), "run", "--bench", "long", "--tracker", "identity",
           "--root", str(bench.root.parent), "--results", str(results), "--executor", "ray",
           "--ray-address", ray_address, "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(bench_dir.glob("*_time.txt")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err  # killed while tracking, not finished before
    _check_no_torn_files(bench_dir)
    done = len(list(bench_dir.glob("*_time.txt")))
    assert 1 <= done < len(LENGTHS)
    summary = run_benchmark(bench, TrackerSpec("identity"), _on_ray(results=results))
    assert summary.ok and len(summary.already_done) == done and len(summary.completed) == len(LENGTHS) - done
    assert _box_files(bench_dir) == reference
    statuses = [s["status"] for s in _sessions(results, "identity", "long")]
    assert statuses == ["running", "finished"]  # the killed session is on record as it was left
    assert not [p for p in results.rglob("*") if is_temp_file(p) or p.name.endswith(".lock")]


def test_a_worker_that_cannot_see_the_dataset_root_fails_with_one_line(ray_address, bench, tmp_path):
    # /proc/self/fd/N is the benchmark's folder in this process only: the driver reads the annotations
    # through it, the actors (other processes, like those on other nodes) find nothing there
    fd = os.open(bench.root.parent, os.O_RDONLY)
    high = os.dup2(fd, 917)
    os.close(fd)
    try:
        hidden = type(bench)(f"/proc/self/fd/{high}", "long")
        assert hidden.sequence_names() == list(LENGTHS)
        with pytest.raises(UserError) as caught:
            run_benchmark(hidden, TrackerSpec("identity"), _on_ray(results=tmp_path / "res"))
    finally:
        os.close(high)
    message = str(caught.value)
    assert "\n" not in message and "node " in message
    assert f"cannot see the dataset root /proc/self/fd/{high}/long" in message
    assert not list((tmp_path / "res" / "identity" / "long").glob("*.txt"))


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when the extra is missing
    small = make_bench(tmp_path / "data", {"a": 3})
    with pytest.raises(UserError, match="--executor ray needs Ray") as caught:
        run_benchmark(small, TrackerSpec("identity"), _on_ray(results=tmp_path / "res"))
    assert INSTALL_HINT in str(caught.value)
    assert not (tmp_path / "res").exists()  # refused before anything was written


def test_ray_options_need_the_ray_executor(tmp_path, capsys):
    from ostrack_eval.cli.main import main

    rc = main(["run", "--bench", "demo", "--tracker", "identity", "--results", str(tmp_path / "res"),
               "--ray-address", "auto"])
    assert rc == 2 and "--ray-address needs --executor ray" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()
    with pytest.raises(UserError, match="--device cuda:1: with --executor ray"):
        RaySettings().check("cuda:1")
    # zero is a value, not "unset": refused before anything is written, like --workers 0
    rc = main(["run", "--bench", "demo", "--tracker", "identity", "--results", str(tmp_path / "res"),
               "--executor", "ray", "--cpus-per-actor", "0"])
    assert rc == 2 and "--cpus-per-actor must be at least 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()


def test_an_address_where_no_head_listens_is_refused_at_once(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
    small = make_bench(tmp_path / "data", {"a": 3})
    options = RunOptions(results=tmp_path / "res", progress=False, ray=RaySettings(address="127.0.0.1:1"))
    with pytest.raises(UserError, match="--ray-address 127.0.0.1:1: no Ray head answers there"):
        run_benchmark(small, TrackerSpec("identity"), options)
    assert not (tmp_path / "res").exists()


def test_a_sequence_stored_before_its_actor_died_is_kept_and_the_rest_requeued(ray_address, tmp_path):
    # the window a kill rarely hits: the actor's result reached the driver, its "done" did not
    import ray

    from ostrack_eval.run.monitor import RunMonitor
    from ostrack_eval.run.plan import Job
    from ostrack_eval.run.ray_executor import _ActorShape, _Assignment, _RayRun, _Slot

    small = make_bench(tmp_path / "data", {"a": 4, "b": 6})
    jobs = [Job(small.load("b")), Job(small.load("a"))]
    logged: list[str] = []
    monitor = RunMonitor("tiny", jobs, progress=False, log=logged.append)
    store = ResultStore(tmp_path / "res", "identity")
    run = _RayRun(ray, [], TrackerSpec("identity"), store, "tiny", monitor, 1,
                  _ActorShape(1, "cpu", 1, {"num_cpus": 1}), small.root)
    run.replacements_left = 0  # no new actor: this checks the driver's books only
    slot = run.slots[7] = _Slot(7, handle=None, ref=None, ready=True, node="n1")
    for job in jobs:
        slot.assigned[job.name] = _Assignment(job, None, started=True)
        monitor.handle(("start", 7, job.name))
    boxes = np.tile(small.load("a").init_box, (4, 1))
    run._store(slot, ("result", 7, "a", None, boxes, np.full(4, 0.5)))
    run._lost(slot, RuntimeError("actor process killed\ndetails"))
    assert monitor.completed == ["a"] and (monitor.frames, monitor.track_seconds) == (4, 2.0)
    assert [j.name for j in run.pending] == ["b"] and run.attempts == {"b": 1}
    assert store.is_done("tiny", "a", 4) and not store.is_done("tiny", "b", 6)
    assert "Ray actor 7 on node n1 died (RuntimeError: actor process killed); 1 sequence(s) go back" in logged[0]
    assert monitor.fatal is not None and "every Ray actor died" in monitor.fatal[0]  # none left to take b


@pytest.mark.parametrize("fail_fast", [False, True])
def test_a_failing_sequence_is_reported_and_fail_fast_stops_the_actors(ray_address, tmp_path, fail_fast):
    small = make_bench(tmp_path / "data", {"a": 40, "b": 30, "broken": 50, "c": 20}, shared_frame=True)
    (small.root / "broken" / "0001.jpg").unlink()  # the driver loads its annotations, the actor finds no frame
    logged: list[str] = []
    options = _on_ray(results=tmp_path / "res", fail_fast=fail_fast)
    options.log = logged.append
    summary = run_benchmark(small, TrackerSpec("identity"), options)
    assert summary.exit_code == 1 and list(summary.failed) == ["broken"]
    assert "0001.jpg" in summary.failed["broken"] and any("tiny/broken failed" in line for line in logged)
    assert set(summary.completed) | set(summary.not_run) == {"a", "b", "c"}
    if not fail_fast:
        assert summary.not_run == []
    status = _sessions(tmp_path / "res", "identity", "tiny")[-1]["status"]
    assert status == "finished"
