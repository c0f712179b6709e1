"""Tests of scheduler/adapters/bluesky/."""
