"""TNL2K and ITB adapters on fake copies in the real layout (fixture_layouts.md)."""

import numpy as np
import pytest

from ostrack_eval.datasets import get_benchmark
from ostrack_eval.datasets.check import check_benchmark
from ostrack_eval.datasets.common import list_images
from ostrack_eval.datasets.tables import load_table
from ostrack_eval.errors import UserError
from ostrack_eval.testing import FAKE_SEQUENCES, fake_boxes, frame_number, make_itb, make_tnl2k

ASSIAN, HAIBAO = FAKE_SEQUENCES["tnl2k"]


@pytest.fixture
def tnl2k(tmp_path):
    return make_tnl2k(tmp_path / "tnl2k")


@pytest.fixture
def itb(tmp_path):
    return make_itb(tmp_path / "itb")


def test_tnl2k_frames_filter_extensions_and_sort_numerically(tnl2k):
    seq = get_benchmark("tnl2k", tnl2k).load(ASSIAN)
    assert [p.name for p in seq.frames] == [f"{k:08d}.png" for k in range(1, 6)]  # Thumbs.db, notes.txt skipped
    assert [frame_number(p) for p in seq.frames] == [1, 2, 3, 4, 5]
    other = get_benchmark("tnl2k", tnl2k).load(HAIBAO)
    assert [p.name for p in other.frames] == [f"{k:05d}.jpg" for k in range(1, 6)]


def test_tnl2k_gt_passthrough_and_language(tnl2k):
    seq = get_benchmark("tnl2k", tnl2k).load(ASSIAN)
    expected = fake_boxes(5)
    expected[1] = 0.0
    expected[3, 0] = -7.0
    np.testing.assert_array_equal(seq.ground_truth, expected)  # absent 0,0,0,0 and negative x kept as read
    assert seq.language == "the white car driving on the road"  # OSTrack: first line, stripped, lower-cased
    assert seq.target_visible is None and seq.bench == "tnl2k" and get_benchmark("tnl2k", tnl2k).convention == "ostrack"


def test_tnl2k_follows_the_official_list_not_the_folders(tnl2k):
    bench = get_benchmark("tnl2k", tnl2k)
    names = bench.sequence_names()
    assert len(names) == 700 and "not_a_test_sequence" not in names and names == sorted(names)
    assert bench.unlisted() == ["not_a_test_sequence"]
    with pytest.raises(UserError, match="unknown sequence"):
        bench.load("not_a_test_sequence")


def test_tnl2k_image_count_must_match_gt(tnl2k):
    (tnl2k / ASSIAN / "imgs" / "00000006.png").write_bytes((tnl2k / ASSIAN / "imgs" / "00000001.png").read_bytes())
    with pytest.raises(UserError, match=r"imgs: 6 frames but 5 ground-truth rows"):
        get_benchmark("tnl2k", tnl2k).load(ASSIAN)


def test_tnl2k_corrupt_png_is_named_by_check(tmp_path):
    root = make_tnl2k(tmp_path / "tnl2k", defects=["corrupt_image"])
    report = check_benchmark(get_benchmark("tnl2k", root, names=FAKE_SEQUENCES["tnl2k"]), progress=False)
    assert not report.ok
    assert report.problems == [f"{ASSIAN}: {root / ASSIAN / 'imgs' / '00000002.png'}: cannot decode image "
                               f"(corrupt or unsupported)"]


def test_tnl2k_nested_test_subset_folder(tmp_path):
    make_tnl2k(tmp_path / "tnl2k" / "TNL2K_test_subset")
    assert get_benchmark("tnl2k", tmp_path).load(HAIBAO).num_frames == 5


def test_itb_numeric_order_scenarios_and_whitespace_gt(itb):
    bench = get_benchmark("itb", itb)
    assert len(bench.sequence_names()) == 180 and bench.convention == "itb"
    seq = bench.load("head-men's100")
    assert [p.name for p in seq.frames] == [f"{k}.jpg" for k in range(1, 13)]  # 10.jpg after 9.jpg
    assert [frame_number(p) for p in seq.frames] == list(range(1, 13))
    np.testing.assert_array_equal(seq.ground_truth, fake_boxes(12))  # space-separated file
    assert seq.attributes["scenario"] == "sign-logo"  # from the parent folder
    basket = bench.load("basketball-1")
    assert basket.attributes == {"scenario": "human-body", "origin": "newly collected"}
    assert basket.bench == "itb" and basket.num_frames == 5  # ITB.json at the root is not a scenario


def test_itb_scenario_from_itb_json_wins(tmp_path):
    root = make_itb(tmp_path / "itb", itb_json={"head-men's100": {"scenario_name": "sport-ball"}})
    assert get_benchmark("itb", root).load("head-men's100").attributes["scenario"] == "sport-ball"


def test_itb_entries_with_a_dot_are_skipped_and_duplicates_refused(itb):
    (itb / "old.backup" / "basketball-1").mkdir(parents=True)  # skipped: name contains a dot
    assert get_benchmark("itb", itb).load("basketball-1").frames[0].parent.parent.name == "human-body"
    (itb / "sport-ball" / "basketball-1").mkdir(parents=True)
    with pytest.raises(UserError, match="also exists in"):
        get_benchmark("itb", itb).load("basketball-1")


def test_itb_invalid_json_is_a_user_error(itb):
    (itb / "ITB.json").write_text("{not json")
    with pytest.raises(UserError, match=r"ITB\.json: not valid JSON"):
        get_benchmark("itb", itb).load("basketball-1")


def test_frame_sort_key_is_numeric_for_ascii_digits_only(tmp_path):
    for name in ("10.png", "2.png", "\u00b2.png", "a.png", "\u0663.png"):  # superscript two, Arabic-Indic three
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["2.png", "10.png", "a.png", "\u00b2.png", "\u0663.png"]


def test_tnl2k_unicode_digit_file_name_is_not_a_frame_number(tnl2k):
    imgs = tnl2k / ASSIAN / "imgs"
    (imgs / "\u00b2.png").write_bytes((imgs / "00000001.png").read_bytes())
    with pytest.raises(UserError, match=r"imgs: 6 frames but 5 ground-truth rows"):
        get_benchmark("tnl2k", tnl2k).load(ASSIAN)


def test_check_notes_lengths_differing_from_the_table_and_unlisted_folders(tnl2k):
    report = check_benchmark(get_benchmark("tnl2k", tnl2k, names=FAKE_SEQUENCES["tnl2k"]), decode=False,
                             progress=False)
    lengths = {row["name"]: row["num_frames"] for row in load_table("tnl2k.json")["sequences"]}
    assert report.ok and report.problems == []
    assert report.notes == [
        f"2 sequence lengths differ from the official table: {ASSIAN}: 5 frames; the official table says "
        f"{lengths[ASSIAN]}, {HAIBAO}: 5 frames; the official table says {lengths[HAIBAO]}",
        "1 folders not in the official list (ignored): not_a_test_sequence",
    ]
    lines = report.lines()
    assert lines[1:3] == [f"  note: {n}" for n in report.notes]
    assert lines[-1] == "tnl2k: 2/2 sequences and 10 frames checked: OK"
