"""One process starting the way replicas do: ``python migrator.py DATABASE_URL FIRST``.

It prepares the database of every service (database, schema, migrations), beginning with the
service at index ``FIRST`` so that processes started together meet on different schemas too,
and prints what it applied as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys

SERVICES = ("gateway", "chat", "namer", "tagger")


async def main(database_url: str, first: int) -> None:
    """Build each service with ``database_url`` and run its start-up database preparation."""
    from parley_chat.app import build as build_chat
    from parley_chat.settings import ChatSettings
    from parley_gateway.app import build as build_gateway
    from parley_gateway.settings import GatewaySettings
    from parley_namer.app import build as build_namer
    from parley_namer.settings import NamerSettings
    from parley_tagger.app import build as build_tagger
    from parley_tagger.settings import TaggerSettings

    builders = {
        "gateway": lambda: build_gateway(GatewaySettings(database_url=database_url)),
        "chat": lambda: build_chat(ChatSettings(database_url=database_url, upstream="echo")),
        "namer": lambda: build_namer(NamerSettings(database_url=database_url)),
        "tagger": lambda: build_tagger(TaggerSettings(database_url=database_url)),
    }
    applied: dict[str, list[str]] = {}
    for name in SERVICES[first:] + SERVICES[:first]:
        service, _ = builders[name]()
        applied[name] = await service.prepare_database()
    print(json.dumps(applied))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
