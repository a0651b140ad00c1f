"""The arrears assistant's own library: plan engine, persistence, NLU components, channels.

Nothing in here imports ``actions``; the actions are thin adapters onto this package.
"""
