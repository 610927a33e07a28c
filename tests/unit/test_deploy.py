"""docker-compose.yml, the Prometheus configuration and the Grafana dashboard, checked without an engine.

`docker compose config` (or Debian's `docker-compose config`) runs where the CLI is installed;
the YAML is read and checked everywhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

import services.notifier.dispatch.dispatcher  # noqa: F401 (registers its metrics)
import services.tiers.work.metrics  # noqa: F401
import shared.messaging.metrics  # noqa: F401
from escalier_cli.system import SERVICES
from tests.tools import tool

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = ROOT / "docker-compose.yml"
KAFKA3_ENV = DEPLOY / "kafka3.env"


def compose_cli() -> list[str] | None:
    """`docker compose` if the plugin answers, else `docker-compose`, else None."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def env_file() -> dict[str, str]:
    lines = [line.split("=", 1) for line in KAFKA3_ENV.read_text().splitlines() if line and not line.startswith("#")]
    return {k: v for k, v in lines}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.mark.parametrize("extra", [[], ["--env-file", str(KAFKA3_ENV)], ["--profile", "observability"]])
def test_the_compose_cli_accepts_the_file_alone_with_three_brokers_and_with_observability(extra, tmp_path):
    cli = compose_cli() or [tool("docker-compose")]  # skips (fails in CI) naming the install; YAML checks below run
    result = subprocess.run([*cli, "-f", str(COMPOSE), "-p", "escalier", *extra, "config"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert {"kafka", "postgres", *SERVICES} <= set(resolved["services"])
    if "--env-file" in extra:
        assert resolved["services"]["tier1"]["environment"]["ESCALIER_TOPIC_REPLICATION"] == "3"
        assert resolved["services"]["kafka-3"]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3


def _host_ip(port) -> str:
    """The host address of a published port, short syntax (`ip:host:container[/proto]`) or long."""
    return port.get("host_ip", "") if isinstance(port, dict) else str(port).rsplit(":", 2)[0]


def test_every_published_port_is_on_loopback_unless_escalier_bind_address_says_otherwise(compose):
    for name, service in compose["services"].items():
        expected = "${ESCALIER_BIND_ADDRESS:-127.0.0.1}" if name in SERVICES else "127.0.0.1"
        assert service.get("ports") is None or {_host_ip(p) for p in service["ports"]} == {expected}, name


@pytest.mark.parametrize("bind", [None, "0.0.0.0"])
def test_the_compose_cli_publishes_the_services_where_escalier_bind_address_says_and_the_rest_on_loopback(bind):
    cli = compose_cli() or [tool("docker-compose")]
    env = {k: v for k, v in os.environ.items() if k != "ESCALIER_BIND_ADDRESS"} | ({"ESCALIER_BIND_ADDRESS": bind} if bind else {})
    result = subprocess.run([*cli, "-f", str(COMPOSE), "-p", "escalier", "--profile", "observability", "config"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    published = {name: {_host_ip(p) for p in service.get("ports", [])}
                 for name, service in yaml.safe_load(result.stdout)["services"].items()}
    assert all(published[name] == {bind or "127.0.0.1"} for name in SERVICES), published
    assert all(hosts <= {"127.0.0.1"} for name, hosts in published.items() if name not in SERVICES), published


def test_one_image_runs_the_six_services_each_with_its_database_and_a_readiness_healthcheck(compose):
    services = compose["services"]
    databases = set(re.findall(r"CREATE DATABASE (\w+);", (DEPLOY / "postgres-init.sql").read_text()))
    for name, port in SERVICES.items():
        service = services[name]
        assert service["image"] == "escalier:latest" and service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert service["command"] == ["python", "-m", f"services.{name}"]
        env = service["environment"]
        assert env[f"ESCALIER_{name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{name}") and name in databases
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(service["healthcheck"]["test"])
        assert set(service["depends_on"]) == {"kafka", "postgres"}
    assert "healthcheck" in services["postgres"] and all("healthcheck" in services[k] for k in ("kafka", "kafka-2", "kafka-3"))


def test_the_kafka3_profile_has_three_kraft_brokers_and_the_env_file_sets_replication_three(compose):
    services = compose["services"]
    brokers = {n: s for n, s in services.items() if s.get("image", "").startswith("apache/kafka:")}
    assert set(brokers) == {"kafka", "kafka-2", "kafka-3"}
    assert "profiles" not in brokers["kafka"] and all(brokers[n]["profiles"] == ["kafka3"] for n in ("kafka-2", "kafka-3"))
    assert sorted(b["environment"]["KAFKA_NODE_ID"] for b in brokers.values()) == [1, 2, 3]
    assert all(b["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller" for b in brokers.values())
    env = env_file()
    assert env["COMPOSE_PROFILES"].split(",")[0] == "kafka3"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    assert (env["ESCALIER_TOPIC_REPLICATION"], env["KAFKA_INTERNAL_REPLICATION"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "3", "2")
    assert env["KAFKA_BOOTSTRAP_SERVERS"].count(":9092") == 3


def test_prometheus_and_grafana_are_in_the_observability_profile_with_files_that_exist(compose):
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for c in config["scrape_configs"] for s in c["static_configs"] for t in s["targets"]}
    assert targets == {f"{name}:{port}" for name, port in SERVICES.items()}


def _families() -> set[str]:
    return {family.name for family in REGISTRY.collect()}


def _metric_names(text: str) -> set[str]:
    return {re.sub(r"_(bucket|count|sum|total)$", "", m) for m in re.findall(r"\b(escalier_[a-z_]+)", text)}


def test_the_dashboard_and_the_alerts_only_query_metrics_the_services_export():
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "escalier.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", []))
    used = _metric_names(exprs)
    assert used >= {"escalier_events_consumed", "escalier_events_published", "escalier_consumer_lag",
                    "escalier_dead_lettered", "escalier_outbox_backlog", "escalier_tier_queue_depth",
                    "escalier_sla_clocks", "escalier_notifications", "escalier_http_request_duration_seconds"}
    assert used <= _families()
    alerts = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    yaml.safe_load(alerts)
    assert _metric_names(alerts) <= _families()
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p} == {datasource["datasources"][0]["uid"]}


def test_the_example_alertmanager_config_is_valid_and_sends_to_intakes_receiver_with_a_key():
    path = DEPLOY / "alertmanager.yml"
    checked = subprocess.run([tool("amtool"), "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (webhook,) = yaml.safe_load(path.read_text())["receivers"][0]["webhook_configs"]
    assert webhook["url"].endswith("/integrations/alertmanager") and webhook["send_resolved"] is True
    assert webhook["http_config"]["authorization"]["credentials"].startswith("escalier_ik_")
