"""``python -m parley_namer.evaluation FILE [--limit N] [--sample 40] [--seed S] [--json]
[--namer offline | --namer llm --model M [--models-file F]]``: the command behind
``parley names eval``. With ``llm`` the model's calls, tokens and fallbacks are reported too."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import structlog

from parley_namer.adapters.extractive import ExtractiveNamer
from parley_namer.adapters.language import LinguaDetector
from parley_namer.adapters.segmenters import Segmenters
from parley_namer.adapters.yake_keyphrases import YakeKeyphrases
from parley_namer.domain.policy import Namer

from .llm import BlockingNamer, llm_namer
from .reading import BadLine, read_conversations
from .report import as_json, measures, name_all, render, sample

NAMERS: dict[str, Callable[[], Namer]] = {"offline": ExtractiveNamer}
"""The namers that can be evaluated, by the name ``--namer`` takes (and ``llm``)."""


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, name the file's conversations and print the report; 0 on success,
    2 when the file cannot be read."""
    parser = argparse.ArgumentParser(
        prog="parley names eval", description="Name every conversation of a file and measure it."
    )
    parser.add_argument("file", type=Path, help="ShareGPT-style or prompt-per-line JSON lines")
    parser.add_argument("--limit", type=int, default=None, help="first N conversations only")
    parser.add_argument("--sample", type=int, default=40, help="names to list for reading (40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample (0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--namer", choices=[*sorted(NAMERS), "llm"], default="offline", help="(offline)"
    )
    parser.add_argument("--model", help="with --namer llm: the catalogue model that names")
    parser.add_argument("--models-file", type=Path, default=None, help="the model catalogue")
    args = parser.parse_args(argv)
    llm: BlockingNamer | None = None
    if args.namer == "llm":
        if not args.model:
            parser.error("--namer llm needs --model (a model of the catalogue)")
        try:
            llm = llm_namer(args.model, args.models_file)
        except (OSError, ValueError) as exc:
            print(f"parley names eval: {exc}", file=sys.stderr)
            return 2
    namer: Namer = llm or NAMERS[args.namer]()
    try:
        conversations = read_conversations(args.file, args.limit)
        words = YakeKeyphrases().function_words
        rows = name_all(conversations, namer, LinguaDetector(), words, Segmenters())
    except (OSError, BadLine, UnicodeDecodeError) as exc:
        print(f"parley names eval: {args.file}: {exc}", file=sys.stderr)
        return 2
    finally:
        if llm is not None:
            llm.close()
    result = {"file": str(args.file), "namer": args.namer, **measures(rows)}
    if llm is not None:
        result |= {"model": args.model, **llm.costs()}
    picked = sample(rows, args.sample, args.seed)
    if args.json:
        print(json.dumps(as_json(result, picked, rows), ensure_ascii=False, indent=2))
    else:
        print(render(result, picked, rows))
    return 0


if __name__ == "__main__":
    # The report is the output: this process logs to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    sys.exit(main())
