"""Working tickets at a tier: the queue, claim, comment, request information, resolve, escalate, and the SLA alarms."""
