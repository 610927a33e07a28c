"""SLA contracts and clocks: plain Python, no I/O but reading the contracts file.

Part of the contract between services: intake shows the clocks the tiers run,
so both compute them with this code from the same events.
"""
