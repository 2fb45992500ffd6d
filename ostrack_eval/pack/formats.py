"""What each evaluation server expects in a submission zip (datasets.md §9), as data."""

from __future__ import annotations

from dataclasses import dataclass

from ostrack_eval.datasets.tables import table_rows
from ostrack_eval.errors import UserError
from ostrack_eval.utils.text import listing


@dataclass(frozen=True)
class ServerFormat:
    """Member naming of one server's submission zip.

    GOT-10k: ``<seq>/<seq>_001.txt`` (``_002``/``_003`` optional) and ``<seq>/<seq>_time.txt``;
    TrackingNet: ``<seq>.txt`` flat at the zip root, no time files. Box files are comma-separated.
    """

    bench: str
    sequence_table: str  # package data file holding the official sequence list
    folder_per_sequence: bool
    time_files: bool
    max_repetitions: int

    def box_member(self, seq: str, rep: int = 1) -> str:
        if self.folder_per_sequence:
            return f"{seq}/{seq}_{rep:03d}.txt"
        return f"{seq}.txt"

    def time_member(self, seq: str) -> str:
        if not self.time_files:
            raise ValueError(f"{self.bench} submissions have no time files")
        return f"{seq}/{seq}_time.txt"

    def official_names(self) -> list[str]:
        """The complete test list the server scores (the packaged copy of ``sequences/*.json``)."""
        return [row["name"] for row in table_rows(self.sequence_table)]


GOT10K = ServerFormat("got10k", "got10k_test.json", folder_per_sequence=True, time_files=True, max_repetitions=3)
TRACKINGNET = ServerFormat("trackingnet", "trackingnet.json", folder_per_sequence=False, time_files=False,
                           max_repetitions=1)

# bench name -> submission format; the bench name is also the results sub-folder the runner writes to.
SERVER_FORMATS: dict[str, ServerFormat] = {f.bench: f for f in (GOT10K, TRACKINGNET)}


def get_format(bench: str) -> ServerFormat:
    try:
        return SERVER_FORMATS[bench]
    except KeyError:
        raise UserError(f"no evaluation server for bench {bench!r}; packable: {', '.join(SERVER_FORMATS)}") from None


def select_names(fmt: ServerFormat, names: list[str] | None) -> list[str]:
    """The official list, or the requested subset of it (in the given order); unknown names are an error."""
    official = fmt.official_names()
    if names is None:
        return official
    if not names:
        raise UserError("no sequences selected")
    known = set(official)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"{len(unknown)} name(s) not in the official {fmt.bench} test list: {listing(unknown)}")
    return list(dict.fromkeys(names))
