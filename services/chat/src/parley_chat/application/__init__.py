"""The chat service's use cases: answering one turn through the upstream AI."""
