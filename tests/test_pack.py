"""``ostrack-eval pack``: server zips for GOT-10k / TrackingNet and ``pack --check``.

Results and dataset layouts are generated in tmp_path; the zips are read back the way the servers
read them (``np.loadtxt(delimiter=',')`` for GOT-10k, ``pandas.read_csv(sep=',')`` for TrackingNet).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.errors import UserError
from ostrack_eval.pack import check_submission, get_format, pack_submission
from ostrack_eval.run.store import TIME_FLOOR
from ostrack_eval.run.store import ResultStore
from ostrack_eval.testing.fake_layouts import FAKE_SEQUENCES, make_fake_benchmark

# The first two of each are in the fake datasets (with the frame counts fake_layouts gives them); the
# third is an official name that is not, for results without a dataset and for "missing" cases.
GOT = FAKE_SEQUENCES["got10k"] + ["GOT-10k_Test_000003"]
TN = FAKE_SEQUENCES["trackingnet"] + ["-FCJqWfi9Wo_0"]  # TN[0] is "-Dz7OIf54b0_0"
FRAMES = {GOT[0]: 5, GOT[1]: 7, GOT[2]: 4, TN[0]: 12, TN[1]: 5, TN[2]: 6}
RUN = "fake-run"


@pytest.fixture(autouse=True)
def _no_default_dataset(tmp_path, monkeypatch):
    """No dataset at the default locations unless a test passes ``root``."""
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "no-datasets"))
    monkeypatch.chdir(tmp_path)


def _boxes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    boxes = rng.uniform(-5.0, 200.0, size=(n, 4))
    boxes[:, 2:] = np.abs(boxes[:, 2:]) + 1
    return boxes


def _write_run(results: Path, bench: str, names: list[str], reps: int | None = None) -> dict[str, np.ndarray]:
    """Results as the runner writes them: ``<seq>.txt`` (or ``reps`` repetitions) plus time files."""
    store = ResultStore(results, RUN)
    written = {}
    for i, seq in enumerate(names):
        n = FRAMES[seq]
        times = np.full(n, 0.02) + 0.001 * np.arange(n)
        if reps is None:
            written[seq] = _boxes(n, i)
            store.write(bench, seq, written[seq], times)
        else:
            for rep in range(1, reps + 1):
                written[f"{seq}_{rep}"] = _boxes(n, 100 * i + rep)
                store.write_repetition(bench, seq, rep, written[f"{seq}_{rep}"], times * rep)
    return written


def _dataset(tmp_path: Path, bench: str) -> Path:
    """The fake test split of ``bench`` under ``tmp_path/data`` (which then works as $OSTRACK_EVAL_DATA)."""
    return make_fake_benchmark(bench, tmp_path / "data")


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a zip, passing every (name, bytes) through ``edit`` (returns a list of members to write)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            for new_name, data in edit(name, zin.read(name)):
                zout.writestr(new_name, data)
    return dst


# ---- packing -------------------------------------------------------------------------------------------

def test_got10k_zip_members_delimiter_rows_and_times(tmp_path):
    written = _write_run(tmp_path / "results", "got10k", GOT[:2])
    out = tmp_path / "got.zip"
    root = _dataset(tmp_path, "got10k")
    summary = pack_submission(tmp_path / "results", RUN, "got10k", out, names=GOT[:2], root=root)
    assert summary.sequences == 2 and summary.frames_root == root
    assert "packed 2 of the 180 official got10k sequences; the server needs all of them" in summary.warnings

    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(f"{s}/{s}_{k}.txt" for s in GOT[:2] for k in ("001", "time"))
        for seq in GOT[:2]:
            text = zf.read(f"{seq}/{seq}_001.txt").decode()
            assert "\t" not in text and " " not in text
            boxes = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
            assert boxes.shape == (FRAMES[seq], 4)
            np.testing.assert_allclose(boxes, written[seq], atol=5e-5)
            times = np.loadtxt(io.StringIO(zf.read(f"{seq}/{seq}_time.txt").decode()), delimiter=",")
            assert times.shape == (FRAMES[seq],) and (times > 0).all()


def test_trackingnet_zip_is_flat_and_pandas_reads_it(tmp_path):
    written = _write_run(tmp_path / "results", "trackingnet", TN[:2])
    out = tmp_path / "tn.zip"
    root = _dataset(tmp_path, "trackingnet")
    assert pack_submission(tmp_path / "results", RUN, "trackingnet", out, names=TN[:2], root=root).frames_root == root
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == sorted(f"{s}.txt" for s in TN[:2])
        assert "-Dz7OIf54b0_0.txt" in zf.namelist()
        for seq in TN[:2]:
            frame = pd.read_csv(zf.open(f"{seq}.txt"), sep=",", names=["x", "y", "w", "h"])
            assert frame.shape == (FRAMES[seq], 4)
            np.testing.assert_allclose(frame.to_numpy(dtype=float), written[seq], atol=5e-5)


def test_int_mode_truncates_toward_zero(tmp_path):
    store = ResultStore(tmp_path / "results", RUN)
    seq = TN[1]
    boxes = np.array([[-3.7, 2.9, 10.5, 7.99]] * FRAMES[seq])
    boxes[1] = [-0.4, 0.6, 1.2, 3.0]
    store.write("trackingnet", seq, boxes, np.full(len(boxes), 0.01))
    out = tmp_path / "int.zip"
    pack_submission(tmp_path / "results", RUN, "trackingnet", out, names=[seq], int_mode=True)
    text = zipfile.ZipFile(out).read(f"{seq}.txt").decode()
    assert text.splitlines()[:2] == ["-3,2,10,7", "0,0,1,3"]
    np.testing.assert_array_equal(np.loadtxt(io.StringIO(text), delimiter=","), np.trunc(boxes))


def test_reads_pytracking_tab_int_results(tmp_path):
    """OSTrack/pytracking write TAB-separated truncated ints and ``%f`` times: they pack unchanged."""
    bench_dir = tmp_path / "results" / RUN / "got10k"
    bench_dir.mkdir(parents=True)
    seq = GOT[0]
    ints = np.trunc(_boxes(FRAMES[seq], 3)).astype(int)
    np.savetxt(bench_dir / f"{seq}.txt", ints, delimiter="\t", fmt="%d")
    np.savetxt(bench_dir / f"{seq}_time.txt", np.full(FRAMES[seq], 0.015), fmt="%f")
    out = tmp_path / "got.zip"
    pack_submission(tmp_path / "results", RUN, "got10k", out, names=[seq], int_mode=True)
    text = zipfile.ZipFile(out).read(f"{seq}/{seq}_001.txt").decode()
    np.testing.assert_array_equal(np.loadtxt(io.StringIO(text), delimiter=",", dtype=int), ints)


def test_repetitions_are_packed_and_times_become_one_column(tmp_path):
    written = _write_run(tmp_path / "results", "got10k", GOT[:1], reps=4)
    seq = GOT[0]
    out = tmp_path / "got.zip"
    summary = pack_submission(tmp_path / "results", RUN, "got10k", out, names=[seq])
    assert summary.repetitions == 3
    assert any("first 3 of 4 repetitions" in w for w in summary.warnings)
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == [f"{seq}/{seq}_{k}.txt" for k in ("001", "002", "003", "time")]
        for rep in (1, 2, 3):
            boxes = np.loadtxt(io.StringIO(zf.read(f"{seq}/{seq}_{rep:03d}.txt").decode()), delimiter=",")
            np.testing.assert_allclose(boxes, written[f"{seq}_{rep}"], atol=5e-5)
        times = np.loadtxt(io.StringIO(zf.read(f"{seq}/{seq}_time.txt").decode()), delimiter=",")
    base = np.full(FRAMES[seq], 0.02) + 0.001 * np.arange(FRAMES[seq])
    np.testing.assert_allclose(times, base * 2, atol=1e-6)  # mean of the 1x, 2x, 3x columns


def test_zero_times_are_written_positive(tmp_path):
    ResultStore(tmp_path / "results", RUN).write("got10k", GOT[2], _boxes(FRAMES[GOT[2]], 1),
                                                 np.zeros(FRAMES[GOT[2]]))
    out = tmp_path / "got.zip"
    summary = pack_submission(tmp_path / "results", RUN, "got10k", out, names=[GOT[2]])
    times = np.loadtxt(zipfile.ZipFile(out).open(f"{GOT[2]}/{GOT[2]}_time.txt"), delimiter=",")
    assert (times > 0).all()
    np.testing.assert_array_equal(times, TIME_FLOOR)
    assert any(f"written as {TIME_FLOOR:g} s" in w for w in summary.warnings)


def test_default_sequence_set_is_the_full_official_list(tmp_path):
    _write_run(tmp_path / "results", "got10k", GOT[:2])
    with pytest.raises(UserError, match=r"178 of 180 sequences not ready") as err:
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "got.zip")
    assert GOT[2] in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "got.zip").exists()


def test_refuses_missing_sequence_without_touching_an_existing_zip(tmp_path):
    _write_run(tmp_path / "results", "trackingnet", TN[:2])
    out = tmp_path / "tn.zip"
    out.write_bytes(b"previous submission")
    with pytest.raises(UserError, match=r"1 of 3 sequences not ready") as err:
        pack_submission(tmp_path / "results", RUN, "trackingnet", out, names=TN)
    assert f"{TN[2]}: no result file" in str(err.value)
    assert out.read_bytes() == b"previous submission"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_refuses_short_file_against_frames_on_disk(tmp_path):
    root = _dataset(tmp_path, "got10k")
    _write_run(tmp_path / "results", "got10k", GOT[:2])
    short = tmp_path / "results" / RUN / "got10k" / f"{GOT[1]}.txt"
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(UserError, match=rf"{GOT[1]}: {GOT[1]}.txt: {FRAMES[GOT[1]] - 1} rows for "
                                        rf"{FRAMES[GOT[1]]} frames"):
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "got.zip", names=GOT[:2], root=root)


def test_dataset_found_through_the_environment_variable(tmp_path, monkeypatch):
    _dataset(tmp_path, "trackingnet")
    monkeypatch.setenv("OSTRACK_EVAL_DATA", str(tmp_path / "data"))  # holds trackingnet/
    _write_run(tmp_path / "results", "trackingnet", TN[:2])
    summary = pack_submission(tmp_path / "results", RUN, "trackingnet", tmp_path / "tn.zip", names=TN[:2])
    assert summary.frames_root == tmp_path / "data" / "trackingnet"
    n = FRAMES[TN[1]] + 1
    ResultStore(tmp_path / "results", RUN).write("trackingnet", TN[1], _boxes(n, 0), np.full(n, 0.01))
    with pytest.raises(UserError, match=rf"{TN[1]}.txt: {n} rows for {n - 1} frames"):
        pack_submission(tmp_path / "results", RUN, "trackingnet", tmp_path / "tn.zip", names=TN[:2])


def test_refuses_box_and_time_files_of_different_length_without_dataset(tmp_path):
    _write_run(tmp_path / "results", "got10k", GOT[:1])
    tfile = tmp_path / "results" / RUN / "got10k" / f"{GOT[0]}_time.txt"
    tfile.write_text(tfile.read_text() + "0.5\n")
    with pytest.raises(UserError, match=rf"_time.txt: {FRAMES[GOT[0]] + 1} rows for {FRAMES[GOT[0]]} frames"):
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "got.zip", names=GOT[:1])


def test_refuses_missing_time_file_for_got10k(tmp_path):
    _write_run(tmp_path / "results", "got10k", GOT[:2])
    (tmp_path / "results" / RUN / "got10k" / f"{GOT[0]}_time.txt").unlink()
    with pytest.raises(UserError, match=r"no time file"):
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "got.zip", names=GOT[:2])


def test_raw_results_are_untouched(tmp_path):
    _write_run(tmp_path / "results", "got10k", GOT[:2])
    _write_run(tmp_path / "results", "trackingnet", TN[:2], reps=2)
    before = _tree_hashes(tmp_path / "results")
    pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "a.zip", names=GOT[:2], int_mode=True)
    pack_submission(tmp_path / "results", RUN, "trackingnet", tmp_path / "b.zip", names=TN[:2])
    with pytest.raises(UserError):
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "c.zip", names=GOT)
    assert _tree_hashes(tmp_path / "results") == before


def test_got10k_protocol_warning_from_run_json(tmp_path):
    _write_run(tmp_path / "results", "got10k", GOT[:1])
    run_json = tmp_path / "results" / RUN / "run.json"
    # The shape ostrack_eval.run.metadata writes; the bench history and run name mention got10k anyway.
    record = {"run_name": "ostrack256-got10k", "tracker": {"tracker": "ostrack256", "name": "ostrack256-got10k"},
              "checkpoint": {"path": "/ckpt/ostrack256.pth.tar", "sha256": "0" * 64},
              "benches": {"got10k": {"sessions": [{"bench": "got10k"}]}}}
    run_json.write_text(json.dumps(record))
    summary = pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "a.zip", names=GOT[:1])
    assert any("GOT-10k-only" in w and "ostrack256" in w for w in summary.warnings)

    for checkpoint in ({"path": "/ckpt/vitb_256_mae_ce_32x4_got10k_ep100/OSTrack_ep0100.pth.tar"}, None):
        record["checkpoint"] = checkpoint  # a GOT-10k-only model; no trained model at all (identity)
        run_json.write_text(json.dumps(record))
        summary = pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "a.zip", names=GOT[:1])
        assert not any("GOT-10k-only" in w for w in summary.warnings)


# ---- checking ------------------------------------------------------------------------------------------

@pytest.fixture
def packed(tmp_path):
    """Good zips for both servers, plus the dataset roots they were packed against."""
    roots = {"got10k": _dataset(tmp_path, "got10k"), "trackingnet": _dataset(tmp_path, "trackingnet")}
    zips = {}
    for bench, names in (("got10k", GOT[:2]), ("trackingnet", TN[:2])):
        _write_run(tmp_path / "results", bench, names)
        zips[bench] = tmp_path / f"{bench}.zip"
        pack_submission(tmp_path / "results", RUN, bench, zips[bench], names=names, root=roots[bench])
    return zips, roots


@pytest.mark.parametrize("bench", ["got10k", "trackingnet"])
def test_packed_zips_pass_check(packed, bench):
    zips, roots = packed
    report = check_submission(zips[bench], bench, root=roots[bench], names=FAKE_SEQUENCES[bench])
    assert report.problems == []
    assert report.found == 2 and report.frames_root == roots[bench]


def _space_delimited(name, data):
    return [(name, data.replace(b",", b" ") if name.endswith("_001.txt") and GOT[1] in name else data)]


def _extra_folder(name, data):
    return [(f"ostrack256/{name}", data)]


def _drop_sequence(name, data):
    return [] if name.startswith(GOT[1]) else [(name, data)]


def _short_file(name, data):
    return [(name, b"".join(data.splitlines(keepends=True)[:-1]) if name == f"{GOT[0]}/{GOT[0]}_001.txt" else data)]


def _drop_time(name, data):
    return [] if name == f"{GOT[1]}/{GOT[1]}_time.txt" else [(name, data)]


def _bad_repetition_name(name, data):
    return [(name.replace("_001.txt", "_1.txt") if name.startswith(GOT[0]) else name, data)]


def _nonpositive_time(name, data):
    return [(name, b"0.0\n" + data.split(b"\n", 1)[1] if name == f"{GOT[0]}/{GOT[0]}_time.txt" else data)]


@pytest.mark.parametrize("edit, expected", [
    (_space_delimited, rf"{GOT[1]}/{GOT[1]}_001.txt: space/tab delimiter instead of commas .* \(line 1\)"),
    (_extra_folder, r"extra folder 'ostrack256/'"),
    (_drop_sequence, rf"1 of 2 sequences missing: {GOT[1]}"),
    (_short_file, rf"{GOT[0]}/{GOT[0]}_001.txt: row count differs .* \(4 rows for 5 frames\)"),
    (_drop_time, rf"1 sequence\(s\) without a time file .*: {GOT[1]}"),
    (_bad_repetition_name, rf"{GOT[0]}_1.txt: misnamed repetition"),
    (_nonpositive_time, rf"{GOT[0]}_time.txt: non-positive times .* \(1 row\(s\), first row 1\)"),
])
def test_check_reports_each_planted_got10k_defect(packed, tmp_path, edit, expected):
    zips, roots = packed
    bad = _rewrite(zips["got10k"], tmp_path / "bad.zip", edit)
    report = check_submission(bad, "got10k", root=roots["got10k"], names=GOT[:2])
    assert not report.ok
    assert any(re.search(expected, p) for p in report.problems), report.problems


def test_check_lists_every_problem_and_reads_past_an_extra_folder(packed, tmp_path):
    zips, roots = packed

    def edit(name, data):
        kept = [m for kept in _drop_time(name, data) for m in _space_delimited(*kept)]
        return [(f"results/{new_name}", new_data) for new_name, new_data in kept]

    bad = _rewrite(zips["got10k"], tmp_path / "bad.zip", edit)
    problems = check_submission(bad, "got10k", root=roots["got10k"], names=GOT[:2]).problems
    assert len(problems) == 3, problems
    assert any("extra folder 'results/'" in p for p in problems)
    assert any("without a time file" in p for p in problems)
    assert any("space/tab delimiter" in p for p in problems)


def test_check_trackingnet_defects(packed, tmp_path):
    zips, roots = packed

    def edit(name, data):
        if name == f"{TN[1]}.txt":
            return [(f"sub/{name}", data), (f"{TN[1]}_time.txt", b"0.1\n")]
        if name == f"{TN[0]}.txt":
            return [(name, data.replace(b",", b"\t"))]
        return [(name, data)]

    bad = _rewrite(zips["trackingnet"], tmp_path / "bad.zip", edit)
    problems = check_submission(bad, "trackingnet", root=roots["trackingnet"], names=TN[:2]).problems
    assert any(p.startswith(f"sub/{TN[1]}.txt: result file in a sub-folder") for p in problems), problems
    assert any(p.startswith(f"{TN[1]}_time.txt: time file (TrackingNet submissions hold none)") for p in problems)
    assert any(p.startswith(f"{TN[0]}.txt: space/tab delimiter") for p in problems)


def test_check_ignores_macosx_and_counts_rows_without_dataset(packed, tmp_path):
    zips, _ = packed

    def edit(name, data):
        return [(name, data), (f"__MACOSX/._{name}", b"\x00\x05\x16\x07")]

    ok = _rewrite(zips["trackingnet"], tmp_path / "mac.zip", edit)
    report = check_submission(ok, "trackingnet", names=TN[:2])
    assert report.ok, report.problems
    assert report.frames_root is None


def test_check_flags_root_level_results_as_misplaced(tmp_path):
    seq = GOT[0]
    flat = tmp_path / "flat.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        zf.writestr(f"{seq}.txt", "1,2,3,4\n")
        zf.writestr(f"{seq}_time.txt", "0.1\n")
    problems = check_submission(flat, "got10k", names=[seq]).problems
    assert any(p.startswith(f"{seq}.txt: file outside its sequence folder") for p in problems)
    assert any(p.startswith(f"{seq}_time.txt: file outside its sequence folder") for p in problems)
    assert any("1 of 1 sequences missing" in p for p in problems)


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_check_groups_one_defect_shared_by_many_files(tmp_path):
    names = get_format("trackingnet").official_names()[:6]
    bad = _zip(tmp_path / "bad.zip", {f"{n}.txt": "1 2 3 4\n5 6 7 8\n" for n in names})
    problems = check_submission(bad, "trackingnet", names=names).problems
    assert problems == [f"space/tab delimiter instead of commas (the server silently scores such files as empty) "
                        f"in 6 files: {', '.join(f'{n}.txt (line 1)' for n in names[:5])} (+1 more)"]


def test_check_accepts_the_toolkit_time_matrix_but_not_extra_columns(tmp_path):
    seq = GOT[0]
    members = {f"{seq}/{seq}_001.txt": "1,2,3,4\n5,6,7,8\n", f"{seq}/{seq}_002.txt": "1,2,3,4\n5,6,7,8\n",
               f"{seq}/{seq}_time.txt": "0.1,0.2\n0.1,0.2\n"}
    assert check_submission(_zip(tmp_path / "ok.zip", members), "got10k", names=[seq]).ok
    members[f"{seq}/{seq}_time.txt"] = "0.1,0.2,0.3\n0.1,0.2,0.3\n"
    problems = check_submission(_zip(tmp_path / "bad.zip", members), "got10k", names=[seq]).problems
    assert problems == [f"{seq}/{seq}_time.txt: more than one time per frame (3 values per row)"]


def test_check_trackingnet_file_matched_twice_scores_as_missing(tmp_path):
    seq = TN[0]
    bad = _zip(tmp_path / "bad.zip", {f"{seq}.txt": "1,2,3,4\n", f"old/{seq}.txt": "1,2,3,4\n"})
    problems = check_submission(bad, "trackingnet", names=[seq]).problems
    assert any(p.startswith(f"{seq}: several files match <seq>.txt") for p in problems), problems


# ---- command line --------------------------------------------------------------------------------------

def test_cli_pack_then_check(tmp_path, capsys):
    _write_run(tmp_path / "results", "trackingnet", TN[:2])
    out = tmp_path / "tn.zip"
    seqs = f"--sequences={','.join(TN[:2])}"  # the first name starts with '-'
    assert main(["pack", "--bench", "trackingnet", "--tracker", RUN, "--out", str(out),
                 "--results", str(tmp_path / "results"), seqs]) == 0
    assert "2 trackingnet sequences" in capsys.readouterr().out
    assert main(["pack", "--check", str(out), "--bench", "trackingnet", seqs]) == 0
    assert "OK" in capsys.readouterr().out
    # Against the full official list the same zip misses 509 sequences: exit 1, problems listed.
    assert main(["pack", "--check", str(out), "--bench", "trackingnet"]) == 1
    assert "509 of 511 sequences missing" in capsys.readouterr().out


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    rc = main(["pack", "--bench", "got10k", "--tracker", "nothing", "--out", str(tmp_path / "x.zip"),
               "--results", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("ostrack-eval: error:") and err.count("\n") == 1
    (tmp_path / "junk.zip").write_text("not a zip")
    assert main(["pack", "--check", str(tmp_path / "junk.zip"), "--bench", "got10k"]) == 2
    assert "not a readable zip" in capsys.readouterr().err


# ---- audited defects -----------------------------------------------------------------------------------

def _unlist(root: Path, seq: str) -> None:
    """Drop ``seq`` from the local ``test/list.txt`` (a partial or older download); its folder stays."""
    listing = root / "test" / "list.txt"
    listing.write_text("".join(line for line in listing.read_text().splitlines(keepends=True)
                               if line.strip() != seq))


def test_official_sequence_missing_from_the_local_dataset_is_packed_unchecked(tmp_path):
    """GOT[2] is official but not in the fake list.txt: its rows cannot be counted, which is no reason to refuse."""
    root = _dataset(tmp_path, "got10k")
    _write_run(tmp_path / "results", "got10k", GOT)
    out = tmp_path / "got.zip"
    summary = pack_submission(tmp_path / "results", RUN, "got10k", out, names=GOT, root=root)
    assert summary.sequences == 3 and summary.frames_root == root
    assert summary.frames.counts == {GOT[0]: FRAMES[GOT[0]], GOT[1]: FRAMES[GOT[1]]}
    assert any(GOT[2] in w and "not in the local dataset" in w for w in summary.warnings), summary.warnings
    assert not any("official" in w for w in summary.warnings if GOT[2] in w)

    report = check_submission(out, "got10k", root=root, names=GOT)
    assert report.ok, report.problems
    assert report.found == 3
    assert any(GOT[2] in n and "not in the local dataset" in n for n in report.notes), report.notes


def test_a_sequence_still_zipped_locally_says_so(tmp_path):
    root = make_fake_benchmark("trackingnet", tmp_path / "data", defects=["not_extracted"])
    _write_run(tmp_path / "results", "trackingnet", TN)
    summary = pack_submission(tmp_path / "results", RUN, "trackingnet", tmp_path / "tn.zip", names=TN, root=root)
    assert TN[0] not in summary.frames.counts
    why = summary.frames.unchecked[TN[0]]
    assert why.startswith("not in the local dataset: ") and "frames not extracted (unzip" in why


def test_unchecked_sequences_still_get_the_box_against_time_rows_check(tmp_path):
    root = _dataset(tmp_path, "got10k")
    _unlist(root, GOT[1])
    _write_run(tmp_path / "results", "got10k", GOT)
    short = tmp_path / "results" / RUN / "got10k" / f"{GOT[2]}.txt"
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(UserError, match=rf"{GOT[2]}: {GOT[2]}_time.txt: {FRAMES[GOT[2]]} rows for "
                                        rf"{FRAMES[GOT[2]] - 1} frames") as err:
        pack_submission(tmp_path / "results", RUN, "got10k", tmp_path / "got.zip", names=GOT, root=root)
    assert "official" not in str(err.value)


def test_check_lists_every_problem_when_the_local_list_lacks_official_sequences(packed, tmp_path, capsys):
    zips, roots = packed
    root = roots["got10k"]
    _unlist(root, GOT[1])  # now only GOT[0] is in the local dataset

    def edit(name, data):
        if name == f"{GOT[0]}/{GOT[0]}_001.txt":
            return _short_file(name, data)  # checked against the 5 frames on disk
        if name == f"{GOT[1]}/{GOT[1]}_time.txt":
            return [(name, data + b"0.5\n")]  # no frames to count: caught against the box rows
        return [(name, data)]

    members = {f"{GOT[2]}/{GOT[2]}_001.txt": "1,2,3,4\n5,6,7,8\n", f"{GOT[2]}/{GOT[2]}_time.txt": "0.1\n0.1\n"}
    bad = _rewrite(zips["got10k"], tmp_path / "bad.zip", edit)
    with zipfile.ZipFile(bad, "a") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    report = check_submission(bad, "got10k", root=root, names=GOT)
    assert any(re.search(rf"{GOT[0]}_001.txt: row count differs .* \(4 rows for 5 frames\)", p)
               for p in report.problems), report.problems
    assert any(re.search(rf"{GOT[1]}_time.txt: time rows differ from box rows", p) for p in report.problems)
    assert len(report.problems) == 2, report.problems
    assert report.frames.counts == {GOT[0]: FRAMES[GOT[0]]}
    assert any(GOT[1] in n and GOT[2] in n and "not in the local dataset" in n for n in report.notes), report.notes

    assert main(["pack", "--check", str(bad), "--bench", "got10k", "--root", str(root),
                 f"--sequences={','.join(GOT)}"]) == 1
    out = capsys.readouterr().out
    assert "unknown sequence" not in out and "not in the local dataset" in out
    assert f"row counts of 1 of 3 sequences checked against {root}" in out


def test_sub_microsecond_times_keep_their_value(tmp_path):
    """The store keeps ns (``%.9f``); batched evaluation takes µs per frame, which ``%.6f`` would round away."""
    seq = GOT[2]
    times = np.array([2.5e-7, 3.3e-6, 1.25e-5, 0.02])
    ResultStore(tmp_path / "results", RUN).write("got10k", seq, _boxes(FRAMES[seq], 1), times)
    out = tmp_path / "got.zip"
    summary = pack_submission(tmp_path / "results", RUN, "got10k", out, names=[seq])
    packed_times = np.loadtxt(zipfile.ZipFile(out).open(f"{seq}/{seq}_time.txt"), delimiter=",")
    np.testing.assert_allclose(packed_times, times, rtol=1e-9)
    assert not any("written as" in w for w in summary.warnings)


def test_trackingnet_without_dataset_compares_box_rows_with_time_rows(tmp_path, capsys):
    seq = TN[1]
    _write_run(tmp_path / "results", "trackingnet", [seq])
    short = tmp_path / "results" / RUN / "trackingnet" / f"{seq}.txt"
    short.write_text("".join(short.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(UserError, match=rf"{seq}: {seq}_time.txt: {FRAMES[seq]} rows for {FRAMES[seq] - 1} frames"):
        pack_submission(tmp_path / "results", RUN, "trackingnet", tmp_path / "tn.zip", names=[seq])
    assert main(["pack", "--bench", "trackingnet", "--tracker", RUN, "--out", str(tmp_path / "tn.zip"),
                 "--results", str(tmp_path / "results"), f"--sequences={seq}"]) == 2
    assert not (tmp_path / "tn.zip").exists()
    # Without time files there is nothing to compare with: packed, with the usual note.
    (tmp_path / "results" / RUN / "trackingnet" / f"{seq}_time.txt").unlink()
    assert main(["pack", "--bench", "trackingnet", "--tracker", RUN, "--out", str(tmp_path / "tn.zip"),
                 "--results", str(tmp_path / "results"), f"--sequences={seq}"]) == 0
    assert "row counts not checked against frames" in capsys.readouterr().out


def test_pack_refuses_a_zip_its_own_check_rejects(tmp_path, monkeypatch):
    """``pack`` runs ``pack --check`` on what it wrote before the zip replaces ``out``."""
    from ostrack_eval.pack import writer

    _write_run(tmp_path / "results", "got10k", GOT[:1])
    out = tmp_path / "got.zip"
    out.write_bytes(b"previous submission")
    monkeypatch.setattr(writer, "box_text", lambda boxes, int_mode: "1 2 3 4\n" * len(boxes))
    with pytest.raises(UserError, match=r"fails its own check.*space/tab delimiter"):
        pack_submission(tmp_path / "results", RUN, "got10k", out, names=GOT[:1])
    assert out.read_bytes() == b"previous submission"
