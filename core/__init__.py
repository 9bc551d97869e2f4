"""The vocabulary every layer shares: the neutral error base, units of time and durations.

The bottom layer: it imports nothing of commitopt's.
"""
