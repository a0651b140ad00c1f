"""The off-script conversation suite (issue 15): conversations as data and their runner."""
