"""Conversation memory: the store, migrations, the token window and summaries."""
