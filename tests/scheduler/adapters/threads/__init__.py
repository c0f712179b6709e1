"""Tests of scheduler/adapters/threads/."""
