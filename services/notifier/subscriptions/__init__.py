"""Webhook subscriptions: an organization's standing request for signed calls about its tickets."""
