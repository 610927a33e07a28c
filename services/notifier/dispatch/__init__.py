"""Sending what fan-out planned: the deliveries ledger, the dispatcher and its lanes, retries and replays."""
