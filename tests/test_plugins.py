"""Your own tracker through the same door as the built-ins: entry points, ``module:Class``, ``file.py:Class``,
options, the batched form, the pytracking contract, and one line for every way a plug-in can break."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.errors import UserError
from ostrack_eval.run import RunOptions, run_benchmark
from ostrack_eval.trackers.registry import load_tracker, tracker_names
from ostrack_eval.trackers.spec import TrackerSpec, parse_option
from ostrack_eval.utils.boxio import read_boxes
from test_run_fakes import FolderBenchmark, make_bench

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).parent / "test_run_fakes.py"
TN = ["-Dz7OIf54b0_0", "-FCJqWfi9Wo_0"]  # official TrackingNet test names, so `pack` accepts them

# A plug-in written to the public contract: moves the box by `step` px per frame, confidence 1.
WOBBLE = '''
import numpy as np

class Wobble:
    def __init__(self, context, step=1.0):
        self.stride = float(step)
        self.device = context.device

    def initialize(self, image, box, info):
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        self.box, self.name = np.asarray(box, float).copy(), info.name

    def track(self, image):
        self.box[:2] += self.stride
        return self.box.copy(), 1.0
'''

# The same tracker with the batched form: start/step over B sequences' states.
BATCHED = WOBBLE + '''

class BatchedWobble(Wobble):
    steps = []

    def start(self, image, box, info):
        return {"box": np.asarray(box, float).copy()}

    def step(self, images, states):
        type(self).steps.append(len(states))
        out = []
        for st in states:
            st["box"][:2] += self.stride
            out.append(st["box"].copy())
        return out
'''

PYTRACKING = '''
class PytrackingStyle:
    def __init__(self, context):
        pass

    def initialize(self, image, info):
        x, y, w, h = info["init_bbox"]
        self.state = [x, y, w, h]

    def track(self, image, info=None):
        self.state = [self.state[0] + 2, self.state[1], self.state[2], self.state[3]]
        return {"target_bbox": self.state, "best_score": 0.5}
'''

BAD = '''
import numpy as np

class NoTrack:
    def __init__(self, context):
        pass

    def initialize(self, image, box, info):
        pass

class Bad:
    """Breaks on one sequence each: 3 values, a NaN, an exception; fine on the others."""

    def __init__(self, context):
        pass

    def initialize(self, image, box, info):
        self.box, self.seq, self.k = np.asarray(box, float), info.name, 0

    def track(self, image):
        self.k += 1
        if self.seq == "short3" and self.k == 2:
            return [1.0, 2.0, 3.0]
        if self.seq == "nan4" and self.k == 1:
            return [1.0, float("nan"), 3.0, 4.0]
        if self.seq == "boom5" and self.k == 3:
            raise ValueError("lost it")
        return self.box
'''


@pytest.fixture
def folder_benchmarks(monkeypatch):
    import ostrack_eval.datasets as datasets

    monkeypatch.setattr(datasets, "get_benchmark", lambda name, root=None: FolderBenchmark(root, name),
                        raising=False)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _installed_site(tmp_path: Path, version: str = "0.3.1") -> Path:
    """A package ``wobble_tracker`` 'installed' into a site folder: its code plus a dist-info with the entry
    point, which importlib.metadata finds on sys.path like any installed distribution's."""
    site = tmp_path / "site"
    _write(site / "wobble_tracker" / "__init__.py", WOBBLE)
    info = site / f"wobble_tracker-{version}.dist-info"
    _write(info / "METADATA", f"Metadata-Version: 2.1\nName: wobble-tracker\nVersion: {version}\n")
    _write(info / "entry_points.txt", "[ostrack_eval.trackers]\nwobble = wobble_tracker:Wobble\n")
    _write(info / "top_level.txt", "wobble_tracker\n")
    return site


def _cli(args: list[str], site: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    paths = [str(site)] if site else []
    env["PYTHONPATH"] = os.pathsep.join(paths + [str(ROOT), str(FAKES.parent)])
    return subprocess.run([sys.executable, str(FAKES), *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_entry_point_plugin_through_run_report_and_pack(tmp_path):
    site = _installed_site(tmp_path)
    make_bench(tmp_path / "data", {TN[0]: 4, TN[1]: 6}, name="trackingnet")
    make_bench(tmp_path / "lasot", {"cat-1": 5, "dog-2": 7}, name="lasot")
    res = tmp_path / "results"
    run = ["run", "--tracker", "wobble", "--tracker-opt", "step=2", "--results", str(res)]
    out = _cli(run + ["--bench", "trackingnet", "--root", str(tmp_path / "data")], site)
    assert out.returncode == 0, out.stderr
    out = _cli(run + ["--bench", "lasot", "--root", str(tmp_path / "lasot")], site)
    assert out.returncode == 0, out.stderr
    boxes = read_boxes(res / "wobble" / "trackingnet" / f"{TN[1]}.txt")
    assert np.allclose(boxes[1:, :2] - boxes[:-1, :2], 2.0)  # the option reached the plug-in, as a number
    record = json.loads((res / "wobble" / "run.json").read_text())
    assert record["plugin"]["kind"] == "entry_point" and record["plugin"]["target"] == "wobble_tracker:Wobble"
    assert (record["plugin"]["distribution"], record["plugin"]["version"]) == ("wobble-tracker", "0.3.1")
    assert record["fingerprint"]["options"] == {"step": 2} and record["tracker"]["options"] == {"step": 2}
    # another version of the plug-in, or other options, are another tracker: refused for this folder
    site2 = _installed_site(tmp_path / "v2", version="0.4.0")
    again = _cli(run + ["--bench", "lasot", "--root", str(tmp_path / "lasot")], site2)
    assert again.returncode == 2 and "plugin.version" in again.stderr and "0.3.1" in again.stderr
    other = _cli(["run", "--tracker", "wobble", "--tracker-opt", "step=3", "--results", str(res),
                  "--bench", "lasot", "--root", str(tmp_path / "lasot")], site)
    assert other.returncode == 2 and "options.step" in other.stderr
    # report and pack read the results like any other run's
    report = _cli(["report", "--bench", "lasot", "--tracker", "wobble", "--results", str(res), "--format", "json",
                   "--convention", "ostrack",
                   "--root", str(tmp_path / "lasot")])
    assert report.returncode == 0, report.stderr
    scores = json.loads(report.stdout)["trackers"]["wobble"]
    assert set(scores["sequences"]) == {"cat-1", "dog-2"} and 0 <= scores["auc"] <= 100
    zip_path = tmp_path / "tn.zip"
    packed = _cli(["pack", "--bench", "trackingnet", "--tracker", "wobble", "--results", str(res), "--out",
                   str(zip_path), f"--sequences={','.join(TN)}"])
    assert packed.returncode == 0, packed.stderr
    assert _cli(["pack", "--check", str(zip_path), "--bench", "trackingnet", f"--sequences={','.join(TN)}"]
                ).returncode == 0


def test_entry_point_names_are_listed_without_importing_them(tmp_path):
    site = _installed_site(tmp_path)
    _write(site / "wobble_tracker" / "__init__.py", "raise RuntimeError('imported')\n")
    code = ("import sys; from ostrack_eval.trackers.registry import tracker_names; names = tracker_names(); "
            "assert 'wobble' in names and 'ostrack256' in names, names; "
            "assert 'torch' not in sys.modules and 'wobble_tracker' not in sys.modules; print('ok')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr
    assert "wobble" not in tracker_names()  # not installed in this process


def _run(bench, results: Path, tracker: str, **kw):
    options = RunOptions(results=results, device="cpu", progress=False, log=lambda line: None,
                         batch=kw.pop("batch", 1))
    return run_benchmark(bench, TrackerSpec(tracker, **kw), options)


def test_module_and_file_forms_and_the_file_hash(tmp_path, monkeypatch):
    bench = make_bench(tmp_path / "data", {"a": 4, "b": 3})
    _write(tmp_path / "pkgs" / "my_trackers" / "__init__.py", "")
    _write(tmp_path / "pkgs" / "my_trackers" / "wobble.py", WOBBLE)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    summary = _run(bench, tmp_path / "res", "my_trackers.wobble:Wobble")
    assert summary.ok and summary.run_dir.name == "Wobble"
    record = json.loads((summary.run_dir / "run.json").read_text())
    assert record["plugin"]["kind"] == "module" and record["plugin"]["sha256"]

    path = _write(tmp_path / "scripts" / "wobble_file.py", WOBBLE)
    summary = _run(bench, tmp_path / "res2", f"{path}:Wobble", options={"step": 0.5})
    assert summary.ok
    record = json.loads((summary.run_dir / "run.json").read_text())
    assert record["plugin"]["kind"] == "file" and record["plugin"]["path"] == str(path.resolve())
    boxes = read_boxes(summary.run_dir / "tiny" / "a.txt")
    assert np.allclose(boxes[-1, :2] - boxes[0, :2], 1.5)
    # a changed file is another tracker: its results do not go into this folder
    path.write_text(path.read_text().replace("self.stride = float(step)", "self.stride = 2 * float(step)"))
    (summary.run_dir / "tiny" / "b.txt").unlink()
    with pytest.raises(UserError, match="plugin.sha256"):
        _run(bench, tmp_path / "res2", f"{path}:Wobble", options={"step": 0.5})


def test_batched_plugin_gives_the_files_of_its_sequential_run(tmp_path):
    bench = make_bench(tmp_path / "data", {"a": 7, "b": 3, "c": 5, "d": 2})
    path = _write(tmp_path / "batched_wobble.py", BATCHED)
    one = _run(bench, tmp_path / "one", f"{path}:BatchedWobble")
    module = sys.modules[next(m for m in sys.modules if m.startswith("ostrack_eval_plugin_batched_wobble"))]
    assert module.BatchedWobble.steps == []  # one at a time: track() only
    many = _run(bench, tmp_path / "many", f"{path}:BatchedWobble", batch=3)
    assert one.ok and many.ok
    assert max(module.BatchedWobble.steps) == 3  # really in lockstep
    for seq in "abcd":
        a = (one.run_dir / "tiny" / f"{seq}.txt").read_text()
        b = (many.run_dir / "tiny" / f"{seq}.txt").read_text()
        assert a == b


def test_batch_falls_back_to_one_at_a_time_without_the_batched_form(tmp_path):
    bench = make_bench(tmp_path / "data", {"a": 4, "b": 3})
    path = _write(tmp_path / "plain.py", WOBBLE)
    lines = []
    options = RunOptions(results=tmp_path / "res", device="cpu", progress=False, log=lines.append, batch=4)
    summary = run_benchmark(bench, TrackerSpec(f"{path}:Wobble"), options)
    assert summary.ok and any("no batched form" in line for line in lines)


def test_pytracking_contract_is_adapted(tmp_path):
    bench = make_bench(tmp_path / "data", {"a": 4})
    path = _write(tmp_path / "pyt.py", PYTRACKING)
    summary = _run(bench, tmp_path / "res", f"{path}:PytrackingStyle")
    assert summary.ok
    boxes = read_boxes(summary.run_dir / "tiny" / "a.txt")
    assert np.allclose(boxes[1:, 0] - boxes[:-1, 0], 2.0) and np.allclose(boxes[1:, 1:], boxes[:-1, 1:])
    tracker = load_tracker(TrackerSpec(f"{path}:PytrackingStyle"))
    assert tracker.style == "pytracking"


def test_bad_plugins_get_one_line_naming_plugin_sequence_and_frame(tmp_path):
    bench = make_bench(tmp_path / "data", {"short3": 4, "nan4": 4, "boom5": 5, "fine": 6})
    path = _write(tmp_path / "bad.py", BAD)
    summary = _run(bench, tmp_path / "res", f"{path}:Bad")
    label = f"{path}:Bad"
    assert summary.completed == ["fine"]
    assert summary.failed["short3"] == f"{label} returned 3 values instead of x,y,w,h (sequence short3, frame 2)"
    assert summary.failed["nan4"] == (f"{label} returned a non-finite box [1.0, nan, 3.0, 4.0] "
                                      "(sequence nan4, frame 1)")
    assert summary.failed["boom5"] == f"{label} raised ValueError: lost it (sequence boom5, frame 3)"
    assert (summary.run_dir / "tiny" / "fine.txt").is_file()
    assert not (summary.run_dir / "tiny" / "boom5.txt").exists()


@pytest.mark.parametrize("tracker, message", [
    ("{path}:NoTrack", "lacks the tracker interface (no track() method"),
    ("{path}:Missing", "has no attribute 'Missing'"),
    ("{broken}:Bad", "cannot import"),
    ("no_such_module_xyz:Bad", "cannot import no_such_module_xyz (ModuleNotFoundError"),
    ("wobbel", "unknown tracker 'wobbel'"),
])
def test_unusable_plugins_are_one_line_exit_2(tmp_path, folder_benchmarks, capsys, tracker, message):
    make_bench(tmp_path / "data", {"a": 3})
    path = _write(tmp_path / "bad.py", BAD)
    broken = _write(tmp_path / "broken.py", "import numpy\nraise ImportError('needs a GPU library')\n")
    name = tracker.format(path=path, broken=broken)
    rc = main(["run", "--bench", "tiny", "--root", str(tmp_path / "data"), "--tracker", name,
               "--results", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert repr(name) in err or name in err  # names the plug-in
    assert not (tmp_path / "res" / name.rpartition(":")[2] / "run.json").exists()


def test_checkpoint_only_for_trackers_that_take_one(tmp_path, folder_benchmarks, capsys):
    make_bench(tmp_path / "data", {"a": 3})
    path = _write(tmp_path / "plain.py", WOBBLE)
    weights = _write(tmp_path / "w.pth.tar", "x")
    rc = main(["run", "--bench", "tiny", "--root", str(tmp_path / "data"), "--tracker", f"{path}:Wobble",
               "--checkpoint", str(weights), "--results", str(tmp_path / "res")])
    assert rc == 2 and "takes no checkpoint" in capsys.readouterr().err


def test_tracker_opt_values_are_yaml_scalars(tmp_path):
    assert parse_option("n=3") == {"n": 3}
    assert parse_option("r=0.5") == {"r": 0.5}
    assert parse_option("on=true") == {"on": True}
    assert parse_option("name=abc") == {"name": "abc"}
    assert parse_option("path=a:b") == {"path": "a:b"}
    assert parse_option("l=[1, 2]") == {"l": "[1, 2]"}  # a scalar was asked for
    opts = _write(tmp_path / "opts.yaml", "step: 4\nmode: fast\n")
    assert parse_option(str(opts)) == {"step": 4, "mode": "fast"}
    with pytest.raises(UserError):
        parse_option("1x=2")
    with pytest.raises(UserError):
        parse_option(str(tmp_path / "missing.yaml"))
    spec = TrackerSpec("x.py:T", options={"b": [1, 2], "a": {"k": 1}})
    assert spec.option_dict == {"a": {"k": 1}, "b": [1, 2]} and hash(spec)
