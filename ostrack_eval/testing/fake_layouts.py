"""Tiny copies of every benchmark in its real on-disk layout, for tests (spec: ``fixture_layouts.md``).

Each ``make_<bench>(root, defects=())`` writes one benchmark into the folder ``root`` (the folder you would
pass as ``--root``) and returns it; :func:`make_fake_benchmark` writes ``<data root>/<bench folder>`` so
that ``OSTRACK_EVAL_DATA=<data root>`` finds it. Real sequence names are used (two per benchmark, listed
in :data:`FAKE_SEQUENCES`), with every trap of the real data planted (see each function).

Images are 32×24 flat colours that encode the number in their file name (:func:`frame_number` decodes
it), and the box of frame ``i`` (0-based) is ``x = 4 + i, y = 3, w = 10, h = 8`` (:func:`fake_box`) unless
stated otherwise, so a test can tell which frame and which row it got.

``defects`` plants problems for ``datasets check``: ``missing_sequence`` (the second sequence is not
written), ``missing_frame`` (a middle frame of the first sequence is deleted), ``corrupt_image`` (one of
its images is truncated), ``gt_rows`` (its ground truth loses the last row), ``not_utf8`` (a byte that is
not UTF-8 in one of its annotation files: the LaSOT ``full_occlusion.txt``, the GOT-10k val ``cover.label``,
else the ground truth), plus per benchmark
``no_test_dir`` / ``not_extracted`` (TrackingNet), ``no_list`` (GOT-10k), ``original_layout`` /
``comma_anno`` (NFS). See :data:`DEFECTS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

import cv2
import numpy as np
from PIL import Image

IMAGE_SIZE = (32, 24)  # width, height

COMMON_DEFECTS = frozenset({"missing_sequence", "missing_frame", "corrupt_image", "gt_rows", "not_utf8"})
DEFECTS: dict[str, frozenset[str]] = {
    "lasot": COMMON_DEFECTS,
    "lasot_ext": COMMON_DEFECTS,
    "trackingnet": COMMON_DEFECTS | {"no_test_dir", "not_extracted"},
    "got10k": COMMON_DEFECTS | {"no_list"},
    "got10k_val": COMMON_DEFECTS | {"no_list"},
    "nfs": COMMON_DEFECTS | {"original_layout", "comma_anno"},
    "uav123": COMMON_DEFECTS,
    "tnl2k": COMMON_DEFECTS,
    "itb": COMMON_DEFECTS,
}

# The sequences each fake copy holds (real names, in the official order).
FAKE_SEQUENCES: dict[str, list[str]] = {
    "lasot": ["airplane-1", "airplane-9"],
    "lasot_ext": ["atv-1", "atv-2"],
    "trackingnet": ["-Dz7OIf54b0_0", "0-6LB4FqxoE_0"],
    "got10k": ["GOT-10k_Test_000001", "GOT-10k_Test_000002"],
    "got10k_val": ["GOT-10k_Val_000001", "GOT-10k_Val_000002"],
    "nfs": ["nfs_car_jumping", "nfs_shuffleboard_5"],
    "uav123": ["uav_bird1_2", "uav_uav6"],
    "tnl2k": ["Assian_video_Z03_done", "HaiBao_video_06-done"],
    "itb": ["basketball-1", "head-men's100"],
}


# ---- building blocks -----------------------------------------------------------------------------------

def frame_colour(number: int) -> tuple[int, int, int]:
    """The flat RGB colour that encodes ``number`` (0 ≤ number < 32768), robust to JPEG rounding."""
    return tuple(8 * ((number >> (5 * k)) & 31) + 4 for k in range(3))  # type: ignore[return-value]


def frame_number(path: str | Path) -> int:
    """Decode the number a fake frame was written with (inverse of :func:`frame_colour`)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a decodable image")
    rgb = bgr[..., ::-1].reshape(-1, 3).mean(axis=0)
    r, g, b = (int(v) // 8 for v in rgb)
    return r + 32 * g + 1024 * b


def write_frame(path: Path, number: int) -> None:
    # Test data in a fresh temporary folder that nothing reads concurrently: plain writes keep thousands
    # of tiny fixture images fast (the atomic helpers fsync every file).
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", IMAGE_SIZE, frame_colour(number)).save(path, **({"quality": 95} if path.suffix == ".jpg" else {}))


def write_text(path: Path, text: str, newline: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text.replace("\n", newline))


def fake_box(i: int) -> list[float]:
    return [4.0 + i, 3.0, 10.0, 8.0]


def fake_boxes(n: int) -> np.ndarray:
    return np.array([fake_box(i) for i in range(n)], dtype=np.float64)


def box_lines(boxes: np.ndarray, sep: str = ",") -> str:
    def fmt(v: float) -> str:
        if np.isnan(v):
            return "NaN"
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return "".join(sep.join(fmt(v) for v in row) + "\n" for row in boxes)


def _check_defects(bench: str, defects: Iterable[str]) -> frozenset[str]:
    defects = frozenset(defects)
    unknown = defects - DEFECTS[bench]
    if unknown:
        raise ValueError(f"{bench} fake layout has no defect {sorted(unknown)}; choose from {sorted(DEFECTS[bench])}")
    return defects


def _plant_frame_defects(frames: list[Path], defects: frozenset[str]) -> None:
    """``missing_frame`` deletes a middle frame; ``corrupt_image`` truncates another one."""
    if "missing_frame" in defects:
        frames[len(frames) // 2].unlink()
    if "corrupt_image" in defects:
        victim = frames[1]
        victim.write_bytes(victim.read_bytes()[:40])


def _plant_not_utf8(path: Path, defects: frozenset[str]) -> None:
    """``not_utf8``: a stray ``\\xff`` (Latin-1 'ÿ', never valid UTF-8) after the first line break, or first."""
    if "not_utf8" in defects:
        data = path.read_bytes()
        cut = data.find(b"\n") + 1
        path.write_bytes(data[:cut] + b"\xff" + data[cut:])


def _drop_last_row(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    write_text(path, "\n".join(lines[:-1]) + ("\n" if len(lines) > 1 else ""))


# ---- LaSOT / LaSOText ----------------------------------------------------------------------------------

def _lasot_sequence(folder: Path, n: int, extra_images: int, occlusion: list[int], out_of_view: list[int],
                    nlp: str, newline: str = "\n") -> list[Path]:
    frames = [folder / "img" / f"{k:08d}.jpg" for k in range(1, n + 1 + extra_images)]
    for k, path in enumerate(frames, start=1):
        write_frame(path, k)
    boxes = fake_boxes(n)
    boxes[2] = 0.0  # absent and annotated as 0,0,0,0
    write_text(folder / "groundtruth.txt", box_lines(boxes), newline)
    write_text(folder / "full_occlusion.txt", ",".join(map(str, occlusion)) + "\n")
    write_text(folder / "out_of_view.txt", ",".join(map(str, out_of_view)) + "\n")
    write_text(folder / "nlp.txt", nlp + "\n")
    return frames[:n]


def make_lasot(root: str | Path, defects: Iterable[str] = (), names: tuple[str, str] = ("airplane-1", "airplane-9"),
               bench: str = "lasot") -> Path:
    """LaSOT: ``<class>/<name>/img/0000000k.jpg``, 5 annotated frames per sequence.

    Traps: an extra ``img/00000006.jpg`` beyond the 5 GT rows (``monkey-17``: the adapter must return 5
    frames); frame 2 absent with GT ``0,0,0,0`` and ``full_occlusion = 1``; frame 4 keeps a normal box but
    ``out_of_view = 1`` (visibility comes from the flag files): ``target_visible = [T, T, F, T, F]``. Flag
    files are one comma-separated line. The second sequence uses ``\\r\\n`` line endings.
    """
    root = Path(root)
    defects = _check_defects(bench, defects)
    first, second = (root / n.split("-")[0] / n for n in names)
    cls = names[0].split("-")[0]
    frames = _lasot_sequence(first, 5, 1, [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], f"white {cls} landing on ground")
    if "missing_sequence" not in defects:
        _lasot_sequence(second, 5, 0, [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], f"{cls} moving in the sky", "\r\n")
    _plant_frame_defects(frames, defects)
    if "gt_rows" in defects:
        _drop_last_row(first / "groundtruth.txt")
    _plant_not_utf8(first / "full_occlusion.txt", defects)
    return root


def make_lasot_ext(root: str | Path, defects: Iterable[str] = ()) -> Path:
    """LaSOText: the LaSOT layout and traps with the ``atv`` class (``atv-1``, ``atv-2``)."""
    return make_lasot(root, defects, names=("atv-1", "atv-2"), bench="lasot_ext")


# ---- TrackingNet ---------------------------------------------------------------------------------------

def make_trackingnet(root: str | Path, defects: Iterable[str] = ()) -> Path:
    """TrackingNet: ``TEST/anno/<name>.txt`` (one row) and ``TEST/frames/<name>/0.jpg …`` (no padding).

    Traps: ``-Dz7OIf54b0_0`` (leading dash) has 12 frames so ``10.jpg``/``11.jpg`` test numeric order, and
    a stray ``notes.txt`` in its frames folder; the anno file has no trailing newline.
    Defects: ``no_test_dir`` puts ``anno/`` and ``frames/`` directly in ``root``; ``not_extracted`` leaves
    the first sequence as ``TEST/zips/<name>.zip`` only.
    """
    root = Path(root)
    defects = _check_defects("trackingnet", defects)
    chunk = root if "no_test_dir" in defects else root / "TEST"
    first, second = FAKE_SEQUENCES["trackingnet"]
    counts = {first: 12, second: 5}
    frames = {}
    for name in (first, second):
        if name == second and "missing_sequence" in defects:
            continue
        write_text(chunk / "anno" / f"{name}.txt", box_lines(fake_boxes(1)).rstrip("\n"))
        frames[name] = [chunk / "frames" / name / f"{k}.jpg" for k in range(counts[name])]
        for k, path in enumerate(frames[name]):
            write_frame(path, k)
    write_text(chunk / "frames" / first / "notes.txt", "not a frame\n")
    _plant_frame_defects(frames[first], defects)
    if "gt_rows" in defects:
        write_text(chunk / "anno" / f"{first}.txt", "")
    _plant_not_utf8(chunk / "anno" / f"{first}.txt", defects)
    if "not_extracted" in defects:
        (chunk / "zips").mkdir(parents=True, exist_ok=True)
        (chunk / "zips" / f"{first}.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
        for path in sorted((chunk / "frames" / first).iterdir()):
            path.unlink()
        (chunk / "frames" / first).rmdir()
    return root


# ---- GOT-10k -------------------------------------------------------------------------------------------

def make_got10k(root: str | Path, defects: Iterable[str] = ()) -> Path:
    """GOT-10k test and val: ``<split>/list.txt`` and ``<split>/<name>/0000000k.jpg`` + annotations.

    Test: ``GOT-10k_Test_000001`` (5 frames, integer box), ``…000002`` (7 frames, decimal box), and a folder
    ``…000003`` on disk but not in ``list.txt`` (must be ignored). Val: ``GOT-10k_Val_000001`` (5 frames)
    and ``…000002`` (4 frames) with ``absence.label``, ``cover.label`` (frame 2 has ``cover = 0``, frame 3
    ``absence = 1``: ``target_visible = [T, T, F, F, T]`` for the first), ``cut_by_image.label`` and a
    ``meta_info.ini`` (object class ``airplane``, ``resolution: (32, 24)``).
    Defects apply to the first sequence of both splits.
    """
    root = Path(root)
    defects = _check_defects("got10k", defects)
    test = root / "test"
    tests = FAKE_SEQUENCES["got10k"]
    for name, n, box in ((tests[0], 5, "10,20,30,40\n"), (tests[1], 7, "10.5,20.25,30.125,40.0\n"),
                         ("GOT-10k_Test_000003", 3, "1,2,3,4\n")):
        if name == tests[1] and "missing_sequence" in defects:
            continue
        for k in range(1, n + 1):
            write_frame(test / name / f"{k:08d}.jpg", k)
        write_text(test / name / "groundtruth.txt", box)
    if "no_list" not in defects:
        write_text(test / "list.txt", "\n".join(tests) + "\n")

    val = root / "val"
    vals = FAKE_SEQUENCES["got10k_val"]
    for name, n in ((vals[0], 5), (vals[1], 4)):
        if name == vals[1] and "missing_sequence" in defects:
            continue
        folder = val / name
        for k in range(1, n + 1):
            write_frame(folder / f"{k:08d}.jpg", k)
        write_text(folder / "groundtruth.txt", box_lines(fake_boxes(n)))
        absence, cover = [0] * n, [8] * n
        cover[2], absence[3] = 0, 1
        write_text(folder / "absence.label", "".join(f"{v}\n" for v in absence))
        write_text(folder / "cover.label", "".join(f"{v}\n" for v in cover))
        write_text(folder / "cut_by_image.label", "".join("0\n" for _ in range(n)))
        write_text(folder / "meta_info.ini", "[METAINFO]\nurl: https://example.invalid/video\nbegin_time: 0\n"
                   "end_time: 1\nanno_fps: 10Hz\nobject_class: airplane\nmotion_class: flying\n"
                   "major_class: aircraft\nroot_class: object\nmotion_adverb: slowly\nresolution: (32, 24)\n")
    if "no_list" not in defects:
        write_text(val / "list.txt", "\n".join(vals) + "\n")
    for split, name in ((test, tests[0]), (val, vals[0])):
        frames = sorted((split / name).glob("*.jpg"))
        _plant_frame_defects(frames, defects)
        if "gt_rows" in defects:
            _drop_last_row(split / name / "groundtruth.txt")
    _plant_not_utf8(test / tests[0] / "groundtruth.txt", defects)
    _plant_not_utf8(val / vals[0] / "cover.label", defects)
    return root


# ---- NFS -----------------------------------------------------------------------------------------------

def make_nfs(root: str | Path, defects: Iterable[str] = ()) -> Path:
    """NFS (pytracking layout): ``sequences/<Seq>/0000k.jpg`` and ``anno/nfs_<Seq>.txt`` (TAB-separated).

    The two shortest real entries, ``nfs_car_jumping`` (22 frames) and ``nfs_shuffleboard_5`` (32); the
    shuffleboard file has no trailing newline. Defects apply to ``nfs_car_jumping``: ``original_layout``
    writes the original NFS download instead (``<seq>/30/<seq>/0000k.jpg`` + ``<seq>/30/<seq>.txt`` with
    ``0 4 3 14 11 1 0 0 1 "person"`` rows); ``comma_anno`` writes the annotation comma-separated.
    """
    root = Path(root)
    defects = _check_defects("nfs", defects)
    first, second = FAKE_SEQUENCES["nfs"]
    counts = {"shuffleboard_5": 32, "car_jumping": 22}
    if "original_layout" in defects:
        for seq, n in counts.items():
            for k in range(1, n + 1):
                write_frame(root / seq / "30" / seq / f"{k:05d}.jpg", k)
            write_text(root / seq / "30" / f"{seq}.txt",
                       "".join(f'{k} {4 + k} 3 {14 + k} 11 1 0 0 1 "person"\n' for k in range(n)))
        return root
    frames = {}
    for seq, n in counts.items():
        name = f"nfs_{seq}"
        if name == second and "missing_sequence" in defects:
            continue
        frames[name] = [root / "sequences" / seq / f"{k:05d}.jpg" for k in range(1, n + 1)]
        for k, path in enumerate(frames[name], start=1):
            write_frame(path, k)
        text = box_lines(fake_boxes(n), "," if name == first and "comma_anno" in defects else "\t")
        write_text(root / "anno" / f"{name}.txt", text.rstrip("\n") if seq == "shuffleboard_5" else text)
    _plant_frame_defects(frames[first], defects)
    if "gt_rows" in defects:
        _drop_last_row(root / "anno" / f"{first}.txt")
    _plant_not_utf8(root / "anno" / f"{first}.txt", defects)
    return root


# ---- UAV123 --------------------------------------------------------------------------------------------

def make_uav123(root: str | Path, defects: Iterable[str] = (), table: list[dict[str, Any]] | None = None) -> Path:
    """UAV123: ``data_seq/UAV123/<folder>/00000k.jpg`` and ``anno/UAV123/<name>.txt`` (comma).

    Default: ``uav_bird1_2`` (frames 775..1477 of folder ``bird1``; only those images exist, so starting at
    1 or listing the folder fails) and ``uav_uav6`` (frames 1..109). Row 10 of ``uav_bird1_2`` is
    ``NaN,NaN,NaN,NaN`` (absent target). With ``table`` (rows like ``uav123.json``'s), every row's range is
    written instead, sharing folders as the rows say (images are written once per folder).
    """
    root = Path(root)
    defects = _check_defects("uav123", defects)
    if table is None:
        from ostrack_eval.datasets.tables import load_table
        by_name = {row["name"]: row for row in load_table("uav123.json")["sequences"]}
        table = [by_name[n] for n in FAKE_SEQUENCES["uav123"]]
        if "missing_sequence" in defects:
            table = table[:1]
    first = table[0]
    written: set[Path] = set()
    for row in table:
        folder = root / row["path"]
        n = row["end_frame"] - row["start_frame"] + 1
        for k in range(row["start_frame"], row["end_frame"] + 1):
            path = folder / f"{k:0{row['nz']}d}.{row['ext']}"
            if path not in written:
                write_frame(path, k)
                written.add(path)
        boxes = fake_boxes(n)
        if n > 10:
            boxes[10] = np.nan
        write_text(root / row["anno_path"], box_lines(boxes))
    frames = [root / first["path"] / f"{k:0{first['nz']}d}.{first['ext']}"
              for k in range(first["start_frame"], first["end_frame"] + 1)]
    _plant_frame_defects(frames, defects)
    if "gt_rows" in defects:
        _drop_last_row(root / first["anno_path"])
    _plant_not_utf8(root / first["anno_path"], defects)
    return root


# ---- TNL2K ---------------------------------------------------------------------------------------------

def make_tnl2k(root: str | Path, defects: Iterable[str] = ()) -> Path:
    """TNL2K: ``<name>/imgs/*``, ``groundtruth.txt`` (comma), ``language.txt``.

    ``Assian_video_Z03_done``: ``imgs/00000001.png … 00000005.png``, frame 1 absent (``0,0,0,0``), frame 3
    with a negative x; language in mixed case with trailing spaces; stray ``Thumbs.db`` and ``notes.txt``
    in ``imgs/`` (not frames). ``HaiBao_video_06-done``: ``imgs/00001.jpg … 00005.jpg``. An extra top-level
    folder ``not_a_test_sequence/`` (OSTrack would run it; the official list does not name it).
    """
    root = Path(root)
    defects = _check_defects("tnl2k", defects)
    first, second = FAKE_SEQUENCES["tnl2k"]
    frames = [root / first / "imgs" / f"{k:08d}.png" for k in range(1, 6)]
    for k, path in enumerate(frames, start=1):
        write_frame(path, k)
    boxes = fake_boxes(5)
    boxes[1] = 0.0
    boxes[3, 0] = -7.0
    write_text(root / first / "groundtruth.txt", box_lines(boxes))
    write_text(root / first / "language.txt", "The White Car Driving On The Road  \n")
    (root / first / "imgs" / "Thumbs.db").write_bytes(b"\x00thumbs")
    write_text(root / first / "imgs" / "notes.txt", "not a frame\n")
    if "missing_sequence" not in defects:
        for k in range(1, 6):
            write_frame(root / second / "imgs" / f"{k:05d}.jpg", k)
        write_text(root / second / "groundtruth.txt", box_lines(fake_boxes(5)))
        write_text(root / second / "language.txt", "a shark swimming in the sea\n")
    for k in range(1, 3):
        write_frame(root / "not_a_test_sequence" / "imgs" / f"{k:08d}.png", k)
    write_text(root / "not_a_test_sequence" / "groundtruth.txt", box_lines(fake_boxes(2)))
    _plant_frame_defects(frames, defects)
    if "gt_rows" in defects:
        _drop_last_row(root / first / "groundtruth.txt")
    _plant_not_utf8(root / first / "groundtruth.txt", defects)
    return root


# ---- ITB -----------------------------------------------------------------------------------------------

def make_itb(root: str | Path, defects: Iterable[str] = (), itb_json: dict[str, Any] | None = None) -> Path:
    """ITB: ``<scenario>/<video>/<k>.jpg`` + ``groundtruth.txt``, and ``ITB.json`` at the root.

    ``human-body/basketball-1``: ``0001.jpg … 0005.jpg``, comma GT (a name LaSOT also has).
    ``sign-logo/head-men's100``: ``1.jpg … 12.jpg`` (no padding: numeric order), whitespace-separated GT,
    apostrophe in the name. ``ITB.json`` (pysot style) gives ``scenario_name`` for ``basketball-1`` only,
    equal to its folder; pass ``itb_json`` to write another one.
    """
    root = Path(root)
    defects = _check_defects("itb", defects)
    first, second = FAKE_SEQUENCES["itb"]
    folder = root / "human-body" / first
    frames = [folder / f"{k:04d}.jpg" for k in range(1, 6)]
    for k, path in enumerate(frames, start=1):
        write_frame(path, k)
    write_text(folder / "groundtruth.txt", box_lines(fake_boxes(5)))
    if "missing_sequence" not in defects:
        other = root / "sign-logo" / second
        for k in range(1, 13):
            write_frame(other / f"{k}.jpg", k)
        write_text(other / "groundtruth.txt", box_lines(fake_boxes(12), " "))
    meta = itb_json if itb_json is not None else {
        first: {"video_dir": f"human-body/{first}", "init_rect": fake_box(0),
                "img_names": [f"human-body/{first}/{k:04d}.jpg" for k in range(1, 6)],
                "gt_rect": fake_boxes(5).tolist(), "scenario_name": "human-body"}}
    write_text(root / "ITB.json", json.dumps(meta))
    _plant_frame_defects(frames, defects)
    if "gt_rows" in defects:
        _drop_last_row(folder / "groundtruth.txt")
    _plant_not_utf8(folder / "groundtruth.txt", defects)
    return root


# ---- any benchmark -------------------------------------------------------------------------------------

MAKERS: dict[str, Callable[..., Path]] = {
    "lasot": make_lasot,
    "lasot_ext": make_lasot_ext,
    "trackingnet": make_trackingnet,
    "got10k": make_got10k,
    "got10k_val": make_got10k,
    "nfs": make_nfs,
    "uav123": make_uav123,
    "tnl2k": make_tnl2k,
    "itb": make_itb,
}


def make_fake_benchmark(bench: str, root: str | Path, defects: Iterable[str] = ()) -> Path:
    """Write the fake copy of ``bench`` into ``<root>/<its default folder>`` (``lasot/``, ``got10k/``, …) and
    return that folder; ``root`` then works as ``--root`` or as ``$OSTRACK_EVAL_DATA``."""
    if bench not in MAKERS:
        raise ValueError(f"no fake layout for {bench!r}; choose from {', '.join(MAKERS)}")
    from ostrack_eval.datasets import BENCHMARKS

    return MAKERS[bench](Path(root) / BENCHMARKS[bench].subdirs[0], defects)
