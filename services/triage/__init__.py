"""Triage: Level 0 (the knowledge base, suggestions, deflection) and the routing of every submitted ticket."""
