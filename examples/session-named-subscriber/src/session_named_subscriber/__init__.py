"""An example subscriber of Parley's ``session.named`` events (see README.md)."""

from .app import build_subscriber, parse_named

__all__ = ["build_subscriber", "parse_named"]
