"""Hostile inputs and faults (issue #17): path traversal, zip bombs, tracebacks, degenerate data."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.datasets import get_benchmark
from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.names import name_problem
from ostrack_eval.errors import UserError
from ostrack_eval.pack.check import check_submission
from ostrack_eval.pack.limits import MAX_MEMBER_BYTES, ReadBudget, read_member
from ostrack_eval.run.store import ResultStore
from ostrack_eval.run.track import SequenceFailure, track_sequence
from ostrack_eval.testing import FAKE_SEQUENCES, make_got10k
from ostrack_eval.testing.fake_layouts import write_frame
from ostrack_eval.trackers.identity import IdentityTracker

VAL = FAKE_SEQUENCES["got10k_val"]
REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ostrack-eval:"), err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def got10k(tmp_path) -> Path:
    return make_got10k(tmp_path / "data" / "got10k")


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


# ---- 1. sequence names from disk and the command line ------------------------------------------------

@pytest.mark.parametrize("name", ["../../../outside_secret", "/etc/passwd", "a/b", "a\\b", "..", ".", "",
                                  " ", "bad\nname", "bad\x1bname", "x" * 300])
def test_name_problem_refuses_paths_and_control_characters(name):
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["GOT-10k_Val_000001", "-Dz7OIf54b0_0", "head-men's100", "airplane-1", "..x"])
def test_name_problem_accepts_real_names(name):
    assert name_problem(name) is None


def plant_list(got10k: Path, *extra: str) -> None:
    (got10k / "val" / "list.txt").write_text("\n".join([*VAL, *extra]) + "\n")


def test_run_refuses_a_traversing_list_entry_and_writes_nothing_outside(got10k, tmp_path, capsys):
    secret = tmp_path / "outside_secret"
    secret.mkdir()
    write_frame(secret / "00000001.jpg", 1)
    (secret / "groundtruth.txt").write_text("1,1,5,5\n")
    plant_list(got10k, "../../../outside_secret", str(secret))
    results = tmp_path / "results"
    before = files_under(tmp_path)
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results)])
    assert rc == 2
    line = one_line_error(capsys)
    assert "list.txt" in line and "outside_secret" in line
    assert files_under(tmp_path) == before  # nothing written anywhere, inside the results or out
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results), "--sequences", "../../../outside_secret"])
    assert rc == 2 and "--sequences" in one_line_error(capsys)
    assert files_under(tmp_path) == before


def test_datasets_check_lists_each_invalid_name(got10k, capsys):
    plant_list(got10k, "../../../outside_secret", "/abs/path", "ok\tno")
    rc = main(["datasets", "check", "--bench", "got10k_val", "--root", str(got10k)])
    out = capsys.readouterr().out
    assert rc == 1
    problems = [line for line in out.splitlines() if "invalid sequence name" in line]
    assert len(problems) == 3
    assert any("outside_secret" in p for p in problems) and any("/abs/path" in p for p in problems)


def test_report_and_pack_refuse_an_invalid_list(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
                 "--results", str(results)]) == 0
    capsys.readouterr()
    plant_list(got10k, "../escape")
    rc = main(["report", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results)])
    assert rc == 2 and "../escape" in one_line_error(capsys)
    test = FAKE_SEQUENCES["got10k"]
    assert main(["run", "--bench", "got10k", "--tracker", "identity", "--root", str(got10k),
                 "--results", str(results)]) == 0
    capsys.readouterr()
    test_list = got10k / "test" / "list.txt"
    test_list.write_text(test_list.read_text() + "../escape\n")
    out = tmp_path / "sub.zip"
    rc = main(["pack", "--bench", "got10k", "--tracker", "identity", "--root", str(got10k), "--results",
               str(results), "--out", str(out), "--sequences", ",".join(test)])
    assert rc == 2 and "../escape" in one_line_error(capsys) and not out.exists()


def test_result_store_writes_only_inside_its_run_folder(tmp_path):
    store = ResultStore(tmp_path / "results", "run")
    boxes, times = np.ones((2, 4)), np.ones(2)
    with pytest.raises(UserError):
        store.write("got10k", "../../escape", boxes, times)
    # a symlink planted inside the run folder must not carry a write elsewhere
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    store.run_dir.mkdir(parents=True)
    (store.run_dir / "got10k").symlink_to(outside)
    with pytest.raises(UserError, match="outside the run folder"):
        store.write("got10k", "seq", boxes, times)
    assert not any(outside.iterdir())
    with pytest.raises(UserError):
        ResultStore(tmp_path, "a\\b")


def test_frames_are_read_only_inside_the_benchmark_root(got10k, tmp_path):
    class Escaping(type(get_benchmark("got10k_val", got10k))):
        def sequence_dir(self, name):
            return self.root / ".." / ".." / "elsewhere" / name

    target = tmp_path / "elsewhere" / VAL[0]
    target.mkdir(parents=True)
    for k in range(1, 3):
        write_frame(target / f"{k:08d}.jpg", k)
    (target / "groundtruth.txt").write_text("1,1,5,5\n1,1,5,5\n")
    (target / "cover.label").write_text("1\n1\n")
    with pytest.raises(UserError, match="outside"):
        Escaping(got10k).load(VAL[0])


# ---- 2. pack --check on zip bombs ------------------------------------------------------------------------

def deflated_zeros(size: int) -> tuple[bytes, int]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    body = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(block, crc)
    return body * (size >> 20) + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc


def raw_zip(path: Path, name: str, data: bytes, crc: int, size: int) -> None:
    raw = name.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0) + raw
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size, len(raw),
                          0, 0, 0, 0, 0, 0) + raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


def test_pack_check_stops_a_zero_bomb_at_the_size_cap(tmp_path, monkeypatch, capsys):
    size = 4 * MAX_MEMBER_BYTES
    data, crc = deflated_zeros(size)
    path = tmp_path / "bomb.zip"
    raw_zip(path, "GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt", data, crc, size)
    budget = ReadBudget()
    with zipfile.ZipFile(path) as zf:
        with pytest.raises(Exception, match="MiB uncompressed"):
            read_member(zf, zf.namelist()[0], None, budget)
    assert ReadBudget().bytes_left - budget.bytes_left <= MAX_MEMBER_BYTES + (1 << 16)  # stopped at the cap
    monkeypatch.chdir(tmp_path)  # no dataset here
    monkeypatch.delenv("OSTRACK_EVAL_DATA", raising=False)
    rc = main(["pack", "--check", str(path), "--bench", "got10k",
               "--sequences", "GOT-10k_Test_000001"])
    out = capsys.readouterr().out
    assert rc == 1 and "larger than any result file" in out


def test_pack_check_stops_a_row_bomb_at_frames_plus_one(tmp_path):
    rows = b"1,2,3,4\n" * 100_000
    path = tmp_path / "rows.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.txt", rows)
        zf.writestr("b.txt", b"1,2,3,4\n\n\n" * 10)  # blank lines do not count as rows
    budget = ReadBudget()
    with zipfile.ZipFile(path) as zf:
        with pytest.raises(Exception, match="more than 11 rows"):
            read_member(zf, "a.txt", 11, budget)
        assert ReadBudget().bytes_left - budget.bytes_left <= 1 << 16  # one chunk, not 800 kB
        assert read_member(zf, "b.txt", 11, budget) == b"1,2,3,4\n\n\n" * 10


def test_pack_check_refuses_a_zip_listing_too_many_members(tmp_path, capsys):
    path = tmp_path / "members.zip"
    path.write_bytes(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 60000, 60000, 60000 * 46, 0, 0))
    report = check_submission(path, "got10k", names=["GOT-10k_Test_000001"])
    assert not report.ok and "60,000 files" in report.problems[0]


# ---- 3. one line for file-system faults and Ctrl-C ------------------------------------------------------

def test_results_pointing_at_a_file_is_one_line(got10k, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(afile)])
    assert rc != 0 and "afile" in one_line_error(capsys)


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder nothing can be written into: a read-only tmpfs (EROFS, the audit's case) where we may mount
    one (root, who writes through permission bits), else a folder without write permission."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("root writes through permission bits, and no read-only filesystem could be mounted")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_read_only_results_is_one_line(got10k, read_only_dir, capsys):
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(read_only_dir)])
    assert rc != 0 and "ro" in one_line_error(capsys)


def test_report_out_at_a_folder_is_one_line(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
                 "--results", str(results)]) == 0
    capsys.readouterr()
    rc = main(["report", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results), "--out", str(tmp_path)])
    assert rc != 0 and str(tmp_path) in one_line_error(capsys)


def test_help_imports_neither_torch_nor_pandas():
    code = ("import sys\nfrom ostrack_eval.cli.main import main\n"
            "for argv in (['--help'], ['run', '--help'], ['report', '--help'], ['pack', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_ctrl_c_while_the_parser_is_built_is_one_line(monkeypatch, capsys):
    import ostrack_eval.cli.main as cli

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.importlib, "import_module", interrupted)
    assert main(["report", "--help"]) == 130
    assert one_line_error(capsys) == "ostrack-eval: interrupted"


@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_ctrl_c_early_in_a_command_exits_130_with_one_line(tmp_path, delay):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OSTRACK_EVAL_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "ostrack_eval", "run", "--bench", "demo", "--tracker",
                             "ostrack-tiny", "--results", str(tmp_path / "results")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["ostrack-eval: interrupted"]


# ---- 4./5. datasets check catches what run and report trip on ------------------------------------------

@pytest.mark.parametrize("first", ["nan,1,5,5", "inf,1,5,5", "1,1,0,5", "1,1,-4,5", "1,1,5,0"])
def test_degenerate_first_box_is_a_check_problem_and_refused_by_run(got10k, tmp_path, capsys, first):
    gt = got10k / "val" / VAL[0] / "groundtruth.txt"
    lines = gt.read_text().splitlines()
    gt.write_text("\n".join([first, *lines[1:]]) + "\n")
    assert main(["datasets", "check", "--bench", "got10k_val", "--root", str(got10k), "--no-decode"]) == 1
    assert f"problem: {VAL[0]}: the first ground-truth box" in capsys.readouterr().out
    results = tmp_path / "results"
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results)])
    assert rc == 1  # the identity tracker would copy the box to every row
    assert not (results / "identity" / "got10k_val" / f"{VAL[0]}.txt").exists()
    assert (results / "identity" / "got10k_val" / f"{VAL[1]}.txt").exists()


def test_got10k_val_without_cover_label_is_refused(got10k, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
                 "--results", str(results)]) == 0
    capsys.readouterr()
    (got10k / "val" / VAL[0] / "cover.label").unlink()
    (got10k / "val" / VAL[1] / "absence.label").unlink()
    assert main(["datasets", "check", "--bench", "got10k_val", "--root", str(got10k), "--no-decode"]) == 1
    out = capsys.readouterr().out
    assert "cover.label: not found" in out and f"note: {VAL[1]}: absence.label missing" in out
    rc = main(["report", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(results)])
    assert rc != 0 and "cover.label" in capsys.readouterr().err  # never scored as if all frames were visible


# ---- 6. degenerate frames --------------------------------------------------------------------------------

def tiny_sequence(tmp_path: Path, size: tuple[int, int], box: list[float]) -> Sequence:
    import cv2

    frames = []
    for k in range(3):
        path = tmp_path / f"{k:08d}.jpg"
        cv2.imwrite(str(path), np.full((size[1], size[0], 3), 80, np.uint8))
        frames.append(path)
    return Sequence("tiny", frames, np.array([box] * 3, dtype=np.float64), "demo")


@pytest.mark.parametrize("size,box,words", [((1, 1), [0, 0, 1, 1], "too small"),
                                            ((32, 24), [100, 100, 5, 5], "lies outside the image")])
def test_degenerate_first_frame_is_one_sentence(tmp_path, size, box, words):
    with pytest.raises(SequenceFailure, match=words) as info:
        track_sequence(IdentityTracker(), tiny_sequence(tmp_path, size, box))
    assert "frame 0 (00000000.jpg" in str(info.value)


def test_opencv_failure_inside_a_tracker_names_the_frame(tmp_path):
    import cv2

    class Cropping(IdentityTracker):
        def track(self, image):
            cv2.copyMakeBorder(np.zeros((0, 0, 3), np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT)

    with pytest.raises(SequenceFailure) as info:
        track_sequence(Cropping(), tiny_sequence(tmp_path, (32, 24), [2, 2, 5, 5]))
    message = str(info.value)
    assert message.startswith("frame 1 (00000001.jpg, 32×24 px)") and "Assertion" not in message


# ---- 7./8./9. checkpoints -------------------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (os.system, ("echo PWNED > pwned.txt",))


def legacy_evil_checkpoint(path: Path) -> Path:
    import torch

    torch.save({"net": {"w": torch.zeros(2)}, "x": _Evil()}, path, _use_new_zipfile_serialization=False)
    return path


def test_legacy_checkpoint_refusal_names_the_global_and_not_weights_only(tmp_path, monkeypatch, capsys):
    from ostrack_eval.trackers.checkpoint import load_state_dict

    ckpt = legacy_evil_checkpoint(tmp_path / "evil.pth")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as info:
        load_state_dict(ckpt)
    assert "posix.system" in str(info.value) or "os.system" in str(info.value)
    assert "weights_only" not in str(info.value)
    assert not (tmp_path / "pwned.txt").exists()


def test_refused_checkpoint_writes_nothing_into_the_run_folder(got10k, tmp_path, capsys):
    from conftest import SMALL_CKPT, SMALL_YAML

    ckpt = legacy_evil_checkpoint(tmp_path / "evil.pth")
    results = tmp_path / "results"
    args = ["run", "--bench", "got10k_val", "--tracker", str(SMALL_YAML), "--root", str(got10k),
            "--results", str(results), "--name", "x"]
    assert main([*args, "--checkpoint", str(ckpt)]) == 2
    assert "refusing to load" in one_line_error(capsys)
    assert not (results / "x").exists()
    assert main([*args, "--checkpoint", str(SMALL_CKPT)]) in (0, 1)  # the corrected file is accepted
    assert (results / "x" / "run.json").is_file()


def test_checkpoint_for_a_tracker_without_one_is_refused(got10k, tmp_path, capsys):
    ckpt = tmp_path / "w.pth"
    ckpt.write_bytes(b"x")
    rc = main(["run", "--bench", "got10k_val", "--tracker", "identity", "--root", str(got10k),
               "--results", str(tmp_path / "results"), "--checkpoint", str(ckpt)])
    assert rc == 2 and "takes no checkpoint" in one_line_error(capsys)
    assert not (tmp_path / "results").exists()


def test_a_frame_linking_out_of_the_benchmark_is_refused(got10k, tmp_path):
    outside = tmp_path / "secret.jpg"
    write_frame(outside, 1)
    frame = got10k / "val" / VAL[0] / "00000002.jpg"
    frame.unlink()
    frame.symlink_to(outside)
    with pytest.raises(UserError, match="links to"):
        get_benchmark("got10k_val", got10k).load(VAL[0])


def test_a_benchmark_linked_together_from_elsewhere_still_loads(got10k, tmp_path):
    moved = tmp_path / "other_disk" / VAL[0]
    moved.parent.mkdir()
    (got10k / "val" / VAL[0]).rename(moved)
    (got10k / "val" / VAL[0]).symlink_to(moved)
    linked_root = tmp_path / "linked"
    linked_root.symlink_to(got10k)
    assert get_benchmark("got10k_val", linked_root).load(VAL[0]).num_frames == 5
