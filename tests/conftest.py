from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REF = FIXTURES / "ostrack_reference"
SMALL_YAML = FIXTURES / "ostrack_small" / "small_ce.yaml"
SMALL_CKPT = REF / "small_ce.pth.tar"


@pytest.fixture(scope="session")
def ref_dir() -> Path:
    return REF
