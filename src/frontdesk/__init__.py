"""Frontdesk: a self-hostable customer-support chatbot platform."""

__version__ = "0.1.0"
