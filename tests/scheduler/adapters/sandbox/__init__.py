"""Tests of scheduler/adapters/sandbox/."""
