"""Nextdoor for public agencies: sending (adapter.py) and connecting (connect.py)."""
