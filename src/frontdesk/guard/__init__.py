"""Input and output guardrails."""
