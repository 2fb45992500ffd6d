"""``ostrack-eval run`` through the command line: flags, exit codes, messages."""

import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from ostrack_eval.cli.main import build_parser, main
from ostrack_eval.cli.run_cmd import options_from_args, spec_from_args
from ostrack_eval.trackers.registry import file_sha256
from test_run_fakes import FolderBenchmark, box_key, make_bench

FIXTURES = Path(__file__).parent / "fixtures"
SMALL_YAML = FIXTURES / "ostrack_small" / "small_ce.yaml"
SMALL_CKPT = FIXTURES / "ostrack_reference" / "small_ce.pth.tar"
FAKES = Path(__file__).parent / "test_run_fakes.py"


@pytest.fixture
def bench_root(tmp_path, monkeypatch):
    import ostrack_eval.datasets as datasets

    monkeypatch.setattr(datasets, "get_benchmark", lambda name, root=None: FolderBenchmark(root, name),
                        raising=False)
    make_bench(tmp_path / "data", {"-Dz7OIf54b0_0": 3, "-FCJqWfi9Wo_0": 4, "abc_1": 5}, name="trackingnet")
    return tmp_path / "data"


def _cli(root, results, *extra):
    return main(["run", "--bench", "trackingnet", "--tracker", "identity", "--root", str(root),
                 "--results", str(results), *extra])


def test_flags_build_the_tracker_spec_and_options():
    args = build_parser().parse_args(
        ["run", "--bench", "lasot", "--tracker", "ostrack384", "--keep-ratio", "0.5", "--ce-template", "all",
         "--fast", "--device", "cuda:1", "--workers", "3", "--shard", "2/4", "--runs", "3", "--fail-fast",
         "--sequences=-Dz7OIf54b0_0,cat-1", "--checkpoint", "w.pth.tar"])
    spec = spec_from_args(args)
    assert (spec.tracker, spec.keep_ratio, spec.ce_template, spec.fast, spec.checkpoint) == (
        "ostrack384", 0.5, "all", True, "w.pth.tar")
    assert spec.run_name() == "ostrack384-keep0.5-all-fast"
    opts = options_from_args(args)
    assert opts.sequences == ["-Dz7OIf54b0_0", "cat-1"]
    assert (opts.device, opts.workers, opts.shard, opts.runs, opts.fail_fast) == ("cuda:1", 3, (2, 4), 3, True)
    assert opts.results == Path("results")
    noce = spec_from_args(build_parser().parse_args(["run", "--bench", "x", "--tracker", "ostrack256", "--no-ce",
                                                     "--name", "mine"]))
    assert noce.no_ce and noce.run_name() == "mine"
    half = spec_from_args(build_parser().parse_args(
        ["run", "--bench", "x", "--tracker", "ostrack256", "--fast", "--dtype", "bf16", "--compile",
         "reduce-overhead", "--device-crop", "--batch", "32"]))
    # half precision and device crops change the boxes, so they name the run; compiling does not
    assert half.run_name() == "ostrack256-fast-bf16-devcrop"
    options = half.fast_options()
    assert (options.dtype, options.compile, options.device_crop) == ("bf16", "reduce-overhead", True)
    assert options_from_args(build_parser().parse_args(["run", "--bench", "x", "--tracker", "t", "--batch", "32"])
                             ).batch == 32


def test_sequence_names_starting_with_a_dash(bench_root, tmp_path, capsys):
    assert _cli(bench_root, tmp_path / "res", "--sequences=-Dz7OIf54b0_0") == 0
    files = sorted(p.name for p in (tmp_path / "res" / "identity" / "trackingnet").iterdir())
    assert files == ["-Dz7OIf54b0_0.txt", "-Dz7OIf54b0_0_time.txt"]
    assert "1/1 sequences complete" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    (["--sequences=nope"], "not in this benchmark: nope"),
    (["--shard", "3/2"], "--shard"),
    (["--shard", "x"], "--shard"),
    (["--workers", "0"], "--workers"),
    (["--device", "gpu"], "--device"),
    (["--runs", "0"], "--runs"),
    (["--keep-ratio", "1.5"], "--keep-ratio"),
    (["--batch", "0"], "--batch must be at least 1"),
    (["--dtype", "fp16"], "add --fast"),
    (["--fast", "--compile", "fastest"], "--compile must be one of"),
])
def test_bad_input_is_one_line_and_exit_2(bench_root, tmp_path, capsys, extra, message):
    assert _cli(bench_root, tmp_path / "res", *extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("ostrack-eval: error:") and message in err and err.count("\n") == 1


def test_missing_checkpoint_is_a_user_error(bench_root, tmp_path, capsys):
    rc = main(["run", "--bench", "trackingnet", "--tracker", str(SMALL_YAML), "--checkpoint",
               str(tmp_path / "nope.pth.tar"), "--root", str(bench_root), "--results", str(tmp_path / "res")])
    assert rc == 2 and "nope.pth.tar: checkpoint not found" in capsys.readouterr().err


def test_a_failing_sequence_gives_exit_1_and_a_summary(bench_root, tmp_path, capsys):
    (bench_root / "trackingnet" / "abc_1" / "0002.jpg").write_bytes(b"")
    assert _cli(bench_root, tmp_path / "res") == 1
    captured = capsys.readouterr()
    assert "trackingnet/abc_1 failed:" in captured.err
    assert "1 sequence(s) failed:" in captured.out and "abc_1:" in captured.out
    assert "2/3 sequences complete" in captured.out


def test_a_result_that_cannot_be_written_is_one_line_not_a_traceback(bench_root, tmp_path, capsys):
    bdir = tmp_path / "res" / "identity" / "trackingnet"
    (bdir / "-Dz7OIf54b0_0_time.txt").mkdir(parents=True)  # the shortest sequence, so it is written last
    assert _cli(bench_root, tmp_path / "res") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ostrack-eval: error: {bdir / '-Dz7OIf54b0_0_time.txt'}: cannot write result")
    assert err.count("\n") == 1
    assert (bdir / "abc_1_time.txt").is_file() and (bdir / "-FCJqWfi9Wo_0_time.txt").is_file()


def test_a_run_holding_the_lock_makes_the_second_one_exit_2(bench_root, tmp_path, capsys):
    results = tmp_path / "res"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from ostrack_eval.run.lock import BenchLock; "
         "BenchLock(sys.argv[1], 'trackingnet').acquire(); print('locked', flush=True); time.sleep(60)",
         str(results / "identity")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _cli(bench_root, results) == 2
        err = capsys.readouterr().err
        assert f"another ostrack-eval run is writing these results (pid {holder.pid} " in err
        assert not list((results / "identity").glob("trackingnet/*.txt"))
    finally:
        holder.kill()
        holder.wait()
    assert _cli(bench_root, results) == 0  # the dead holder's lock is taken over


def test_ostrack_small_checkpoint_through_the_cli(bench_root, tmp_path):
    rc = main(["run", "--bench", "trackingnet", "--tracker", str(SMALL_YAML), "--checkpoint", str(SMALL_CKPT),
               "--keep-ratio", "0.5", "--device", "cpu", "--sequences", "abc_1", "--root", str(bench_root),
               "--results", str(tmp_path / "res")])
    assert rc == 0
    run_dir = tmp_path / "res" / "small_ce-keep0.5"
    assert len((run_dir / "trackingnet" / "abc_1.txt").read_text().splitlines()) == 5
    record = json.loads((run_dir / "run.json").read_text())
    assert record["tracker"]["keep_ratio"] == 0.5
    assert record["tracker_config"]["ce_keep_ratio"] == [0.5, 0.5, 0.5]
    assert record["checkpoint"] == {"path": str(SMALL_CKPT.resolve()), "sha256": file_sha256(SMALL_CKPT)}


# ---- as a subprocess: terminals, worker processes ------------------------------------------------------

def _fakes_run(root: Path, results: Path, *extra: str) -> list[str]:
    return [sys.executable, str(FAKES), "run", "--bench", "tiny", "--root", str(root), "--results", str(results),
            *extra]


def test_the_progress_bar_is_quiet_when_stderr_is_not_a_terminal(tmp_path):
    make_bench(tmp_path / "data", {"a": 30, "b": 20})
    proc = subprocess.run(_fakes_run(tmp_path / "data", tmp_path / "res", "--tracker", "identity"),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert b"2/2 sequences complete" in proc.stdout
    assert proc.stderr == b""


def test_the_progress_bar_shows_on_a_terminal(tmp_path):
    """The other half of the test above: the silence in a pipe is the pipe's doing, not a broken bar."""
    pty = pytest.importorskip("pty")
    make_bench(tmp_path / "data", {"a": 30, "b": 20})
    try:
        master, slave = pty.openpty()
    except OSError as exc:
        pytest.skip(f"no pseudo-terminal: {exc}")
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen(_fakes_run(tmp_path / "data", tmp_path / "res", "--tracker", "identity"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the run and everything it started closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert b"frame/s" in seen and b"2/2 seq" in seen


def test_workers_take_the_longest_sequences_first(tmp_path):
    lengths = {f"s{i}": 2 + 2 * i for i in range(6)}  # listed and named shortest first
    bench = make_bench(tmp_path / "data", lengths)
    starts = tmp_path / "starts.txt"
    proc = subprocess.run(
        _fakes_run(tmp_path / "data", tmp_path / "res", "--tracker", "start-recorder", "--workers", "2",
                   "--device", "cpu"),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        env={**os.environ, "OSTRACK_TEST_STARTS": str(starts)})
    assert proc.returncode == 0, proc.stderr
    by_box = {box_key(bench.load(name).init_box): name for name in lengths}
    started = [by_box[line] for line in starts.read_text().splitlines()]
    assert sorted(started) == sorted(lengths)
    turn = sorted(lengths, key=lengths.get, reverse=True)
    # A worker records a sequence just after taking it from the shared queue, so the other worker's record of
    # the job it took just before may come later; no record can come before the jobs ahead of it, save that one.
    assert all(turn.index(name) <= k + 1 for k, name in enumerate(started)), started
