"""``parley-probe``: which port it asks, and what it answers, against real local HTTP servers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from parley_runtime.probe import candidate_ports, probe


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ports_are_the_health_port_then_the_api_port() -> None:
    assert candidate_ports({"PARLEY_HEALTH_PORT": "8080", "PARLEY_PORT": "9000"}) == [
        8080,
        9000,
        8000,
    ]
    assert candidate_ports({}) == [8000]
    assert candidate_ports({"PARLEY_HEALTH_PORT": "x", "PARLEY_PORT": "8000"}) == [8000]


def test_the_first_port_that_listens_answers(server: int) -> None:
    status, line = probe("/healthz", [_closed_port(), server])
    assert status == 200
    assert f":{server}/healthz" in line
    status, _ = probe("/readyz", [_closed_port(), server])
    assert status == 503


def test_nothing_listening_is_no_answer() -> None:
    status, line = probe("/readyz", [_closed_port()])
    assert status is None
    assert "nothing listens" in line
