"""The sequence runner, in process: complete files, resume, failures, repetitions, workers, shards, OSTrack."""

import errno
import itertools
import json
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.run import ResultStore, RunOptions, run_benchmark
from ostrack_eval.run.lock import BenchLock
from ostrack_eval.run.plan import select_sequences
from ostrack_eval.trackers import registry
from ostrack_eval.trackers.registry import TrackerSpec, file_sha256
from ostrack_eval.utils import atomic
from ostrack_eval.utils.atomic import is_temp_file
from ostrack_eval.utils.boxio import read_boxes
from test_run_fakes import make_bench

FIXTURES = Path(__file__).parent / "fixtures"
REF = FIXTURES / "ostrack_reference"
SMALL_YAML = FIXTURES / "ostrack_small" / "small_ce.yaml"
SMALL_CKPT = REF / "small_ce.pth.tar"

LENGTHS = {"a": 7, "bb": 12, "-Dz7": 4}
IDENTITY = TrackerSpec("identity")


def _run(bench, results, spec=IDENTITY, **kw):
    logs = []
    summary = run_benchmark(bench, spec, RunOptions(results=results, progress=False, log=logs.append, **kw))
    return summary, logs


def _box_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.txt"))
            if not p.name.endswith("_time.txt")}


def _no_leftovers(run_dir: Path):
    leftovers = [p for p in run_dir.rglob("*") if is_temp_file(p) or p.name.endswith(".lock")]
    assert leftovers == []


def test_every_sequence_gets_complete_files_and_a_run_record(tmp_path):
    bench = make_bench(tmp_path / "data", LENGTHS)
    summary, _ = _run(bench, tmp_path / "res")
    assert summary.exit_code == 0 and sorted(summary.completed) == sorted(LENGTHS)
    store = ResultStore(tmp_path / "res", "identity")
    for name, n in LENGTHS.items():
        seq = bench.load(name)
        boxes = store.read_boxes("tiny", name)
        assert boxes.shape == (n, 4)
        np.testing.assert_allclose(boxes[0], seq.ground_truth[0], atol=5e-5)  # row 0 = the init box
        np.testing.assert_allclose(boxes, np.repeat(boxes[:1], n, axis=0))  # identity never moves
        times = store.read_times("tiny", name)
        assert times.shape == (n,) and np.all(times >= 0)
    record = json.loads((tmp_path / "res" / "identity" / "run.json").read_text())
    assert record["tracker"] == IDENTITY.as_dict()
    session = record["benches"]["tiny"]["sessions"][-1]
    assert session["status"] == "finished" and session["sequences_run"] == 3
    assert session["devices"][0]["device"] == "cpu"
    assert session["frames"] == sum(LENGTHS.values())
    _no_leftovers(tmp_path / "res")


def test_resume_keeps_finished_sequences_and_redoes_incomplete_ones(tmp_path):
    bench = make_bench(tmp_path / "data", LENGTHS)
    _run(bench, tmp_path / "res")
    bdir = tmp_path / "res" / "identity" / "tiny"
    before = _box_files(bdir)
    stamp = (bdir / "a.txt").stat().st_mtime_ns
    (bdir / "bb.txt").write_text("1,2,3,4\n")  # torn file from a non-atomic writer
    (bdir / "-Dz7_time.txt").unlink()
    (bdir / ".a.txt.k1l2m3.tmp").write_text("half a fi")  # a killed writer's temp file
    summary, logs = _run(bench, tmp_path / "res")
    assert summary.already_done == ["a"] and sorted(summary.completed) == ["-Dz7", "bb"]
    assert (bdir / "a.txt").stat().st_mtime_ns == stamp
    assert _box_files(bdir) == before
    assert any("redoing tiny/bb" in line for line in logs)
    _no_leftovers(tmp_path / "res")
    again, _ = _run(bench, tmp_path / "res")
    assert again.completed == [] and len(again.already_done) == 3


def test_sequences_and_shards_select_deterministically(tmp_path):
    bench = make_bench(tmp_path / "data", {f"s{i}": 2 + i for i in range(5)})
    s1, _ = _run(bench, tmp_path / "r1", shard=(1, 2))
    s2, _ = _run(bench, tmp_path / "r1", shard=(2, 2))
    assert sorted(s1.completed) == ["s0", "s2", "s4"] and sorted(s2.completed) == ["s1", "s3"]
    s3, _ = _run(bench, tmp_path / "r2", sequences=["s3", "s1"])
    assert sorted(s3.completed) == ["s1", "s3"] and s3.selected == 2
    with pytest.raises(UserError, match="nope"):
        _run(bench, tmp_path / "r2", sequences=["s1", "nope"])


def test_a_shard_is_the_same_slice_of_the_benchmark_whatever_sequences_are_asked_for(tmp_path):
    names = [f"s{i}" for i in range(5)]
    bench = make_bench(tmp_path / "data", {n: 2 for n in names})
    run_dir = tmp_path / "res" / "identity"
    # a concurrent `--shard 2/2` (s1, s3) holds its lock; `--shard 1/2` may run beside it whatever it filters
    with BenchLock(run_dir, "tiny", (2, 2)):
        s1, _ = _run(bench, tmp_path / "res", shard=(1, 2), sequences=["s1", "s2"])
    assert s1.completed == ["s2"] and s1.selected == 1
    assert not (run_dir / "tiny" / "s1.txt").exists()
    s2, _ = _run(bench, tmp_path / "res", shard=(2, 2), sequences=["s1", "s2"])
    assert s2.completed == ["s1"]
    for n in (2, 3):
        for k in range(len(names) + 1):
            for wanted in itertools.combinations(names, k):
                for i in range(1, n + 1):
                    whole = select_sequences(names, None, (i, n))
                    assert select_sequences(names, list(wanted), (i, n)) == [s for s in whole if s in wanted]


def test_single_run_and_repetition_layouts_are_not_mixed_in_one_bench_folder(tmp_path):
    bench = make_bench(tmp_path / "data", {"s1": 3, "s2": 4})
    _run(bench, tmp_path / "flat", sequences=["s1"])
    bdir = tmp_path / "flat" / "identity" / "tiny"
    with pytest.raises(UserError) as err:
        _run(bench, tmp_path / "flat", runs=3, sequences=["s2"])  # one bench folder, one protocol
    msg = str(err.value)
    assert msg.startswith(f"{bdir}: ") and "s1.txt" in msg and "--name" in msg and "\n" not in msg
    assert sorted(p.name for p in bdir.iterdir()) == ["s1.txt", "s1_time.txt"]

    _run(bench, tmp_path / "reps", runs=2, sequences=["s1"])
    bdir = tmp_path / "reps" / "identity" / "tiny"
    with pytest.raises(UserError) as err:
        _run(bench, tmp_path / "reps")
    msg = str(err.value)
    assert msg.startswith(f"{bdir}: ") and "s1/s1_001.txt" in msg and "--name" in msg and "\n" not in msg
    assert sorted(p.name for p in bdir.iterdir()) == ["s1"]
    _run(bench, tmp_path / "reps", runs=3)  # more repetitions of the same protocol are fine
    for folder, accepted in (("flat", 1), ("reps", 2)):  # a refused run leaves no session behind
        sessions = json.loads((tmp_path / folder / "identity" / "run.json").read_text())["benches"]["tiny"]
        assert [s["status"] for s in sessions["sessions"]] == ["finished"] * accepted


def test_a_full_disk_stops_the_run_with_one_line_and_keeps_what_is_finished(tmp_path, monkeypatch):
    bench = make_bench(tmp_path / "data", {"long": 9, "mid": 6, "short": 3})
    bdir = tmp_path / "res" / "identity" / "tiny"
    real_mkstemp, full = tempfile.mkstemp, []

    def mkstemp(prefix, suffix, dir):
        if prefix.startswith(".mid.txt."):
            full.append(prefix)  # the disk fills up as mid's results are written, and stays full
        if full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(prefix=prefix, suffix=suffix, dir=dir)

    monkeypatch.setattr(atomic, "tempfile", SimpleNamespace(mkstemp=mkstemp))
    logs = []
    with pytest.raises(UserError) as err:
        run_benchmark(bench, IDENTITY, RunOptions(results=tmp_path / "res", progress=False, log=logs.append))
    msg = str(err.value)
    assert msg.startswith(f"{bdir / 'mid.txt'}: cannot write result (No space left on device)")
    assert "\n" not in msg
    assert any("run.json: cannot write run record (No space left on device)" in line for line in logs)
    store = ResultStore(tmp_path / "res", "identity")
    assert store.is_done("tiny", "long", 9)
    assert sorted(p.name for p in bdir.iterdir()) == ["long.txt", "long_time.txt"]  # short was not tried
    _no_leftovers(tmp_path / "res")
    monkeypatch.undo()
    again, _ = _run(bench, tmp_path / "res")
    assert again.already_done == ["long"] and sorted(again.completed) == ["mid", "short"]


def test_a_write_error_in_a_worker_stops_the_run_with_one_line(tmp_path):
    bench = make_bench(tmp_path / "data", {"a": 8, "b": 6, "c": 3})
    _run(bench, tmp_path / "res", sequences=["a"])
    bdir = tmp_path / "res" / "identity" / "tiny"
    kept = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in bdir.iterdir()}
    (bdir / "b_time.txt").mkdir()  # no file can be renamed over a folder, whoever runs the test
    with pytest.raises(UserError) as err:
        _run(bench, tmp_path / "res", workers=2, device="cpu")
    msg = str(err.value)
    assert msg.startswith(f"{bdir / 'b_time.txt'}: cannot write result (Is a directory)") and "\n" not in msg
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in kept} == kept
    assert not ResultStore(tmp_path / "res", "identity").is_done("tiny", "b", 6)
    _no_leftovers(tmp_path / "res")


def test_frame_failures_are_reported_and_the_others_go_on(tmp_path):
    bench = make_bench(tmp_path / "data", {"ok": 5, "corrupt": 6, "gone": 4})
    bad = tmp_path / "data" / "tiny" / "corrupt" / "0004.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    (tmp_path / "data" / "tiny" / "gone" / "0002.jpg").unlink()
    summary, logs = _run(bench, tmp_path / "res")
    assert summary.exit_code == 1
    assert summary.completed == ["ok"]
    assert str(bad) in summary.failed["corrupt"] and "decode" in summary.failed["corrupt"]
    assert "0002.jpg" in summary.failed["gone"] and "not found" in summary.failed["gone"]
    assert any("tiny/corrupt failed" in line for line in logs)
    assert any("corrupt:" in line for line in summary.lines())
    bdir = tmp_path / "res" / "identity" / "tiny"
    assert sorted(p.name for p in bdir.iterdir()) == ["ok.txt", "ok_time.txt"]
    session = json.loads((tmp_path / "res" / "identity" / "run.json").read_text())["benches"]["tiny"]["sessions"][0]
    assert set(session["sequences_failed"]) == {"corrupt", "gone"}


def test_unloadable_sequences_fail_but_none_loadable_is_bad_input(tmp_path):
    bench = make_bench(tmp_path / "data", {"here": 3, "gone": 4})
    (tmp_path / "data" / "tiny" / "gone" / "frames.txt").unlink()
    summary, logs = _run(bench, tmp_path / "res")
    assert summary.completed == ["here"] and summary.failed["gone"].startswith("cannot load: ")
    assert summary.exit_code == 1
    assert [line for line in logs if "cannot be loaded" in line] == [logs[0]] and "1 of 2" in logs[0]
    with pytest.raises(UserError, match="none of the 1 selected"):
        _run(bench, tmp_path / "res2", sequences=["gone"])
    assert not (tmp_path / "res2").exists()


class _FlakyTracker:
    """Sequence k (in the order the runner starts them): 0 fine, 1 returns NaN at frame 2, 2 raises."""

    starts = 0

    def initialize(self, image, box):
        self.k = type(self).starts
        type(self).starts += 1
        self.box = np.asarray(box, float)

    def track(self, image):
        if self.k == 1:
            return np.array([1.0, np.nan, 3.0, 4.0])
        if self.k == 2:
            raise RuntimeError("boom")
        return self.box


@pytest.fixture
def flaky(monkeypatch):
    _FlakyTracker.starts = 0
    monkeypatch.setitem(registry.TRACKERS, "flaky", lambda context: _FlakyTracker())
    return TrackerSpec("flaky")


def test_tracker_nan_and_exceptions_fail_only_their_sequence(tmp_path, flaky):
    bench = make_bench(tmp_path / "data", {"long": 9, "mid": 6, "short": 3})  # run longest first
    summary, _ = _run(bench, tmp_path / "res", spec=flaky)
    assert summary.completed == ["long"] and summary.exit_code == 1
    assert "non-finite box" in summary.failed["mid"] and "frame 1" in summary.failed["mid"]
    assert summary.failed["short"] == "flaky raised RuntimeError: boom (sequence short, frame 1)"
    assert not (tmp_path / "res" / "flaky" / "tiny" / "mid.txt").exists()


def test_fail_fast_stops_at_the_first_failure(tmp_path, flaky):
    bench = make_bench(tmp_path / "data", {"long": 9, "mid": 6, "short": 3})
    summary, _ = _run(bench, tmp_path / "res", spec=flaky, fail_fast=True)
    assert summary.completed == ["long"] and list(summary.failed) == ["mid"] and summary.not_run == ["short"]
    assert summary.exit_code == 1 and any("not run" in line for line in summary.lines())


def test_results_of_another_tracker_config_are_not_mixed(tmp_path):
    bench = make_bench(tmp_path / "data", {"a": 3})
    _run(bench, tmp_path / "res", spec=TrackerSpec("identity", name="shared"))
    with pytest.raises(UserError, match="different tracker configuration.*fast"):
        _run(bench, tmp_path / "res", spec=TrackerSpec("identity", name="shared", fast=True))
    _run(bench, tmp_path / "res", spec=TrackerSpec("identity", name="shared"))  # same config: fine
    (tmp_path / "res" / "shared" / "run.json").write_text("{not json")
    with pytest.raises(UserError, match="run.json"):
        _run(bench, tmp_path / "res", spec=TrackerSpec("identity", name="shared"))


def test_got10k_repetitions_resume_per_repetition(tmp_path):
    bench = make_bench(tmp_path / "data", {"GOT-10k_Test_000001": 5, "GOT-10k_Test_000002": 3}, name="got10k")
    summary, _ = _run(bench, tmp_path / "res", runs=2)
    assert summary.frames == 2 * (5 + 3)
    folder = tmp_path / "res" / "identity" / "got10k" / "GOT-10k_Test_000001"
    r1 = folder / "GOT-10k_Test_000001_001.txt"
    assert r1.read_bytes() == (folder / "GOT-10k_Test_000001_002.txt").read_bytes()
    assert read_boxes(folder / "GOT-10k_Test_000001_time.txt", ncols=None).shape == (5, 2)
    stamp = r1.stat().st_mtime_ns
    summary, _ = _run(bench, tmp_path / "res", runs=3)
    assert summary.frames == 5 + 3  # only the third repetition ran
    assert r1.stat().st_mtime_ns == stamp
    assert read_boxes(folder / "GOT-10k_Test_000001_time.txt", ncols=None).shape == (5, 3)
    assert not (tmp_path / "res" / "identity" / "got10k" / "GOT-10k_Test_000001.txt").exists()


def test_two_workers_and_two_shards_write_the_same_files_as_one_worker(tmp_path):
    bench = make_bench(tmp_path / "data", {f"v{i}": 3 + 2 * i for i in range(5)})
    _run(bench, tmp_path / "one")
    summary, _ = _run(bench, tmp_path / "two", workers=2, device="cpu")
    assert summary.exit_code == 0 and len(summary.completed) == 5
    session = json.loads((tmp_path / "two" / "identity" / "run.json").read_text())["benches"]["tiny"]["sessions"][0]
    assert len(session["devices"]) == 2
    _run(bench, tmp_path / "sharded", shard=(2, 2))
    _run(bench, tmp_path / "sharded", shard=(1, 2))
    reference = _box_files(tmp_path / "one" / "identity" / "tiny")
    assert len(reference) == 5
    assert _box_files(tmp_path / "two" / "identity" / "tiny") == reference
    assert _box_files(tmp_path / "sharded" / "identity" / "tiny") == reference
    for folder in ("two", "sharded"):
        times = sorted(p.name for p in (tmp_path / folder / "identity" / "tiny").glob("*_time.txt"))
        assert len(times) == 5
        _no_leftovers(tmp_path / folder)


def test_a_failing_sequence_in_a_worker_is_reported(tmp_path):
    bench = make_bench(tmp_path / "data", {"good": 4, "bad": 5, "fine": 3})
    (tmp_path / "data" / "tiny" / "bad" / "0003.jpg").write_bytes(b"garbage")
    summary, _ = _run(bench, tmp_path / "res", workers=2, device="cpu")
    assert sorted(summary.completed) == ["fine", "good"] and list(summary.failed) == ["bad"]
    assert "0003.jpg" in summary.failed["bad"]


# ---- the real tracker --------------------------------------------------------------------------------------

class _SyntheticClip:
    """The first frames of the 40-frame clip the official OSTrack runner was run on (fixtures/ostrack_reference).

    A prefix is enough: the tracker's output for frame i never depends on later frames.
    """

    name = "synthetic"
    convention = "otb"
    root = REF
    frames = 20

    def sequence_names(self):
        return ["synthetic_video"]

    def load(self, name):
        folder = REF / "synthetic_video"
        frames = sorted((folder / "img").glob("*.png"))[: self.frames]
        return Sequence(name, frames, read_boxes(folder / "groundtruth.txt")[: self.frames], self.name)


def test_ostrack_small_reproduces_the_official_result_file(tmp_path):
    spec = TrackerSpec(str(SMALL_YAML), checkpoint=str(SMALL_CKPT))
    summary, _ = _run(_SyntheticClip(), tmp_path / "res", spec=spec, device="cpu")
    assert summary.exit_code == 0
    ours = ResultStore(tmp_path / "res", "small_ce").read_boxes("synthetic", "synthetic_video")
    official = read_boxes(REF / "tracker_ce_official_result_file.txt")[: _SyntheticClip.frames]
    # the official runner writes np.array(boxes).astype(int): truncated floats, tab-separated
    np.testing.assert_array_equal(np.trunc(ours), official)
    record = json.loads((tmp_path / "res" / "small_ce" / "run.json").read_text())
    assert record["checkpoint"]["sha256"] == file_sha256(SMALL_CKPT)
    assert record["tracker_config"]["ce_keep_ratio"] == [0.7, 0.7, 0.7]
    device = record["benches"]["synthetic"]["sessions"][0]["devices"][0]
    assert device["device"] == "cpu" and device["torch"]
