"""Trunkline: telephony control plane for AI voice and chat agents."""

__version__ = "0.1.0"
