"""Triage's quality commands: how well it classifies, routes and finds articles (`evaluate`), and what
its decision costs a ticket (`measure`). Run by hand and by the quality tests, never by the service."""
