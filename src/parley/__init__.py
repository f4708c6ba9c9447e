"""Parley: self-hosted live chat between a business and its customers, and among its staff."""

__version__ = "0.1.0"
