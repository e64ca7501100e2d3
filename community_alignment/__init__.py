"""Tools for people who use the Community Alignment preference dataset."""

__version__ = "0.1.0"
