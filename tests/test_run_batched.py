"""``run --batch B``: sequences tracked in lockstep give the files of one-at-a-time tracking."""

from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.errors import UserError
from ostrack_eval.run import ResultStore, RunOptions, run_benchmark
from ostrack_eval.trackers.registry import TrackerSpec
from ostrack_eval.utils.boxio import read_boxes

FIXTURES = Path(__file__).parent / "fixtures"
REF = FIXTURES / "ostrack_reference"
SMALL = TrackerSpec(str(FIXTURES / "ostrack_small" / "small_ce.yaml"), checkpoint=str(REF / "small_ce.pth.tar"),
                    fast=True)
FRAMES = sorted((REF / "synthetic_video" / "img").glob("*.png"))
GT = read_boxes(REF / "synthetic_video" / "groundtruth.txt")
# (first frame, frames): different lengths, so sequences leave the batch at different steps
CLIPS = {"c0": (0, 14), "c1": (5, 6), "c2": (12, 11), "c3": (20, 3), "c4": (2, 9)}


class Clips:
    """Slices of the reference clip as a benchmark."""

    name = "clips"
    convention = "otb"

    def __init__(self, broken: str | None = None, missing_dir: Path | None = None):
        self.broken, self.missing_dir = broken, missing_dir

    def sequence_names(self):
        return list(CLIPS)

    def load(self, name):
        a, n = CLIPS[name]
        frames = list(FRAMES[a:a + n])
        if name == self.broken:
            frames[4] = self.missing_dir / "gone.png"
        return Sequence(name, frames, GT[a:a + n], self.name)


def _run(results: Path, bench=None, spec=SMALL, **kw):
    logs = []
    summary = run_benchmark(bench or Clips(), spec, RunOptions(results=results, device="cpu", progress=False,
                                                                log=logs.append, **kw))
    return summary, logs


def _boxes(results: Path, run: str) -> dict[str, np.ndarray]:
    store = ResultStore(results, run)
    return {name: store.read_boxes("clips", name) for name in CLIPS}


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory):
    results = tmp_path_factory.mktemp("single")
    summary, _ = _run(results)
    assert summary.exit_code == 0
    return _boxes(results, SMALL.run_name())


# batched GEMMs round differently (~1e-6 relative on normalised boxes, times crop sides of hundreds of px),
# and the files hold 4 decimals: the bound of the fast path's own batched-vs-single test (test_fast_path.py)
FILE_TOL = 5e-3


@pytest.mark.parametrize("batch", [2, 3, 8])
def test_batched_run_writes_the_files_of_one_at_a_time(tmp_path, one_at_a_time, batch):
    summary, _ = _run(tmp_path, batch=batch)
    assert summary.exit_code == 0 and sorted(summary.completed) == sorted(CLIPS)
    assert summary.frames == sum(n for _, n in CLIPS.values())
    got = _boxes(tmp_path, SMALL.run_name())
    for name, (_, n) in CLIPS.items():
        assert got[name].shape == (n, 4)
        np.testing.assert_allclose(got[name], one_at_a_time[name], atol=FILE_TOL, rtol=0)
    times = ResultStore(tmp_path, SMALL.run_name()).read_times("clips", "c0")
    assert times.shape == (14,) and np.all(times > 0)


def test_batched_run_resumes_and_skips_finished_sequences(tmp_path, one_at_a_time):
    _run(tmp_path, batch=2, sequences=["c1", "c3"])
    summary, _ = _run(tmp_path, batch=3)
    assert sorted(summary.already_done) == ["c1", "c3"] and sorted(summary.completed) == ["c0", "c2", "c4"]
    for name, boxes in _boxes(tmp_path, SMALL.run_name()).items():
        np.testing.assert_allclose(boxes, one_at_a_time[name], atol=FILE_TOL, rtol=0)


def test_batched_repetitions_and_workers(tmp_path, one_at_a_time):
    summary, _ = _run(tmp_path, batch=2, runs=2, workers=2)
    assert summary.exit_code == 0 and sorted(summary.completed) == sorted(CLIPS)
    store = ResultStore(tmp_path, SMALL.run_name())
    for name, (_, n) in CLIPS.items():
        assert store.done_repetitions("clips", name, n, runs=2) == [1, 2]
        files = store.sequence_files("clips", name)
        for path in files.boxes:
            np.testing.assert_allclose(read_boxes(path), one_at_a_time[name], atol=FILE_TOL, rtol=0)


def test_a_broken_frame_fails_only_its_sequence_in_a_batch(tmp_path):
    summary, logs = _run(tmp_path, bench=Clips(broken="c2", missing_dir=tmp_path), batch=3)
    assert list(summary.failed) == ["c2"] and "gone.png" in summary.failed["c2"]
    assert sorted(summary.completed) == ["c0", "c1", "c3", "c4"]
    assert summary.exit_code == 1
    store = ResultStore(tmp_path, SMALL.run_name())
    assert store.missing_reason("clips", "c2", 11) is not None
    assert any("c2 failed" in line for line in logs)


def test_batch_falls_back_to_one_at_a_time_and_must_be_positive(tmp_path):
    # identity has no batched form (start/step): it tracks one sequence at a time, same files as batch 1
    batched, _ = _run(tmp_path / "b", spec=TrackerSpec("identity"), batch=2)
    single, _ = _run(tmp_path / "s", spec=TrackerSpec("identity"))
    assert batched.ok and single.ok
    for name in CLIPS:
        assert (batched.run_dir / "clips" / f"{name}.txt").read_text() == (
            single.run_dir / "clips" / f"{name}.txt").read_text()
    with pytest.raises(UserError, match="--batch must be at least 1"):
        _run(tmp_path, batch=0)
