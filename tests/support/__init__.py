"""Helpers shared by the reliability tests (issue 9)."""
