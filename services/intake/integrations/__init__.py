"""Integrations: monitoring systems of an organization, their API keys, and their de-duplicated alerts (POST /events)."""
