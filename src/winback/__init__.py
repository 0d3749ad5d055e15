"""Winback: win back lapsed customers and catch the ones about to leave."""

__version__ = "0.1.0"
