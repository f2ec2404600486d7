"""The gateway's domain rules: pure functions, no transport or storage."""
