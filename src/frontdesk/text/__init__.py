"""Text utilities shared by the answer composer and the groundedness check."""
