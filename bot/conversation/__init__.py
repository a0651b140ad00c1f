"""Conversation decisions in plain Python: what the actions decide, testable without Rasa."""
