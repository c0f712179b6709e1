"""Tests of scheduler/adapters/instagram/."""
