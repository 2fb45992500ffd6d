"""LaSOT and LaSOText adapters on fake copies in the real layout (fixture_layouts.md)."""

import numpy as np
import pytest

from ostrack_eval.datasets import get_benchmark
from ostrack_eval.datasets import lasot as lasot_module
from ostrack_eval.datasets.check import check_benchmark
from ostrack_eval.datasets.lasot import attribute_names
from ostrack_eval.datasets.tables import load_table
from ostrack_eval.errors import UserError
from ostrack_eval.testing import fake_boxes, frame_number, make_lasot, make_lasot_ext
from ostrack_eval.testing.fake_layouts import box_lines


@pytest.fixture
def lasot(tmp_path):
    return make_lasot(tmp_path / "lasot")


def test_frames_follow_gt_rows_not_the_img_folder(lasot):
    seq = get_benchmark("lasot", lasot).load("airplane-1")
    assert (lasot / "airplane" / "airplane-1" / "img" / "00000006.jpg").is_file()  # the monkey-17 trap
    assert [p.name for p in seq.frames] == [f"0000000{k}.jpg" for k in range(1, 6)]
    assert [frame_number(p) for p in seq.frames] == [1, 2, 3, 4, 5]
    assert seq.num_frames == 5 and seq.has_full_annotation


def test_ground_truth_passed_through_and_visibility_from_flag_files(lasot):
    seq = get_benchmark("lasot", lasot).load("airplane-1")
    expected = fake_boxes(5)
    expected[2] = 0.0
    assert seq.ground_truth.dtype == np.float64
    np.testing.assert_array_equal(seq.ground_truth, expected)
    # frame 4 has a normal box but out_of_view = 1: visibility must not be judged from the box
    assert seq.target_visible.tolist() == [True, True, False, True, False]
    np.testing.assert_array_equal(seq.init_box, [4, 3, 10, 8])


def test_crlf_files_class_language_and_attributes(lasot):
    seq = get_benchmark("lasot", lasot).load("airplane-9")
    assert seq.ground_truth.shape == (5, 4) and seq.target_visible.tolist() == [True, True, False, True, False]
    assert seq.object_class == "airplane" and seq.bench == "lasot"
    assert seq.language == "airplane moving in the sky"
    table = load_table("lasot_attributes.json")
    assert len(attribute_names()) == 14 and attribute_names()[-1] == ("ARC", "Aspect Ratio Change")
    assert list(seq.attributes) == [abbr for abbr, _ in attribute_names()]
    assert [int(v) for v in seq.attributes.values()] == table["sequences"]["airplane-9"]


def test_official_list_order_and_subset(lasot):
    bench = get_benchmark("lasot", lasot)
    names = bench.sequence_names()
    assert len(names) == 280 and names[:2] == ["airplane-1", "airplane-9"]
    assert names.index("cattle-13") + 1 == names.index("spider-14") < names.index("coin-3")  # not alphabetical
    subset = get_benchmark("lasot", lasot, names=["airplane-9", "airplane-1"])
    assert subset.sequence_names() == ["airplane-1", "airplane-9"]
    assert bench.convention == "ostrack"
    with pytest.raises(UserError, match="not in the official list: no-such-1"):
        get_benchmark("lasot", lasot, names=["no-such-1"]).sequence_names()


def test_missing_sequence_is_a_one_line_error(lasot):
    with pytest.raises(UserError) as err:
        get_benchmark("lasot", lasot).load("zebra-10")
    assert "zebra-10" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError, match="unknown sequence"):
        get_benchmark("lasot", lasot).load("airplane-2")


def test_flag_file_length_mismatch_names_the_file(lasot):
    (lasot / "airplane" / "airplane-1" / "out_of_view.txt").write_text("0,0,0,0\n")
    with pytest.raises(UserError, match=r"out_of_view\.txt: has 4 values but groundtruth\.txt has 5 rows"):
        get_benchmark("lasot", lasot).load("airplane-1")


def test_nested_lasotbenchmark_folder_is_found(tmp_path):
    make_lasot(tmp_path / "data" / "LaSOTBenchmark")
    seq = get_benchmark("lasot", tmp_path / "data").load("airplane-1")
    assert seq.frames[0].parent.parent.parent.parent.name == "LaSOTBenchmark"


def test_lasot_ext(tmp_path):
    root = make_lasot_ext(tmp_path / "lasot_ext")
    bench = get_benchmark("lasot_ext", root)
    assert len(bench.sequence_names()) == 150 and bench.sequence_names()[:2] == ["atv-1", "atv-2"]
    seq = bench.load("atv-2")
    assert seq.bench == "lasot_ext" and seq.object_class == "atv" and seq.attributes == {}
    assert seq.num_frames == 5 and seq.target_visible.tolist() == [True, True, False, True, False]
    with pytest.raises(UserError, match="no LaSOText class folders"):
        get_benchmark("lasot_ext", make_lasot(tmp_path / "wrong")).load("atv-1")


def test_non_utf8_flag_file_is_a_one_line_error(lasot):
    path = lasot / "airplane" / "airplane-1" / "full_occlusion.txt"
    path.write_bytes(b"0,0,\xff,0,0\n")
    with pytest.raises(UserError) as err:
        get_benchmark("lasot", lasot).load("airplane-1")
    message = str(err.value)
    assert message.startswith(f"{path}: cannot read (") and "0xff" in message and "\n" not in message


def test_more_gt_rows_than_images_names_the_first_missing_frame(lasot):
    folder = lasot / "airplane" / "airplane-9"  # 5 images, none spare
    (folder / "groundtruth.txt").write_text(box_lines(fake_boxes(7)))
    (folder / "full_occlusion.txt").write_text("0,0,0,0,0,0,0\n")
    (folder / "out_of_view.txt").write_text("0,0,0,0,0,0,0\n")
    with pytest.raises(UserError) as err:
        get_benchmark("lasot", lasot).load("airplane-9")
    assert str(err.value) == f"{folder / 'img' / '00000007.jpg'}: frame missing (lasot airplane-9 needs 7 frames)"
    report = check_benchmark(get_benchmark("lasot", lasot, names=["airplane-1", "airplane-9"]), decode=False,
                             progress=False)
    assert report.problems == [f"airplane-9: {err.value}"] and report.checked == 1 and report.frames == 5


def test_attribute_table_is_parsed_once_and_not_shared_mutably(lasot, monkeypatch):
    calls = []
    real = lasot_module.load_table
    monkeypatch.setattr(lasot_module, "load_table", lambda filename: calls.append(filename) or real(filename))
    lasot_module.toolkit_attributes.cache_clear()
    bench = get_benchmark("lasot", lasot)
    first, second = bench.load("airplane-1"), bench.load("airplane-9")
    names = attribute_names()
    assert calls.count("lasot_attributes.json") == 1
    assert list(first.attributes) == list(second.attributes) == [abbr for abbr, _ in names]
    names.clear()  # a caller editing its copy must not change the next caller's
    assert len(attribute_names()) == 14
