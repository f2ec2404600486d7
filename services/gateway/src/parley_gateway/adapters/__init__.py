"""The gateway's adapters: PostgreSQL storage and the reply notifications."""
