"""Routing: every submitted ticket classified by the rules in force, given a priority, and handed to its tier."""
