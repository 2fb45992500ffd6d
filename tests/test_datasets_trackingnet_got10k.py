"""TrackingNet and GOT-10k adapters on fake copies in the real layout (fixture_layouts.md)."""

import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.datasets import get_benchmark
from ostrack_eval.datasets.check import check_benchmark
from ostrack_eval.errors import UserError
from ostrack_eval.testing import FAKE_SEQUENCES, frame_number, make_got10k, make_trackingnet

TN = "-Dz7OIf54b0_0"


@pytest.fixture
def trackingnet(tmp_path):
    return make_trackingnet(tmp_path / "trackingnet")


@pytest.fixture
def got10k(tmp_path):
    return make_got10k(tmp_path / "got10k")


def test_trackingnet_numeric_frame_order_and_one_row_gt(trackingnet):
    seq = get_benchmark("trackingnet", trackingnet).load(TN)
    assert [p.name for p in seq.frames] == [f"{k}.jpg" for k in range(12)]  # 10.jpg after 9.jpg; notes.txt ignored
    assert [frame_number(p) for p in seq.frames] == list(range(12))
    assert seq.ground_truth.shape == (1, 4) and not seq.has_full_annotation
    np.testing.assert_array_equal(seq.init_box, [4, 3, 10, 8])
    assert seq.target_visible is None


def test_trackingnet_list_is_the_official_one(trackingnet):
    bench = get_benchmark("trackingnet", trackingnet)
    names = bench.sequence_names()
    assert len(names) == 511 and names == sorted(names) and names[0] == TN
    assert bench.convention == "trackingnet_server"
    assert get_benchmark("trackingnet", trackingnet, names=["0-6LB4FqxoE_0", TN]).sequence_names() == [
        TN, "0-6LB4FqxoE_0"]


def test_trackingnet_chunk_folder_found_in_any_case(trackingnet):
    (trackingnet / "TEST").rename(trackingnet / "Test")
    bench = get_benchmark("trackingnet", trackingnet)
    assert bench.chunk.name == "Test"
    assert bench.load(TN).num_frames == 12
    # pointing --root at the chunk folder itself also works
    assert get_benchmark("trackingnet", trackingnet / "Test").load(TN).num_frames == 12


def test_trackingnet_layout_errors(tmp_path):
    flat = make_trackingnet(tmp_path / "flat", defects=["no_test_dir"])
    with pytest.raises(UserError, match=r"no TEST/ folder \(found anno/, frames/ directly in it"):
        get_benchmark("trackingnet", flat).load(TN)
    zipped = make_trackingnet(tmp_path / "zipped", defects=["not_extracted"])
    with pytest.raises(UserError, match=r"frames not extracted \(unzip .*-Dz7OIf54b0_0\.zip"):
        get_benchmark("trackingnet", zipped).load(TN)
    gap = make_trackingnet(tmp_path / "gap", defects=["missing_frame"])
    with pytest.raises(UserError, match="frame number 6 missing"):
        get_benchmark("trackingnet", gap).load(TN)


def test_got10k_test_list_from_disk_and_first_row_only(got10k):
    bench = get_benchmark("got10k", got10k)
    assert bench.sequence_names() == ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]  # 000003 is not listed
    assert bench.unlisted() == ["GOT-10k_Test_000003"]
    first, second = (bench.load(n) for n in bench.sequence_names())
    assert first.num_frames == 5 and [frame_number(p) for p in first.frames] == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(first.ground_truth, [[10, 20, 30, 40]])
    np.testing.assert_array_equal(second.ground_truth, [[10.5, 20.25, 30.125, 40.0]])
    assert second.num_frames == 7 and first.target_visible is None
    assert bench.convention == "got10k"
    with pytest.raises(UserError, match="not in the official list"):
        get_benchmark("got10k", got10k, names=["GOT-10k_Test_000003"]).sequence_names()


def test_got10k_val_visibility_and_meta(got10k):
    bench = get_benchmark("got10k_val", got10k)
    seq = bench.load("GOT-10k_Val_000001")
    assert seq.ground_truth.shape == (5, 4) and seq.has_full_annotation
    assert seq.target_visible.tolist() == [True, True, False, False, True]  # cover=0 at 2, absence=1 at 3
    assert seq.object_class == "airplane"
    assert seq.attributes["resolution"] == (32, 24) and seq.attributes["motion_adverb"] == "slowly"
    assert bench.load("GOT-10k_Val_000002").num_frames == 4


def test_got10k_layout_errors(tmp_path, got10k):
    nolist = make_got10k(tmp_path / "nolist", defects=["no_list"])
    with pytest.raises(UserError, match=r"test/list\.txt: not found"):
        get_benchmark("got10k", nolist).sequence_names()
    with pytest.raises(UserError, match="no test/ folder"):
        get_benchmark("got10k", tmp_path / "nolist" / "test").sequence_names()
    (got10k / "val" / "GOT-10k_Val_000001" / "cover.label").write_text("8\n8\n")
    with pytest.raises(UserError, match=r"cover\.label: has 2 values but groundtruth\.txt has 5 rows"):
        get_benchmark("got10k_val", got10k).load("GOT-10k_Val_000001")


def test_got10k_list_with_a_byte_order_mark(got10k):
    (got10k / "test" / "list.txt").write_text("\ufeffGOT-10k_Test_000001\r\nGOT-10k_Test_000002\r\n", encoding="utf-8")
    bench = get_benchmark("got10k", got10k)
    assert bench.sequence_names() == ["GOT-10k_Test_000001", "GOT-10k_Test_000002"]
    assert bench.load("GOT-10k_Test_000001").num_frames == 5


def test_got10k_non_utf8_list_is_a_one_line_error(got10k, capsys):
    path = got10k / "test" / "list.txt"
    path.write_bytes(b"GOT-10k_Test_000001\n\xffGOT-10k_Test_000002\n")
    with pytest.raises(UserError) as err:
        get_benchmark("got10k", got10k).sequence_names()
    assert str(err.value).startswith(f"{path}: cannot read (") and "\n" not in str(err.value)
    assert main(["datasets", "check", "--bench", "got10k", "--root", str(got10k), "--no-decode"]) == 1
    assert f"  problem: {err.value}" in capsys.readouterr().out.splitlines()


def test_got10k_non_utf8_label_is_a_problem_of_that_sequence_only(got10k):
    path = got10k / "val" / "GOT-10k_Val_000001" / "cover.label"
    path.write_bytes(b"8\n8\n\xff\n8\n8\n")
    with pytest.raises(UserError, match=r"cover\.label: cannot read \("):
        get_benchmark("got10k_val", got10k).load("GOT-10k_Val_000001")
    report = check_benchmark(get_benchmark("got10k_val", got10k, names=FAKE_SEQUENCES["got10k_val"]),
                             decode=False, progress=False)
    assert len(report.problems) == 1 and report.problems[0].startswith(f"GOT-10k_Val_000001: {path}: cannot read (")
    assert report.checked == 1 and report.frames == 4


@pytest.mark.parametrize("split, bench", [("test", "got10k"), ("val", "got10k_val")])
def test_got10k_check_compares_list_txt_with_the_official_names(got10k, split, bench):
    path = got10k / split / "list.txt"
    first = path.read_text().split()[0]
    path.write_text(first + "\n")  # truncated: loading alone would call this "1/1 OK"
    report = check_benchmark(get_benchmark(bench, got10k), decode=False, progress=False)
    prefix = "GOT-10k_Test_" if split == "test" else "GOT-10k_Val_"
    assert report.problems == [f"{path}: 179 of the 180 official {split} sequences not listed: {prefix}000002, "
                               f"{prefix}000003, {prefix}000004, {prefix}000005, {prefix}000006 (+174 more)"]
    assert (report.checked, report.listed) == (1, 1) and not report.ok
    # a check of named sequences is about those only
    assert check_benchmark(get_benchmark(bench, got10k, names=[first]), decode=False, progress=False).ok
