"""The results store (layouts, completeness, foreign files) and the run locks."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.errors import UserError
from ostrack_eval.run.lock import BenchLock, FileLock
from ostrack_eval.run.store import ResultStore, ResultWriteError, sequence_files
from ostrack_eval.utils.boxio import write_boxes

REF = Path(__file__).parent / "fixtures" / "ostrack_reference"


def _boxes(n, seed=0):
    return np.random.default_rng(seed).uniform(0, 100, (n, 4))


def test_single_run_files_are_comma_4_decimals_and_complete(tmp_path):
    store = ResultStore(tmp_path, "trk")
    boxes, times = _boxes(5), np.full(5, 0.0123456789)
    store.write("lasot", "cat-1", boxes, times)
    box_file = tmp_path / "trk" / "lasot" / "cat-1.txt"
    time_file = tmp_path / "trk" / "lasot" / "cat-1_time.txt"
    first = box_file.read_text().splitlines()[0]
    assert first == ",".join(f"{v:.4f}" for v in boxes[0])
    assert time_file.read_text().splitlines() == ["0.012345679"] * 5  # ns resolution: batched frames are fast
    np.testing.assert_allclose(store.read_boxes("lasot", "cat-1"), boxes, atol=5e-5)
    np.testing.assert_allclose(store.read_times("lasot", "cat-1"), times, atol=5e-10)
    assert store.is_done("lasot", "cat-1", 5)
    assert not store.is_done("lasot", "cat-1", 6)  # one row per frame, not "some rows"
    assert store.find_box_file("lasot", "cat-1") == box_file


def test_incomplete_or_unparseable_files_are_not_done(tmp_path):
    store = ResultStore(tmp_path, "trk")
    store.write("b", "s", _boxes(4), np.ones(4))
    store.time_path("b", "s").unlink()
    assert "missing" in store.missing_reason("b", "s", 4)
    store.write("b", "s", _boxes(4), np.ones(4))
    store.box_path("b", "s").write_text("1,2,3,4\n1,2,3\n")
    assert "expected 4 values" in store.missing_reason("b", "s", 4)
    store.box_path("b", "s").write_text("1,2,3,4\n")
    assert "1 rows for 4 frames" in store.missing_reason("b", "s", 4)


def test_pytracking_tab_int_result_files_are_read_and_count_as_done(tmp_path):
    # the official OSTrack runner's own output for a 40-frame clip: TAB-separated truncated integers
    official = (REF / "tracker_ce_official_result_file.txt").read_text()
    assert "\t" in official and "." not in official
    store = ResultStore(tmp_path, "OSTrack")
    store.bench_dir("demo").mkdir(parents=True)
    store.box_path("demo", "synthetic").write_text(official)
    store.time_path("demo", "synthetic").write_text("".join(f"{0.01 * (i + 1):f}\n" for i in range(40)))
    assert store.is_done("demo", "synthetic", 40)
    boxes = store.read_boxes("demo", "synthetic")
    assert boxes.shape == (40, 4)
    first = [float(v) for v in official.splitlines()[0].split("\t")]
    assert boxes[0].tolist() == first
    assert store.read_times("demo", "synthetic").shape == (40,)


def test_repetition_layout_is_the_got10k_toolkit_one(tmp_path):
    store = ResultStore(tmp_path, "trk")
    seq = "GOT-10k_Test_000001"
    b1, b2 = _boxes(3, 1), _boxes(3, 2)
    store.write_repetition("got10k", seq, 1, b1, np.array([0.5, 0.1, 0.1]))
    store.write_repetition("got10k", seq, 2, b2, np.array([0.6, 0.2, 0.2]))
    folder = tmp_path / "trk" / "got10k" / seq
    assert sorted(p.name for p in folder.iterdir()) == [f"{seq}_001.txt", f"{seq}_002.txt", f"{seq}_time.txt"]
    assert (folder / f"{seq}_time.txt").read_text().splitlines()[0] == "0.500000000,0.600000000"
    assert store.done_repetitions("got10k", seq, 3, runs=3) == [1, 2]
    assert store.done_repetitions("got10k", seq, 4, runs=3) == []
    # redoing repetition 1 replaces its own column and leaves repetition 2's
    store.write_repetition("got10k", seq, 1, b1, np.array([0.7, 0.3, 0.3]))
    np.testing.assert_allclose(store.read_times("got10k", seq), [[0.7, 0.6], [0.3, 0.2], [0.3, 0.2]])
    assert store.find_box_file("got10k", seq) == folder / f"{seq}_001.txt"
    np.testing.assert_allclose(store.read_boxes("got10k", seq, 2), b2, atol=5e-5)


def test_repetition_without_its_time_column_is_not_done(tmp_path):
    store = ResultStore(tmp_path, "trk")
    store.write_repetition("got10k", "s", 1, _boxes(3), np.ones(3))
    # the box file of repetition 2 lands, then the process dies before writing its times
    write_boxes(store.box_path("got10k", "s", 2), _boxes(3))
    assert store.done_repetitions("got10k", "s", 3, runs=2) == [1]
    with pytest.raises(RuntimeError):  # a gap in the time columns would silently misattribute times
        store.write_repetition("got10k", "s", 3, _boxes(3), np.ones(3))


def test_sequence_files_is_the_flat_file_else_the_repetitions_up_to_the_first_gap(tmp_path):
    store = ResultStore(tmp_path, "trk")
    folder = store.bench_dir("b")
    assert store.sequence_files("b", "s") is None and sequence_files(folder, "s") is None
    store.write_repetition("b", "s", 1, _boxes(3), np.ones(3))
    store.write_repetition("b", "s", 2, _boxes(3), np.ones(3))
    write_boxes(store.box_path("b", "s", 4), _boxes(3))  # after a gap: no time column can be its own
    files = sequence_files(folder, "s")
    assert files == store.sequence_files("b", "s")
    assert files.repeated and files.boxes == (folder / "s" / "s_001.txt", folder / "s" / "s_002.txt")
    assert files.times == folder / "s" / "s_time.txt"
    store.write("b", "s", _boxes(3), np.ones(3))
    flat = store.sequence_files("b", "s")
    assert not flat.repeated and flat.boxes == (folder / "s.txt",) and flat.times == folder / "s_time.txt"
    assert store.find_box_file("b", "s") == folder / "s.txt"
    assert store.read_times("b", "s").shape == (3,)


def test_a_result_that_cannot_be_written_names_its_file(tmp_path):
    store = ResultStore(tmp_path, "trk")
    store.time_path("b", "s").mkdir(parents=True)  # os.replace cannot put a file over a folder
    with pytest.raises(ResultWriteError) as err:
        store.write("b", "s", _boxes(3), np.ones(3))
    assert isinstance(err.value, UserError) and err.value.path == store.time_path("b", "s")
    assert str(store.time_path("b", "s")) in str(err.value) and "\n" not in str(err.value)
    assert [p.name for p in store.bench_dir("b").iterdir() if p.is_file()] == ["s.txt"]  # no temp file left


def test_temp_files_are_found_only_for_the_given_sequences(tmp_path):
    store = ResultStore(tmp_path, "trk")
    bdir = store.bench_dir("b")
    (bdir / "mine").mkdir(parents=True)
    for name in [".mine.txt.abc123.tmp", ".mine_time.txt.x_y9.tmp", ".other.txt.zzz.tmp", "mine.txt"]:
        (bdir / name).write_text("")
    (bdir / "mine" / ".mine_001.txt.q1.tmp").write_text("")
    found = {p.relative_to(bdir).as_posix() for p in store.temp_files("b", ["mine"])}
    assert found == {".mine.txt.abc123.tmp", ".mine_time.txt.x_y9.tmp", "mine/.mine_001.txt.q1.tmp"}


def test_run_name_must_be_a_folder_name(tmp_path):
    with pytest.raises(UserError):
        ResultStore(tmp_path, "a/b")


# ---- locks -----------------------------------------------------------------------------------------------

def test_bench_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    first = BenchLock(tmp_path, "lasot")
    first.acquire()
    try:
        assert (tmp_path / "lasot.lock").is_file()
        with pytest.raises(UserError) as err:
            BenchLock(tmp_path, "lasot").acquire()
        msg = str(err.value)
        assert f"pid {os.getpid()}" in msg and "lasot.lock" in msg and "\n" not in msg
        BenchLock(tmp_path, "got10k").acquire()  # another bench is independent
    finally:
        first.release()
    assert not (tmp_path / "lasot.lock").exists()
    with BenchLock(tmp_path, "lasot"):
        pass


def test_shards_of_one_split_coexist_but_not_with_other_splits(tmp_path):
    a = BenchLock(tmp_path, "lasot", (1, 2))
    b = BenchLock(tmp_path, "lasot", (2, 2))
    a.acquire()
    b.acquire()  # disjoint shards of the same N run side by side
    try:
        with pytest.raises(UserError):
            BenchLock(tmp_path, "lasot").acquire()  # the whole bench overlaps both
        with pytest.raises(UserError):
            BenchLock(tmp_path, "lasot", (1, 3)).acquire()  # 1/3 overlaps 1/2 and 2/2
        with pytest.raises(UserError):
            BenchLock(tmp_path, "lasot", (2, 2)).acquire()
    finally:
        a.release()
        b.release()
    assert not list(tmp_path.glob("*.lock"))


def test_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    # a real holder takes both locks, then dies by SIGKILL: nothing of its own removes its lock files
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from ostrack_eval.run.lock import FileLock; "
         "[FileLock(p).acquire() for p in sys.argv[1:]]; print('locked', flush=True); sys.stdin.read()",
         str(tmp_path / "lasot.lock"), str(tmp_path / "lasot.shard-1-of-3.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"pid {holder.pid} "):  # alive: its lock stands
            BenchLock(tmp_path, "lasot").acquire()
    finally:
        holder.kill()
        holder.wait()  # reaped: the pid now belongs to no process
    assert holder.returncode == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(holder.pid, 0)
    for name in ("lasot.lock", "lasot.shard-1-of-3.lock"):
        assert FileLock(tmp_path / name).holder()["pid"] == holder.pid  # left behind, naming the dead pid
    with BenchLock(tmp_path, "lasot") as lock:
        assert FileLock(lock.lock.path).holder()["pid"] == os.getpid()
    assert not list(tmp_path.glob("*.lock"))  # the stale shard lock was cleaned up as well


def test_lock_held_by_a_live_process_is_refused_until_it_dies(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from ostrack_eval.run.lock import BenchLock; "
         "BenchLock(sys.argv[1], 'nfs').acquire(); print('locked', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=f"pid {holder.pid} "):
            BenchLock(tmp_path, "nfs").acquire()
    finally:
        holder.kill()
        holder.wait()
    with BenchLock(tmp_path, "nfs"):  # killed holder: the kernel dropped its lock
        pass
