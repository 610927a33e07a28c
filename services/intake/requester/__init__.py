"""The requester's side: their view of each ticket (projected from `tickets.events`) and what they do with it."""
