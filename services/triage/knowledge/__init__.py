"""Level 0: the knowledge base triage indexes from `kb.articles`, searches, suggests on tickets, and counts."""
