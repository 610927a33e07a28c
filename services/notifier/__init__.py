"""Notifier: tells requesters and ops of every public fact of a ticket (webhooks, live stream)."""
