-- One database per service: no service reads another's tables (DESIGN.md).
-- Run by the postgres image's entrypoint once, when its data volume is first
-- initialised, as POSTGRES_USER, who therefore owns them. To apply a change to
-- this file, remove the volume (`docker compose down -v`).
CREATE DATABASE intake;
CREATE DATABASE triage;
CREATE DATABASE tier1;
CREATE DATABASE tier2;
CREATE DATABASE tier3;
CREATE DATABASE notifier;
