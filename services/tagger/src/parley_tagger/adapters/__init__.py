"""The tagger's PostgreSQL storage."""
