"""The chat turn: orchestration, prompt assembly and citations."""
