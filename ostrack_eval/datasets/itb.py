"""ITB, the Informative Tracking Benchmark (180 videos, 9 scenarios × 20), datasets.md §8.

``{root}/<scenario folder>/<video>/0001.jpg …`` (padding varies; sorted by integer stem) and
``groundtruth.txt`` (comma, or whitespace in some imported videos). Top-level entries whose name contains
a dot (``ITB.json``) are not scenario folders. The scenario of a video comes from ``ITB.json``'s
``scenario_name`` when present, else from its parent folder.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from ostrack_eval.datasets.base import Sequence
from ostrack_eval.datasets.common import FolderBenchmark, list_images, read_ground_truth, read_text
from ostrack_eval.errors import UserError

META_FILE = "ITB.json"


class ITB(FolderBenchmark):
    name: ClassVar[str] = "itb"
    convention: ClassVar[str] = "itb"
    title: ClassVar[str] = "ITB"
    subdirs: ClassVar[tuple[str, ...]] = ("itb",)
    table: ClassVar[str] = "itb.json"

    @cached_property
    def _videos(self) -> dict[str, Path]:
        """Every ``<scenario folder>/<video>`` on disk, by video name."""
        videos: dict[str, Path] = {}
        if not self.root.is_dir():
            return videos
        for scenario in sorted(self.root.iterdir()):
            if "." in scenario.name or not scenario.is_dir():
                continue
            for video in sorted(scenario.iterdir()):
                if not video.is_dir():
                    continue
                if video.name in videos:
                    raise UserError(f"{video}: video {video.name!r} also exists in {videos[video.name].parent}")
                videos[video.name] = video
        return videos

    @cached_property
    def _json_scenarios(self) -> dict[str, str]:
        path = self.root / META_FILE
        if not path.is_file():
            return {}
        try:
            meta = json.loads(read_text(path))
        except ValueError as exc:
            raise UserError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(meta, dict):
            return {}
        return {name: entry["scenario_name"] for name, entry in meta.items()
                if isinstance(entry, dict) and isinstance(entry.get("scenario_name"), str)}

    def validate_root(self) -> None:
        super().validate_root()
        if not any(n in self._videos for n in self._rows):
            raise UserError(f"{self.root}: no ITB videos (expected <scenario>/<video>/groundtruth.txt such as "
                            f"<scenario>/basketball-1/); give the ITB folder or its parent")

    def sequence_dir(self, name: str) -> Path:
        return self._videos.get(name, self.root / "<scenario>" / name)

    def scenario(self, name: str) -> str | None:
        if name in self._json_scenarios:
            return self._json_scenarios[name]
        video = self._videos.get(name)
        return video.parent.name if video is not None else None

    def _annotation(self, name: str) -> Sequence:
        gt = read_ground_truth(self.sequence_dir(name) / "groundtruth.txt")
        return Sequence(name=name, frames=[], ground_truth=gt, bench=self.name,
                        attributes={"scenario": self.scenario(name), "origin": self._rows[name].get("origin")})

    def _load(self, name: str) -> Sequence:
        seq = self._annotation(name)
        folder = self.sequence_dir(name)
        seq.frames = list_images(folder, (".jpg",))
        self._check_lengths(name, seq.frames, seq.ground_truth, folder)
        return seq

    def unlisted(self) -> list[str]:
        return sorted(n for n in self._videos if n not in self._rows)
