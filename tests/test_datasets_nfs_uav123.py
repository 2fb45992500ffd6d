"""NFS and UAV123 (table-driven frame ranges) on fake copies in the real layout, and their shipped tables."""

import numpy as np
import pytest

from ostrack_eval.cli.main import main
from ostrack_eval.datasets import get_benchmark
from ostrack_eval.datasets.check import check_benchmark
from ostrack_eval.datasets.tables import load_table
from ostrack_eval.datasets.uav123 import UAV123
from ostrack_eval.errors import UserError
from ostrack_eval.testing import FAKE_SEQUENCES, fake_boxes, frame_number, make_nfs, make_uav123


def test_nfs_frames_from_table_and_tab_annotation(tmp_path):
    root = make_nfs(tmp_path / "nfs")
    bench = get_benchmark("nfs", root)
    assert len(bench.sequence_names()) == 100 and bench.sequence_names()[0] == "nfs_Gymnastics"
    seq = bench.load("nfs_car_jumping")
    assert seq.num_frames == 22 and seq.frames[0].name == "00001.jpg" and seq.frames[-1].name == "00022.jpg"
    assert [frame_number(p) for p in seq.frames] == list(range(1, 23))
    np.testing.assert_array_equal(seq.ground_truth, fake_boxes(22))
    assert seq.object_class == "car" and seq.attributes == {"occlusion": False}
    last = bench.load("nfs_shuffleboard_5")  # annotation without a trailing newline
    assert last.num_frames == 32 and last.ground_truth.shape == (32, 4)
    assert bench.convention == "ostrack"


def test_nfs_occlusion_flag_comes_from_the_table(tmp_path):
    rows = load_table("nfs.json")["sequences"]
    occluded = [r for r in rows if r["occlusion"]][0]
    bench = get_benchmark("nfs", make_nfs(tmp_path / "nfs"))
    folder = bench.root / occluded["path"]
    for k in range(1, occluded["end_frame"] + 1):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{k:05d}.jpg").write_bytes(b"")  # existence is enough for load()
    (bench.root / occluded["anno_path"]).write_text("1\t2\t3\t4\n" * occluded["end_frame"])
    assert bench.load(occluded["name"]).attributes == {"occlusion": True}


def test_nfs_comma_annotation_fails_clearly(tmp_path):
    root = make_nfs(tmp_path / "nfs", defects=["comma_anno"])
    with pytest.raises(UserError, match=r"nfs_car_jumping\.txt:1: expected 4 TAB-separated values"):
        get_benchmark("nfs", root).load("nfs_car_jumping")


def test_nfs_original_layout_is_refused_with_one_line(tmp_path):
    root = make_nfs(tmp_path / "nfs", defects=["original_layout"])
    with pytest.raises(UserError) as err:
        get_benchmark("nfs", root).load("nfs_car_jumping")
    message = str(err.value)
    assert "original NFS download" in message and "re-packaged" in message and "\n" not in message


def test_uav123_subsequence_with_gap_and_nan_rows(tmp_path):
    root = make_uav123(tmp_path / "uav123")
    bench = get_benchmark("uav123", root)
    assert len(bench.sequence_names()) == 123
    seq = bench.load("uav_bird1_2")  # frames 775..1477 of bird1; 1..774 do not exist on disk
    assert seq.num_frames == 703 and seq.frames[0].name == "000775.jpg" and seq.frames[-1].name == "001477.jpg"
    assert frame_number(seq.frames[0]) == 775 and frame_number(seq.frames[-1]) == 1477
    assert np.isnan(seq.ground_truth[10]).all() and np.isfinite(np.delete(seq.ground_truth, 10, 0)).all()
    assert seq.object_class == "bird" and seq.attributes["folder"] == "bird1"
    assert bench.load("uav_uav6").num_frames == 109


def test_uav123_injected_table_shared_boundary_frame(tmp_path):
    table = [
        {"name": "uav_car1_1", "path": "data_seq/UAV123/car1", "start_frame": 1, "end_frame": 6, "nz": 6,
         "ext": "jpg", "anno_path": "anno/UAV123/car1_1.txt", "object_class": "car"},
        {"name": "uav_car1_2", "path": "data_seq/UAV123/car1", "start_frame": 6, "end_frame": 12, "nz": 6,
         "ext": "jpg", "anno_path": "anno/UAV123/car1_2.txt", "object_class": "car"},
    ]
    bench = UAV123(make_uav123(tmp_path / "uav", table=table), table=table)
    first, second = bench.load("uav_car1_1"), bench.load("uav_car1_2")
    assert first.frames[-1] == second.frames[0] and second.frames[0].name == "000006.jpg"
    assert second.num_frames == 7 and second.ground_truth.shape == (7, 4)


def test_uav123_rows_must_match_the_range_and_first_row_must_be_a_box(tmp_path):
    root = make_uav123(tmp_path / "uav123", defects=["gt_rows"])
    with pytest.raises(UserError, match=r"bird1_2\.txt: 703 frames but 702 ground-truth rows"):
        get_benchmark("uav123", root).load("uav_bird1_2")
    (root / "anno" / "UAV123" / "uav6.txt").write_text("NaN,NaN,NaN,NaN\n" + "1,2,3,4\n" * 108)
    with pytest.raises(UserError, match="first row is .*not a box"):
        get_benchmark("uav123", root).load("uav_uav6")


@pytest.mark.parametrize("table, prefix, count, total", [("nfs.json", "nfs_", 100, 47953),
                                                          ("uav123.json", "uav_", 123, 112578)])
def test_shipped_tables_are_consistent(table, prefix, count, total):
    rows = load_table(table)["sequences"]
    names = [r["name"] for r in rows]
    assert len(names) == len(set(names)) == count and all(n.startswith(prefix) for n in names)
    assert all(r["num_frames"] == r["end_frame"] - r["start_frame"] + 1 for r in rows)
    assert sum(r["num_frames"] for r in rows) == total


def test_nfs_non_utf8_annotation_is_a_one_line_error(tmp_path):
    root = make_nfs(tmp_path / "nfs")
    anno = root / "anno" / "nfs_car_jumping.txt"
    anno.write_bytes(b"4\t3\t10\t8\n\xff\t3\t10\t8\n")
    with pytest.raises(UserError) as err:
        get_benchmark("nfs", root).load("nfs_car_jumping")
    message = str(err.value)
    assert message.startswith(f"{anno}: cannot read (") and "0xff" in message and "\n" not in message
    report = check_benchmark(get_benchmark("nfs", root, names=FAKE_SEQUENCES["nfs"]), decode=False, progress=False)
    assert report.problems == [f"nfs_car_jumping: {message}"] and report.checked == 1 and report.frames == 32


def test_uav123_sequence_without_its_annotation_is_missing(tmp_path, capsys):
    # bird1_1 and bird1_3 share the bird1 folder that the fixture writes for bird1_2, but have no annotation
    root = make_uav123(tmp_path / "uav123")
    bench = get_benchmark("uav123", root)
    assert (root / "data_seq" / "UAV123" / "bird1").is_dir() and not bench.is_present("uav_bird1_1")
    assert bench.is_present("uav_bird1_2") and bench.is_present("uav_uav6")
    with pytest.raises(UserError, match=r"anno/UAV123/bird1_1\.txt: annotation file not found \(uav123 sequence"):
        bench.load("uav_bird1_1")
    report = check_benchmark(bench, decode=False, progress=False)
    assert len(report.problems) == 1 and report.problems[0].startswith("121 of 123 listed sequences missing: ")
    assert report.checked == 2 and report.frames == 703 + 109
    assert main(["datasets", "list", "--root", str(tmp_path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("uav123 "))
    assert "2/123" in row.split()


def test_uav123_check_has_no_notes_when_the_table_lengths_match(tmp_path):
    table = [{"name": "uav_car1_1", "path": "data_seq/UAV123/car1", "start_frame": 1, "end_frame": 6, "nz": 6,
              "ext": "jpg", "anno_path": "anno/UAV123/car1_1.txt", "object_class": "car"}]
    report = check_benchmark(UAV123(make_uav123(tmp_path / "uav", table=table), table=table), progress=False)
    assert report.ok and report.notes == [] and (report.checked, report.frames) == (1, 6)
