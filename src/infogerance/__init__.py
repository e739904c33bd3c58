"""Infogérance: run IT outsourcing contracts end to end."""

__version__ = "0.1.0"
