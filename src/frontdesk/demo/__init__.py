"""Demo pieces shipped with the package: a fake Northwind company API for the sample bot's
actions, and signed sample identities (``python -m frontdesk.demo``)."""
