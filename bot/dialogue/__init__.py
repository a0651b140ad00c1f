"""Rasa dialogue-policy components of the product."""
