"""Input channels: where cardholders' messages come in and replies go out."""
