"""Tests of scheduler/adapters/webhook/."""
