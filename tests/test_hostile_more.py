"""Hostile inputs found by the audit after the report/plug-in/ray merges: things in place of files (FIFOs,
folders, devices), infinite numbers, unreadable option files."""

from __future__ import annotations

import os
import subprocess
import warnings
import sys
from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.errors import UserError
from ostrack_eval.metrics.conventions import CONVENTIONS
from ostrack_eval.metrics.frames import ResultError, frame_measures
from ostrack_eval.testing import FAKE_SEQUENCES, make_fake_benchmark
from ostrack_eval.testing.fake_layouts import fake_boxes
from ostrack_eval.trackers.api import SequenceInfo
from ostrack_eval.trackers.spec import parse_option
from ostrack_eval.utils import readfile

REPO = Path(__file__).resolve().parents[1]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ostrack-eval:"), err
    return err[0]


# ---- things in place of a file -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "folder", "device"])
def test_read_bytes_refuses_anything_but_a_regular_file_without_blocking(tmp_path, kind):
    path = tmp_path / "groundtruth.txt"
    if kind == "fifo":
        os.mkfifo(path)  # no writer: a plain open() would wait forever
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to("/dev/zero")  # endless
    with pytest.raises(OSError, match="not a file"):
        readfile.read_bytes(path)


def test_read_bytes_reads_a_regular_file_and_says_when_it_is_missing(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"1,2,3,4\n")
    assert readfile.read_bytes(tmp_path / "a.txt") == b"1,2,3,4\n"
    with pytest.raises(FileNotFoundError):
        readfile.read_bytes(tmp_path / "missing.txt")


def _cli(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    # a subprocess with a timeout: a regression would block on the FIFO, not fail
    return subprocess.run([sys.executable, "-m", "ostrack_eval", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env, "PYTHONPATH": str(REPO)})


GROUND_TRUTH = {  # the first fake sequence's ground truth, under the data root
    "lasot": "lasot/airplane/airplane-1/groundtruth.txt",
    "got10k_val": "got10k/val/GOT-10k_Val_000001/groundtruth.txt",
    "nfs": "nfs/anno/nfs_car_jumping.txt",
    "uav123": "uav123/anno/UAV123/bird1_2.txt",
    "tnl2k": "tnl2k/Assian_video_Z03_done/groundtruth.txt",
    "itb": "itb/human-body/basketball-1/groundtruth.txt",
}


@pytest.mark.parametrize("bench", sorted(GROUND_TRUTH))
def test_a_fifo_in_place_of_the_ground_truth_is_one_line_not_a_hang(tmp_path, bench):
    data = tmp_path / "data"
    make_fake_benchmark(bench, data)
    seqs = FAKE_SEQUENCES[bench]
    env = {"OSTRACK_EVAL_DATA": str(data)}
    run = _cli(["run", "--bench", bench, "--tracker", "identity", "--results", str(tmp_path / "r"),
                f"--sequences={','.join(seqs)}"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    gt = data / GROUND_TRUTH[bench]
    gt.unlink()
    os.mkfifo(gt)
    out = _cli(["report", "--bench", bench, "--tracker", "identity", "--results", str(tmp_path / "r"),
                f"--sequences={','.join(seqs)}"], env, tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    # adapters that look for a regular file first call it missing; the others say what is there
    assert len(lines) == 1 and str(gt) in lines[0], lines
    assert "a FIFO, not a file" in lines[0] or "not found" in lines[0], lines
    check = _cli(["datasets", "check", "--bench", bench, "--no-decode"], env, tmp_path)
    assert check.returncode == 1 and seqs[0] in check.stdout + check.stderr
    assert "Traceback" not in check.stderr


# ---- infinite numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("where", ["prediction", "ground truth"])
def test_infinite_values_are_named_by_every_convention(convention, where):
    gt, pred = fake_boxes(6), fake_boxes(6)
    (pred if where == "prediction" else gt)[3, 2] = np.inf
    with pytest.raises(ResultError, match=f"infinite value in the {where} \\(row 4\\)"):
        frame_measures(CONVENTIONS[convention], pred, gt)


@pytest.mark.parametrize("convention", ["got10k", "itb"])
@pytest.mark.parametrize("where", ["prediction", "ground truth"])
def test_nan_is_named_where_the_toolkit_would_average_it_into_a_nan_score(convention, where):
    gt, pred = fake_boxes(6), fake_boxes(6)
    (pred if where == "prediction" else gt)[2, 0] = np.nan
    with pytest.raises(ResultError, match=f"NaN in the {where} \\(row 3\\)"):
        frame_measures(CONVENTIONS[convention], pred, gt)


def test_report_refuses_an_infinite_box_in_a_result_file(tmp_path, capsys):
    data = tmp_path / "data"
    make_fake_benchmark("got10k_val", data)
    common = ["--bench", "got10k_val", "--root", str(data / "got10k"), "--results", str(tmp_path / "r")]
    assert main(["run", "--tracker", "identity", *common]) == 0
    capsys.readouterr()
    seq = FAKE_SEQUENCES["got10k_val"][0]
    result = tmp_path / "r" / "identity" / "got10k_val" / f"{seq}.txt"
    # a 400-digit number parses as inf too
    result.write_text("\n".join(["inf,1,inf,1"] + ["9" * 400 + ",1,1,1"] * 9) + "\n")
    assert main(["report", "--tracker", "identity", *common]) == 2
    assert "infinite value in the prediction (row 1)" in one_line_error(capsys)


# ---- option files ---------------------------------------------------------------------------------------

def test_a_tracker_option_file_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "opts.yaml"
    path.write_bytes(b"speed: \xff\n")
    with pytest.raises(UserError, match="cannot read"):
        parse_option(str(path))


# ---- outputs that are not regular files ------------------------------------------------------------------

@pytest.fixture
def demo_results(tmp_path, capsys):
    data = tmp_path / "data"
    make_fake_benchmark("got10k_val", data)
    common = ["--bench", "got10k_val", "--root", str(data / "got10k"), "--results", str(tmp_path / "r")]
    assert main(["run", "--tracker", "identity", *common]) == 0
    capsys.readouterr()
    return common


@pytest.mark.parametrize("fmt", ["md", "json", "html"])
def test_report_out_at_a_fifo_or_device_is_refused_and_left_alone(tmp_path, demo_results, capsys, fmt):
    # run as root, the atomic rename would replace a device node such as /dev/full with a regular file
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    assert main(["report", "--tracker", "identity", *demo_results, "--format", fmt, "--out", str(fifo)]) == 1
    assert "not a regular file" in one_line_error(capsys)
    assert fifo.is_fifo()
    link = tmp_path / "stdout"
    link.symlink_to(fifo)  # like /dev/stdout -> /proc/self/fd/1
    assert main(["report", "--tracker", "identity", *demo_results, "--format", fmt, "--out", str(link)]) == 1
    one_line_error(capsys)
    assert link.is_symlink() and fifo.is_fifo()


def test_atomic_write_still_replaces_a_regular_file_and_a_link_to_one(tmp_path):
    from ostrack_eval.utils.atomic import atomic_write_text
    target = tmp_path / "a.txt"
    target.write_text("old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    link = tmp_path / "b.txt"
    link.symlink_to(target)
    atomic_write_text(link, "newer")
    assert link.read_text() == "newer"


@pytest.mark.parametrize("option, words", [(["--ci-samples", "999999999999"], "--ci-samples must be between"),
                                           (["--seed", "-1"], "--seed must be 0 or more")])
def test_bootstrap_options_out_of_range_are_one_line(demo_results, capsys, option, words):
    assert main(["report", "--tracker", "identity", *demo_results, "--ci", *option]) == 2
    assert words in one_line_error(capsys)


# ---- the notebook API ------------------------------------------------------------------------------------

def test_evaluate_refuses_misused_arguments_with_a_user_error(tmp_path, demo_results):
    from ostrack_eval import evaluate
    root, results = demo_results[3], demo_results[5]
    with pytest.raises(UserError, match="one benchmark name"):
        evaluate(["got10k_val"], ["identity"], results=results, root=root)
    with pytest.raises(UserError, match="no trackers given"):
        evaluate("got10k_val", [], results=results, root=root)
    seqs = FAKE_SEQUENCES["got10k_val"]
    # a comma-separated string means what --sequences means, not its characters
    ev = evaluate("got10k_val", "identity", results=results, root=root, sequences=",".join(seqs))
    assert sorted(ev.per_sequence["sequence"].unique()) == sorted(seqs)


# ---- plug-ins that raise SystemExit or another BaseException ---------------------------------------------

_PLUGIN_BODY = ("class T:\n def __init__(self, context):\n  {init}\n"
                " def initialize(self, image, box, info):\n  self.box = box\n"
                " def track(self, image):\n  {track}\n  return self.box\n")


@pytest.mark.parametrize("top, init, words", [
    ("raise SystemExit(0)", "pass", "cannot import"),  # was a silent exit 0 with nothing run
    ("import sys; sys.exit('no')", "pass", "cannot import"),
    ("class E(BaseException): pass\nraise E('odd')", "pass", "cannot import"),  # was a traceback
    ("", "raise SystemExit('bye')", "could not be built"),
])
def test_a_plugin_exiting_while_loaded_or_built_is_one_line(tmp_path, demo_results, capsys, top, init, words):
    plugin = tmp_path / "plug.py"
    plugin.write_text(top + "\n" + _PLUGIN_BODY.format(init=init, track="pass"))
    assert main(["run", "--tracker", f"{plugin}:T", *demo_results, "--name", "p"]) == 2
    assert words in one_line_error(capsys)


@pytest.mark.parametrize("raise_", ["raise SystemExit(3)", "raise E('odd')"])
def test_a_plugin_exiting_in_track_fails_only_its_sequences(tmp_path, demo_results, capsys, raise_):
    plugin = tmp_path / "plug.py"
    plugin.write_text("class E(BaseException): pass\n" + _PLUGIN_BODY.format(init="pass", track=raise_))
    assert main(["run", "--tracker", f"{plugin}:T", *demo_results, "--name", "p"]) == 1
    err = capsys.readouterr()
    assert "Traceback" not in err.err
    text = err.out + err.err
    for seq in FAKE_SEQUENCES["got10k_val"]:  # every sequence ran and failed alone; the run went on to the end
        assert f"raised {'SystemExit: 3' if 'SystemExit' in raise_ else 'E: odd'} (sequence {seq}, frame 1)" in text


@pytest.mark.parametrize("out, words", [
    (np.array([1j, 1, 2, 3]), "not a box of numbers"),  # float() would drop the imaginary part
    ([True, True, True, True], "not a box of numbers"),
    (["1", "2", "3", "4"], "not a box of numbers"),
    ([5, 5, -3, -3], "negative width or height"),  # the file would be refused by every analysis
])
def test_a_plugin_box_that_is_not_real_numbers_or_has_negative_size_fails_its_frame(out, words):
    from ostrack_eval.trackers.api import TrackerFault
    from ostrack_eval.trackers.plugins import wrap

    class Odd:
        def initialize(self, image, box, info):
            pass

        def track(self, image):
            return out

    tracker = wrap(Odd(), "odd")
    tracker.initialize(np.zeros((8, 8, 3), np.uint8), np.array([1.0, 1, 4, 4]),
                       SequenceInfo(name="s", bench="demo", num_frames=3))
    with pytest.raises(TrackerFault, match=words):
        tracker.track(np.zeros((8, 8, 3), np.uint8))


def test_a_plugin_exception_that_cannot_be_printed_is_still_one_line(tmp_path, demo_results, capsys):
    plugin = tmp_path / "plug.py"
    plugin.write_text("class E(Exception):\n def __str__(self):\n  raise RuntimeError('no str')\n"
                      "class T:\n def __init__(self, context):\n  raise E()\n"
                      " def initialize(self, image, box, info):\n  pass\n def track(self, image):\n  pass\n")
    assert main(["run", "--tracker", f"{plugin}:T", *demo_results, "--name", "p"]) == 2
    assert "could not be built (E: (its message cannot be printed))" in one_line_error(capsys)


# ---- argparse's own errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["report", "--bench", "lasot", "--tracker", "x", "--digits", "0"], "report: argument --digits"),
    (["datasets", "check"], "datasets check: the following arguments are required"),
    (["frobnicate"], "invalid choice"),
])
def test_usage_errors_start_like_every_other_error(capsys, argv, words):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    line = one_line_error(capsys)
    assert line.startswith("ostrack-eval: error: ") and words in line


# ---- Ctrl-C with worker processes ------------------------------------------------------------------------

def test_ctrl_c_with_workers_is_one_line(tmp_path):
    import signal
    import time

    data = tmp_path / "data"
    make_fake_benchmark("got10k_val", data)
    started = tmp_path / "started"
    plugin = tmp_path / "slow.py"
    plugin.write_text("import pathlib, time\nclass T:\n def __init__(self, context):\n  pass\n"
                      " def initialize(self, image, box, info):\n  self.box = box\n"
                      f" def track(self, image):\n  pathlib.Path({str(started)!r}).touch()\n  time.sleep(1)\n"
                      "  return self.box\n")
    proc = subprocess.Popen([sys.executable, "-m", "ostrack_eval", "run", "--bench", "got10k_val", "--root",
                             str(data / "got10k"), "--results", str(tmp_path / "r"), "--tracker", f"{plugin}:T",
                             "--workers", "2"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    for _ in range(1200):  # wait until a worker tracks (bounded: never a hang)
        if started.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[1]
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = proc.communicate(timeout=120)
    # the worker queues' semaphores were left to multiprocessing's resource tracker, which warned about them
    assert proc.returncode == 130 and err.strip().splitlines() == ["ostrack-eval: interrupted"], err


# ---- a decompression bomb among the frames (HTML thumbnails) --------------------------------------------

def _png_header_only(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 9_500)])  # PIL's error; above our cap (no warning)
def test_html_thumbnail_of_a_decompression_bomb_is_skipped(tmp_path, recwarn, size):
    from ostrack_eval.reports.html import thumbnail
    frame = tmp_path / "00000001.png"
    frame.write_bytes(_png_header_only(*size))  # 98 bytes that claim 10^10 (or 95 M) pixels
    box = np.array([1.0, 1, 5, 5])
    assert thumbnail(frame, box, box) is None  # was a DecompressionBombError traceback
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


@pytest.mark.parametrize("minutes", ["nan", "inf"])
def test_train_tiny_minutes_not_a_finite_positive_number_is_one_line(tmp_path, capsys, minutes):
    # NaN passed the "<= 0" check and reached int(nan) after a calibration run: a traceback
    assert main(["train-tiny", f"--minutes={minutes}", "--out", str(tmp_path / "t.pth")]) == 2
    assert "--minutes must be a positive number" in one_line_error(capsys)
    assert not (tmp_path / "t.pth").exists()


# ---- one line, not warnings before it --------------------------------------------------------------------

def test_huge_finite_boxes_score_without_numpy_warnings():
    gt, pred = fake_boxes(6), fake_boxes(6)
    gt[2], pred[3] = 1e308, 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would be printed on stderr before the table
        for convention in CONVENTIONS.values():
            if convention.family == "itb":
                continue  # ITB keeps the boxes as stored: 1e308 rows are scored, no different
            frame_measures(convention, pred, gt)


def test_demo_with_bad_input_prints_the_runs_one_line_only(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["demo", "--tracker", "identity", "--baseline", "", "--results", str(tmp_path / "afile"),
                 "--out", str(tmp_path / "out")]) == 2
    assert "--results must name a folder" in one_line_error(capsys)  # not also "demo run of identity failed"


def test_a_pickle_checkpoint_is_refused_without_torchs_protocol_warning(tmp_path, capsys, recwarn):
    import pickle

    from ostrack_eval.trackers.checkpoint import load_state_dict
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"model": print}, protocol=4))
    with pytest.raises(UserError):
        load_state_dict(path)
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]


@pytest.mark.parametrize("flag", [["--no-ce"], ["--keep-ratio", "0.7"], ["--ce-template", "all"]])
def test_ce_flags_for_a_tracker_without_ce_are_refused_not_ignored(tmp_path, capsys, flag):
    results = tmp_path / "results"
    rc = main(["run", "--bench", "demo", "--tracker", "identity", "--results", str(results), *flag])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.count("\n") == 0 and "has no candidate elimination" in err and flag[0] in err
    assert not results.exists()  # refused before the run folder exists
