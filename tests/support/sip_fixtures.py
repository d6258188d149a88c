"""Pytest fixtures for real SIP peers (filled in by the SIP library work)."""
