"""The tier engine shared by tier1, tier2 and tier3: queue, claim, comment, resolve, escalate."""
