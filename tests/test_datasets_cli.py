"""Where benchmarks are looked for (``resolve_root``), the registry, and ``ostrack-eval datasets list | check``."""

from pathlib import Path

import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.datasets import BENCHMARKS, Benchmark, get_benchmark, resolve_root
from ostrack_eval.errors import UserError
from ostrack_eval.testing import DEFECTS, FAKE_SEQUENCES, make_fake_benchmark

CONVENTIONS = {"lasot": "ostrack", "lasot_ext": "ostrack", "trackingnet": "trackingnet_server", "got10k": "got10k",
               "got10k_val": "got10k", "nfs": "ostrack", "uav123": "ostrack", "tnl2k": "ostrack", "itb": "itb",
               "demo": "ostrack"}


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("OSTRACK_EVAL_DATA", raising=False)
    monkeypatch.setenv("OSTRACK_EVAL_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def test_registry_names_and_conventions(tmp_path):
    assert list(BENCHMARKS) == list(CONVENTIONS)
    for name, convention in CONVENTIONS.items():
        bench = get_benchmark(name, tmp_path)
        assert isinstance(bench, Benchmark) and bench.name == name and bench.convention == convention
    with pytest.raises(UserError, match="unknown benchmark 'otb'; choose from lasot, lasot_ext, trackingnet"):
        get_benchmark("otb")


def test_resolve_root_order(tmp_path, monkeypatch):
    assert resolve_root("lasot") == Path("datasets") / "lasot"
    (tmp_path / "datasets" / "GOT-10k").mkdir(parents=True)
    assert resolve_root("got10k_val") == Path("datasets") / "GOT-10k"  # accepted alias, any case
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "data"))
    assert resolve_root("nfs") == tmp_path / "data" / "nfs"
    # --root: a folder holding the benchmark, or the benchmark folder itself
    lasot = make_fake_benchmark("lasot", tmp_path / "mine")
    assert resolve_root("lasot", tmp_path / "mine") == lasot
    assert resolve_root("lasot", lasot) == lasot
    assert resolve_root("demo") == tmp_path / "cache" / "demo-v1"


def test_env_data_root_loads_every_fake_benchmark(tmp_path, monkeypatch):
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "data"))
    for bench in FAKE_SEQUENCES:
        make_fake_benchmark(bench, tmp_path / "data")
    for bench, names in FAKE_SEQUENCES.items():
        adapter = get_benchmark(bench, names=names)
        assert adapter.sequence_names() == names
        for name in names:
            seq = adapter.load(name)
            assert seq.name == name and seq.bench == bench and seq.ground_truth.shape[1] == 4
            assert all(p.is_file() for p in seq.frames)


def test_missing_root_is_a_one_line_error():
    with pytest.raises(UserError) as err:
        get_benchmark("uav123").load("uav_uav6")
    assert "UAV123 folder not found" in str(err.value) and "\n" not in str(err.value)


def test_datasets_list(tmp_path, capsys):
    make_fake_benchmark("lasot", tmp_path / "datasets")
    make_fake_benchmark("nfs", tmp_path / "datasets", defects=["original_layout"])
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line and not line.startswith(" ")}
    assert "found" in rows["lasot"] and "2/280" in rows["lasot"]
    assert str(tmp_path / "datasets" / "lasot") in rows["lasot"]
    assert "not found" in rows["trackingnet"] and "511" in rows["trackingnet"]
    assert "bad layout" in rows["nfs"] and "original NFS download" in out
    assert "not generated" in rows["demo"] and not (tmp_path / "cache" / "demo-v1").exists()


def test_datasets_list_with_root(tmp_path, capsys):
    make_fake_benchmark("got10k", tmp_path / "elsewhere")
    assert main(["datasets", "list", "--root", str(tmp_path / "elsewhere")]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "found" in rows["got10k"] and "2/2" in rows["got10k"] and "2/2" in rows["got10k_val"]


@pytest.mark.parametrize("bench", list(FAKE_SEQUENCES))
def test_check_passes_on_a_sound_fake_copy(tmp_path, capsys, bench):
    make_fake_benchmark(bench, tmp_path / "data")
    rc = main(["datasets", "check", "--bench", bench, "--root", str(tmp_path / "data"),
               f"--sequences={','.join(FAKE_SEQUENCES[bench])}"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.splitlines()[-1].endswith(": OK") and "problem" not in out


EXPECTED_MESSAGES = {
    "missing_sequence": "1 of 2 listed sequences missing",
    "missing_frame": {"trackingnet": "frame number 6 missing", "got10k": "frame number 3 missing",
                      "got10k_val": "frame number 3 missing", "tnl2k": "4 frames but 5 ground-truth rows",
                      "itb": "4 frames but 5 ground-truth rows", None: "frame missing"},
    "corrupt_image": "cannot decode image",
    "gt_rows": {"lasot": "has 5 values but groundtruth.txt has 4 rows", "lasot_ext": "has 5 values",
                "trackingnet": "empty", "got10k": "empty", None: "ground-truth rows"},
    "no_test_dir": "no TEST/ folder",
    "not_extracted": "frames not extracted",
    "no_list": "list.txt: not found",
    "original_layout": "original NFS download layout",
    "comma_anno": "expected 4 TAB-separated values",
    "not_utf8": "cannot read ('utf-8' codec can't decode byte 0xff",
}


@pytest.mark.parametrize("bench, defect", [(b, d) for b, ds in DEFECTS.items() for d in sorted(ds)])
def test_check_catches_each_planted_defect(tmp_path, capsys, bench, defect):
    make_fake_benchmark(bench, tmp_path / "data", defects=[defect])
    decode = ["--workers", "2"] if defect == "corrupt_image" else ["--no-decode"]
    rc = main(["datasets", "check", "--bench", bench, "--root", str(tmp_path / "data"), *decode,
               f"--sequences={','.join(FAKE_SEQUENCES[bench])}"])
    out = capsys.readouterr().out
    expected = EXPECTED_MESSAGES[defect]
    if isinstance(expected, dict):
        expected = expected.get(bench, expected[None])
    assert rc == 1
    problems = [line for line in out.splitlines() if line.startswith("  problem: ")]
    assert problems and any(expected in line for line in problems), out
    assert "FAILED" in out.splitlines()[-1]


def test_check_missing_root_and_whole_list(tmp_path, capsys):
    assert main(["datasets", "check", "--bench", "itb", "--root", str(tmp_path / "nowhere")]) == 1
    assert "ITB folder not found" in capsys.readouterr().out
    make_fake_benchmark("lasot", tmp_path / "data")
    assert main(["datasets", "check", "--bench", "lasot", "--root", str(tmp_path / "data"), "--no-decode"]) == 1
    out = capsys.readouterr().out
    assert "278 of 280 listed sequences missing: airplane-13" in out
    assert "2/280 sequences and 10 frames checked: FAILED" in out


def test_check_bad_input_exits_2(capsys):
    assert main(["datasets", "check", "--bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err
    assert main(["datasets", "check", "--bench", "lasot", "--workers", "0"]) == 2


@pytest.mark.parametrize("bench, folder", [("lasot", "LaSOT"), ("lasot", "LASOTBENCHMARK"), ("lasot_ext", "LaSOText"),
                                           ("trackingnet", "TrackingNet"), ("got10k", "got-10k"), ("nfs", "NFS"),
                                           ("nfs", "Nfs"), ("uav123", "UAV123"), ("uav123", "UAV"),
                                           ("tnl2k", "TNL2K"), ("tnl2k", "tnl2k_TEST"), ("itb", "ITB")])
def test_benchmark_folder_names_match_in_any_case(tmp_path, monkeypatch, bench, folder):
    (tmp_path / "data" / folder).mkdir(parents=True)
    assert resolve_root(bench, tmp_path / "data") == tmp_path / "data" / folder
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "data"))
    assert resolve_root(bench) == tmp_path / "data" / folder


def test_check_reports_an_unreadable_flag_file_and_goes_on(tmp_path, capsys):
    root = make_fake_benchmark("lasot", tmp_path / "data")
    path = root / "airplane" / "airplane-1" / "out_of_view.txt"
    path.write_bytes(b"\xff\xfe0,0,0,0,1\n")  # UTF-16 from a Windows editor
    rc = main(["datasets", "check", "--bench", "lasot", "--root", str(tmp_path / "data"), "--no-decode",
               "--sequences=airplane-1,airplane-9"])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    problems = [line for line in out if line.startswith("  problem: ")]
    assert len(problems) == 1 and problems[0].startswith(f"  problem: airplane-1: {path}: cannot read (")
    assert out[-1] == "lasot: 1/2 sequences and 5 frames checked: FAILED (1 problem)"
