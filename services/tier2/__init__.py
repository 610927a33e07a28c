"""Tier 2: the tier engine configured as level 2."""
