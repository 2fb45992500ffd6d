"""Frames decoded ahead of the tracker on a background thread.

OpenCV releases the GIL while decoding, so reading frame i+1 overlaps tracking frame i. The queue is
bounded so a fast decoder never holds more than a few frames in memory. Images are read as pytracking
reads them: ``cv2.imread`` in colour, then BGR -> RGB.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np


class FrameError(Exception):
    """A frame could not be read; the message names the file and the cause."""


def read_rgb(path: Path) -> np.ndarray:
    if not Path(path).is_file():
        raise FrameError(f"{path}: frame file not found")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{path}: cannot decode image (corrupt or unsupported file)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


_END = object()


class FramePrefetcher:
    """Iterate over decoded RGB frames; a decoding error is raised at the frame it belongs to.

    Use as a context manager so the thread stops when the consumer gives up early.
    """

    def __init__(self, paths: list[Path], depth: int = 8):
        self._paths = list(paths)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="frame-decoder", daemon=True)
        self._started = False

    def __enter__(self) -> "FramePrefetcher":
        self._thread.start()
        self._started = True
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._started:
            # unblock a producer waiting on a full queue
            while self._thread.is_alive():
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    self._thread.join(timeout=0.05)

    def __iter__(self) -> Iterator[np.ndarray]:
        if not self._started:
            raise RuntimeError("use FramePrefetcher as a context manager")
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        for path in self._paths:
            if self._stop.is_set():
                return
            try:
                item = read_rgb(path)
            except FrameError as exc:
                self._put(exc)
                return
            except Exception as exc:  # OpenCV raises cv2.error on some truncated files
                self._put(FrameError(f"{path}: cannot decode image ({exc})"))
                return
            if not self._put(item):
                return
        self._put(_END)
