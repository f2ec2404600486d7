"""The tagger's use cases: tagging sessions, recording replies as traces, answering trace queries."""
