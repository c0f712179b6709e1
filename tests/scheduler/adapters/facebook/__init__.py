"""Tests of scheduler/adapters/facebook/."""
