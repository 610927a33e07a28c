"""Triage: classifies every submitted ticket and routes it to its tier (Level 0's knowledge base comes later)."""
