"""Escalier's common package: contracts (events, topics, lifecycle) and plumbing (Kafka, database)."""
