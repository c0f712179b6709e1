"""A fake Mastodon / X / Facebook server with a ledger and fault injection (see server.py)."""

from tests.fakeplatform.server import DEFAULT_CONFIG, FakePlatform, Ledger, LedgerEntry

__all__ = ["DEFAULT_CONFIG", "FakePlatform", "Ledger", "LedgerEntry"]
