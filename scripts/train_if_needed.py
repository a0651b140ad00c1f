"""Train the Rasa model only when its inputs changed.

The fingerprint is a hash of everything that shapes the model (config, domain, training data and
the custom NLU components with their dictionary); an unchanged fingerprint skips training.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "assistant.tar.gz"
FINGERPRINT = ROOT / "models" / "fingerprint.txt"
INPUTS = ["config.yml", "domain.yml", "data", "bot/nlu"]
IGNORED_SUFFIXES = {".pyc"}


def fingerprint() -> str:
    digest = hashlib.sha256()
    for entry in INPUTS:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if file.suffix in IGNORED_SUFFIXES or "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def main() -> int:
    current = fingerprint()
    if MODEL.exists() and FINGERPRINT.exists() and FINGERPRINT.read_text().strip() == current:
        print(f"model up to date: {MODEL.relative_to(ROOT)}")
        return 0
    print("training the Rasa model (inputs changed or no model yet) …", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--fixed-model-name",
        "assistant",
        "--out",
        "models",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env)
    if result.returncode != 0 or not MODEL.exists():
        print("training failed", file=sys.stderr)
        return result.returncode or 1
    FINGERPRINT.write_text(current + "\n")
    print(f"model trained: {MODEL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
