"""The tagger's domain: the session tag format."""
