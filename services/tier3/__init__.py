"""Tier 3: the tier engine configured as level 3."""
