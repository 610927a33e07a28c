"""Kafka plumbing written once: producer, topics, consumer runner, outbox relay, inbox guard."""
