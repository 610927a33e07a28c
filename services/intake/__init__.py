"""Intake: accepts submissions and keeps the requester's view of every ticket."""
