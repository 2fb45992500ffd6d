"""Memory and time of ``pack --check`` on zip bombs (bounded reading, :mod:`ostrack_eval.pack.limits`).

Each bomb is written without ever holding its expanded data: one deflate block is compressed once after
a full flush (so it does not depend on what came before) and repeated. Cases:

- ``zeros``: one GOT-10k box file expanding to 1 GiB of zero bytes (no line breaks);
- ``rows``: one box file of ~3.9 GiB of valid ``0,0,1,1`` rows;
- ``many``: 180 box files of 1 GiB of rows each (every official GOT-10k test sequence);
- ``members``: a member list naming 200,000 files (``zipfile`` would read it whole).

Every case runs ``ostrack-eval pack --check`` in a fresh process (no dataset, so frame counts are unknown,
the worst case) and reports its wall time and how far its peak RSS rose above the RSS after the imports.

    python bench/bench_zip_bombs.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

GIB = 1 << 30
CHUNK = 1 << 20


def _deflate_repeated(block: bytes, times: int) -> tuple[bytes, int]:
    """Raw deflate data of ``block * times`` and its CRC, compressing ``block`` once."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty final block
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    return body * times + tail, crc


def write_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """A zip of already-deflated members ``(name, data, crc, uncompressed size)`` (sizes < 4 GiB)."""
    central = []
    with open(path, "wb") as fh:
        for name, data, crc, size in members:
            offset = fh.tell()
            raw = name.encode()
            fh.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(raw), 0))
            fh.write(raw + data)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size,
                                       len(raw), 0, 0, 0, 0, 0, offset) + raw)
        start = fh.tell()
        cd = b"".join(central)
        fh.write(cd)
        fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), start, 0))


def fake_member_list(path: Path, count: int) -> None:
    """A zip whose end record claims ``count`` members (the list itself is never read by the check)."""
    # zip64 record + locator announcing the real count
    with open(path, "wb") as fh:
        zip64_at = 0
        fh.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, count * 60, 0))
        fh.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1))
        fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))


def seq(i: int) -> str:
    return f"GOT-10k_Test_{i:06d}"


def build(case: str, folder: Path) -> Path:
    path = folder / f"{case}.zip"
    if case == "zeros":
        data, crc = _deflate_repeated(bytes(CHUNK), GIB // CHUNK)
        write_zip(path, [(f"{seq(1)}/{seq(1)}_001.txt", data, crc, GIB)])
    elif case == "rows":
        row_block = b"0,0,1,1\n" * (CHUNK // 8)
        times = (4 * GIB - CHUNK) // CHUNK - 16
        data, crc = _deflate_repeated(row_block, times)
        write_zip(path, [(f"{seq(1)}/{seq(1)}_001.txt", data, crc, times * CHUNK)])
    elif case == "many":
        row_block = b"0,0,1,1\n" * (CHUNK // 8)
        data, crc = _deflate_repeated(row_block, GIB // CHUNK)
        write_zip(path, [(f"{seq(i)}/{seq(i)}_001.txt", data, crc, GIB) for i in range(1, 181)])
    elif case == "members":
        fake_member_list(path, 200_000)
    return path


MEASURE = """
import json, resource, sys, time
from ostrack_eval.cli.main import main
import ostrack_eval.pack.check, ostrack_eval.pack.limits
def rss_mb():
    with open('/proc/self/statm') as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
before = rss_mb()
start = time.perf_counter()
rc = main(['pack', '--check', sys.argv[1], '--bench', 'got10k'])
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'rc': rc, 'seconds': seconds, 'rss_before_mb': before, 'peak_mb': peak}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="write the zips here and keep them")
    ap.add_argument("--cases", default="zeros,rows,many,members")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "OSTRACK_EVAL_DATA"}  # no dataset: frames unknown
        print("| case | zip size | expands to | exit | time | peak RSS above start |")
        print("|---|---|---|---|---|---|")
        for case in args.cases.split(","):
            path = build(case, folder)
            proc = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                                  cwd=tmp, env=env)
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            expands = {"zeros": "1 GiB", "rows": "3.98 GiB", "many": "180 GiB", "members": "200,000 members"}[case]
            print(f"| {case} | {path.stat().st_size / 2**20:.2f} MiB | {expands} | {out['rc']} | "
                  f"{out['seconds']:.2f} s | +{out['peak_mb'] - out['rss_before_mb']:.1f} MB |")
            reason = [line for line in (proc.stdout + proc.stderr).splitlines()[:-1] if "problem" in line
                      or "error" in line or "not checked" in line][:2]
            print(f"<!-- {case}: {' / '.join(reason)[:300]} -->")


if __name__ == "__main__":
    main()
