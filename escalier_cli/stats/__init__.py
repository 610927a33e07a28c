"""`escalier stats`: KPIs replayed from `tickets.events`."""
