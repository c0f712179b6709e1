"""Tests of scheduler/adapters/mastodon/."""
