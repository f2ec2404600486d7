"""``parley names eval FILE ...``: the namer service's evaluation, run as its own process.

The command line may not import a service (the import contract "Services never import each
other"), so it starts ``python -m parley_namer.evaluation`` with the same interpreter and
arguments, and returns its exit code. The options are the evaluation's own (``--limit``,
``--sample``, ``--seed``, ``--json``, ``--namer``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

EVALUATION_MODULE = "parley_namer.evaluation"


def run_names_eval(args: list[str]) -> int:
    """Run the evaluation with ``args`` (the file and options), its output on this process's
    streams; returns its exit code, or 2 when the namer service is not installed here."""
    if importlib.util.find_spec("parley_namer") is None:
        print(
            "parley names eval: the namer service (parley-namer) is not installed", file=sys.stderr
        )
        return 2
    return subprocess.call([sys.executable, "-m", EVALUATION_MODULE, *args])
