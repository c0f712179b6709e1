"""Sandbox: the built-in demo platform (adapter.py); channels are made by seed_demo and the admin, not connected."""
