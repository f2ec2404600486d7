"""Where the real conversation data is: ``<repo>/../shared/data`` unless ``PARLEY_DATA_DIR`` names
another folder. The files are read in place, never copied into the repository."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR = Path(
    os.environ.get("PARLEY_DATA_DIR") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
)
