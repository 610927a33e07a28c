"""The tier engine shared by tier1, tier2 and tier3: `work` (the queue, claim, comment, resolve, escalate, SLA
alarms) and `kb` (the articles tier 2 and tier 3 write), wired in `main`."""
