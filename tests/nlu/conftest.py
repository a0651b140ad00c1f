"""Fixtures shared by the NLU tests that need a trained model.

Tests marked ``@pytest.mark.model`` load the newest ``models/*.tar.gz`` (or the file named by
``NLU_TEST_MODEL``); deselect them with ``-m "not model"`` when no model has been trained.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_ROOT / "models"


def newest_model(models_dir: Path = MODELS_DIR) -> Path | None:
    """Return the most recently written ``*.tar.gz`` in ``models_dir``, if any."""
    candidates = sorted(models_dir.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return candidates[-1] if candidates else None


@pytest.fixture(scope="session")
def trained_model_path() -> Path:
    """Newest trained model (or ``$NLU_TEST_MODEL``); fails clearly when there is none."""
    override = os.environ.get("NLU_TEST_MODEL", "").strip()
    if override:
        if not Path(override).is_file():
            pytest.fail(f"NLU_TEST_MODEL={override} is not a file", pytrace=False)
        return Path(override).resolve()
    path = newest_model()
    if path is None:
        pytest.fail(
            f"no trained model found in {MODELS_DIR}/*.tar.gz: run `make train` first",
            pytrace=False,
        )
    return path
