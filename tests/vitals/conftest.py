"""Fixtures for the vitals tests: the sibling ``shared/data`` sets and the demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.demo import write_demo_vitals

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _shared(name: str) -> Path:
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"shared data {folder} not present")
    return folder


@pytest.fixture(scope="session")
def mortality_2012_dir() -> Path:
    return _shared("physionet2012_mortality")


@pytest.fixture(scope="session")
def sepsis_2019_dir() -> Path:
    return _shared("physionet2019_sepsis")


@pytest.fixture(scope="session")
def demo_paths(tmp_path_factory) -> dict:
    return write_demo_vitals(tmp_path_factory.mktemp("demo_vitals"), seed=0)
