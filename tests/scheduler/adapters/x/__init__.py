"""Tests of scheduler/adapters/x/."""
