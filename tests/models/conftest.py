"""Shared helpers for the registry tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from _registry_paths import DATA, SCRIPT


@pytest.fixture(scope="session")
def gen_registry() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_registry", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_registry"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def snapshot() -> Path:
    if not (DATA / "SOURCE.txt").is_file():
        pytest.skip(f"models.dev snapshot not present at {DATA}")
    return DATA
