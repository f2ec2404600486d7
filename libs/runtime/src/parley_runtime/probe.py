"""``parley-probe``: a container health check that needs no curl.

Asks ``GET /readyz`` (or the path given as the first argument, e.g. ``/healthz``) of the service
running in this container, on 127.0.0.1. A worker serves its health endpoints on
``PARLEY_HEALTH_PORT`` and the gateway on ``PARLEY_PORT``: the probe tries them in that order and
the first port that accepts the connection answers. Exit status 0 when it answers 200, else 1.
"""

from __future__ import annotations

import http.client
import os
import sys

#: Seconds to wait for a connection and for the answer.
TIMEOUT_S = 3.0


def candidate_ports(environ: dict[str, str] | os._Environ[str]) -> list[int]:
    """The ports to try, in order: ``PARLEY_HEALTH_PORT``, ``PARLEY_PORT``, then 8000."""
    ports: list[int] = []
    for name in ("PARLEY_HEALTH_PORT", "PARLEY_PORT"):
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) not in ports:
            ports.append(int(value))
    if 8000 not in ports:
        ports.append(8000)
    return ports


def probe(path: str, ports: list[int], host: str = "127.0.0.1") -> tuple[int | None, str]:
    """GET ``path`` on the first of ``ports`` that accepts a connection.

    Returns the status (None when no port accepted) and a line saying what happened.
    """
    for port in ports:
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        try:
            conn.request("GET", path)
            status = conn.getresponse().status
        except ConnectionRefusedError:
            continue
        except OSError as exc:
            return None, f"{host}:{port}{path}: {exc}"
        finally:
            conn.close()
        return status, f"{host}:{port}{path}: {status}"
    return None, f"nothing listens on {host} ports {ports}"


def main() -> None:
    """Entrypoint: exit 0 when the service's ready (or given) endpoint answers 200."""
    path = sys.argv[1] if len(sys.argv) > 1 else "/readyz"
    status, line = probe(path, candidate_ports(os.environ))
    print(line)
    sys.exit(0 if status == 200 else 1)


if __name__ == "__main__":
    main()
