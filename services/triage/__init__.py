"""Triage: Level 0 (the knowledge base, suggestions, deflection) and the routing of every submitted ticket.

One subpackage per feature, each with the same few rooms (`api`, `handlers`, `domain`, `models`,
`schemas`) where it has them:

- `routing/`: classify and route a ticket (the rules in `routing/rules.yaml`, `route_ticket`,
  `POST /classify`, `GET /rules`);
- `knowledge/`: the level-0 knowledge base (its index, search, suggestions, deflection counts,
  the starter articles, `/kb/...`);
- `evaluation/`: the quality and cost commands, run by hand and by the tests.

At the top stay what the features share: the wiring (`main`, `subscribers`), `settings`,
`permissions`, `text` (the matching form both read), `models` (every table, for the migrations).
"""
