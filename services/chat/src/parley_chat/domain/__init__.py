"""The chat service's domain: the upstream AI port and the turn ledger of a session."""
