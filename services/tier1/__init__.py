"""Tier 1: the tier engine configured as level 1."""
