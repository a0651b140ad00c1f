"""Handing conversations to people: the case queue, the outbox and specialists' availability.

Plain Python over the store; the console, the channels and the actions all go through here.
"""
