"""Escalier's services: each its own process, database, consumer group and HTTP API."""
