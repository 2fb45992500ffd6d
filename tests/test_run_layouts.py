"""``ostrack-eval run`` on tiny generated copies of every benchmark's real on-disk layout."""


import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.datasets import get_benchmark
from ostrack_eval.run import ResultStore
from ostrack_eval.testing.fake_layouts import FAKE_SEQUENCES, MAKERS, make_fake_benchmark


def _run(*args: str) -> int:
    return main(["run", "--tracker", "identity", *args])


@pytest.mark.parametrize("bench", sorted(MAKERS))
def test_every_layout_runs_to_complete_results(bench, tmp_path, monkeypatch, capsys):
    make_fake_benchmark(bench, tmp_path / "data")
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "data"))
    names = FAKE_SEQUENCES[bench]
    rc = _run("--bench", bench, "--results", str(tmp_path / "res"), "--sequences=" + ",".join(names))
    assert rc == 0, capsys.readouterr().err
    benchmark = get_benchmark(bench)
    store = ResultStore(tmp_path / "res", "identity")
    for name in names:
        seq = benchmark.load(name)
        boxes = store.read_boxes(bench, name)
        assert boxes.shape == (seq.num_frames, 4)
        np.testing.assert_allclose(boxes, np.repeat(seq.ground_truth[:1], seq.num_frames, axis=0), atol=5e-5)
        assert store.read_times(bench, name).shape == (seq.num_frames,)


def test_got10k_test_split_in_the_submission_layout(tmp_path):
    root = make_fake_benchmark("got10k", tmp_path / "data").parent
    assert _run("--bench", "got10k", "--root", str(root), "--results", str(tmp_path / "res"), "--runs", "1") == 0
    bench_dir = tmp_path / "res" / "identity" / "got10k"
    for name in FAKE_SEQUENCES["got10k"]:
        assert sorted(p.name for p in (bench_dir / name).iterdir()) == [f"{name}_001.txt", f"{name}_time.txt"]


def test_a_corrupt_frame_in_a_real_layout_fails_that_sequence_only(tmp_path, capsys):
    root = make_fake_benchmark("lasot", tmp_path / "data", defects=["corrupt_image"]).parent
    assert _run("--bench", "lasot", "--root", str(root), "--results", str(tmp_path / "res"),
                "--sequences=" + ",".join(FAKE_SEQUENCES["lasot"])) == 1
    out = capsys.readouterr().out
    first, second = FAKE_SEQUENCES["lasot"]
    assert f"  {first}: " in out and "1/2 sequences complete" in out
    assert (tmp_path / "res" / "identity" / "lasot" / f"{second}.txt").is_file()


def test_a_wrong_root_is_bad_input(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _run("--bench", "nfs", "--root", str(tmp_path / "empty"), "--results", str(tmp_path / "res")) == 2
    err = capsys.readouterr().err
    assert err.startswith("ostrack-eval: error:") and err.count("\n") == 1
    assert not (tmp_path / "res").exists()
