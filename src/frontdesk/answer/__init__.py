"""Answer composition: extractive answers quoted from the retrieved passages."""
