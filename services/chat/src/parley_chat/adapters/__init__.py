"""The chat service's adapters: upstream AI providers and PostgreSQL storage."""
