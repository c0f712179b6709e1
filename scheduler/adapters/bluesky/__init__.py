"""Bluesky: sending (adapter.py), connecting (connect.py) and its connect forms (forms.py)."""
