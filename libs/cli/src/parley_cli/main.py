"""``parley``: the command line of the project.

* ``parley run`` — the dev runner: servers (embedded unless named), the four services, the gateway
  on 127.0.0.1:8000; Ctrl-C stops everything.
* ``parley bench`` — the pipeline benchmark (latency, throughput, time to name and tag).
* ``parley replay FILE`` — drive a running gateway with the real user turns of a conversations
  file and print how each session was named and tagged.
* ``parley overhead`` — the chat service's overhead per reply (upstream's last byte to the reply
  visible at the gateway) for each provider, against the fake upstream at zero latency.
* ``parley asyncapi`` — write the AsyncAPI 3.0 document of the events (docs/asyncapi.yaml).
* ``parley names eval FILE`` — name every conversation of a file with a namer and print the
  measures of the names (words, generic, language, verbatim prefixes, latency) and a sample.
* ``parley fake-upstream --port N`` — the fake upstream AI server (Gemini, OpenAI, chat
  completions and session-http wire formats) for offline runs and tests.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["names", "eval"]:
        from .names import run_names_eval

        return run_names_eval(argv[2:])
    parser = argparse.ArgumentParser(prog="parley", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start servers and the four services (dev)")
    run.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".parley"),
        help="where embedded NATS and PostgreSQL keep their data (default .parley)",
    )
    run.add_argument("--port", type=int, default=8000, help="gateway port (default 8000)")
    run.add_argument(
        "--free-ports",
        action="store_true",
        help="serve the workers' health endpoints on free ports, not 8081-8083",
    )
    run.add_argument(
        "--replicas", type=int, default=1, help="processes per worker service (default 1)"
    )

    bench = commands.add_parser("bench", help="benchmark the pipeline over HTTP")
    bench.add_argument(
        "--base-url",
        default=None,
        help="a running gateway (default: start the stack with embedded servers)",
    )
    bench.add_argument("--sessions", type=int, default=200, help="sessions (200)")
    bench.add_argument("--messages", type=int, default=3, help="messages per session (3)")
    bench.add_argument("--concurrency", type=int, default=16, help="sessions at once (16)")
    bench.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open load: messages per second, whatever the replies do (default: closed load)",
    )
    bench.add_argument(
        "--warmup", type=int, default=16, help="sessions run first and not measured (16)"
    )
    bench.add_argument("--replicas", type=int, default=1, help="processes per worker service (1)")
    bench.add_argument("--json", action="store_true", help="print the report as JSON")
    bench.add_argument(
        "--reads",
        action="store_true",
        help="time list/get/history for one user with 10,000 sessions and 100,000 messages",
    )
    bench.add_argument(
        "--database-url", default=None, help="the running gateway's database (with --reads)"
    )
    bench.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="record each service process with py-spy while measuring; flame graphs DIR/*.svg",
    )

    replay = commands.add_parser("replay", help="replay real conversations through the gateway")
    replay.add_argument("file", type=Path, help="conversations file (ShareGPT JSON lines)")
    replay.add_argument("--limit", type=int, default=50, help="conversations to replay (50)")
    replay.add_argument("--turns", type=int, default=3, help="user turns per conversation (3)")
    replay.add_argument("--base-url", default="http://127.0.0.1:8000", help="the gateway")
    replay.add_argument("--concurrency", type=int, default=8, help="sessions at once (8)")
    replay.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds to wait for each reply and for each name and tag (60)",
    )
    replay.add_argument("--user", default="replay", help="the user id the sessions belong to")
    replay.add_argument(
        "--model", default=None, help="the model of every session (default: the gateway's)"
    )

    overhead = commands.add_parser(
        "overhead", help="chat overhead per reply against the fake upstream (zero latency)"
    )
    overhead.add_argument("--sessions", type=int, default=30, help="sessions per model (30)")
    overhead.add_argument("--messages", type=int, default=3, help="messages per session (3)")
    overhead.add_argument("--concurrency", type=int, default=8, help="sessions at once (8)")

    names = commands.add_parser("names", help="session names: `parley names eval FILE --help`")
    names.add_subparsers(dest="names_command", required=True).add_parser(
        "eval", help="name every conversation of a file and measure the names"
    )

    fake = commands.add_parser("fake-upstream", help="serve the fake upstream AI (offline)")
    fake.add_argument("--port", type=int, default=8090, help="port on 127.0.0.1 (8090)")
    fake.add_argument("--delay", type=float, default=0.0, help="seconds before each answer (0)")

    contract = commands.add_parser("asyncapi", help="write the AsyncAPI document of the events")
    contract.add_argument(
        "--output", type=Path, default=Path("docs/asyncapi.yaml"), help="(docs/asyncapi.yaml)"
    )
    contract.add_argument("--prefix", default="parley", help="subject prefix (parley)")
    contract.add_argument("--stream", default="PARLEY", help="stream name (PARLEY)")
    contract.add_argument(
        "--check", action="store_true", help="exit 1 if the file is not up to date; write nothing"
    )

    args = parser.parse_args(argv)
    if args.command == "asyncapi":
        from .asyncapi import write_asyncapi

        return write_asyncapi(args.output, args.prefix, args.stream, check=args.check)
    if args.command == "overhead":
        from .overhead import run_overhead

        return run_overhead(
            sessions=args.sessions, messages=args.messages, concurrency=args.concurrency
        )
    if args.command == "fake-upstream":
        import uvicorn

        from .fake_upstream import FakeState, build_app

        state = FakeState()
        state.delay_s = args.delay
        print(
            f"fake upstream on http://127.0.0.1:{args.port} (control: /_fake/requests, /_fake/fail)"
        )
        uvicorn.run(build_app(state), host="127.0.0.1", port=args.port, log_level="warning")
        return 0
    if args.command == "run":
        from .devrun import run_stack

        return run_stack(
            data_dir=args.data_dir,
            port=args.port,
            free_ports=args.free_ports,
            replicas=args.replicas,
        )
    if args.command == "bench":
        from .bench import run_bench
        from .load import Load

        load = Load(args.sessions, args.messages, args.concurrency, args.rate)
        return run_bench(
            base_url=args.base_url,
            load=load,
            warmup=args.warmup,
            replicas=args.replicas,
            as_json=args.json,
            reads=args.reads,
            database_url=args.database_url,
            profile_dir=args.profile,
        )
    import httpx

    from .replay import replay_file

    try:
        return asyncio.run(
            replay_file(
                args.file,
                limit=args.limit,
                turns=args.turns,
                base_url=args.base_url,
                concurrency=args.concurrency,
                timeout_s=args.timeout,
                user_id=args.user,
                model=args.model,
            )
        )
    except httpx.ConnectError as exc:
        print(f"no gateway answers at {args.base_url} ({exc}); start one with `make run`", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
