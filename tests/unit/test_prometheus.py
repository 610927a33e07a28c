"""Prometheus's own checker on deploy/prometheus/: the configuration, the alert rules, and their unit tests.

`promtool test rules deploy/prometheus/tests/alerts_test.yml` holds, for every alert, a case where it
fires and one where it must not.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.tools import ROOT, tool

PROMETHEUS = ROOT / "deploy" / "prometheus"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("promtool"), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_promtool_check_config_accepts_the_configuration_and_the_rule_files_it_names():
    result = promtool("check", "config", PROMETHEUS / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout, result.stdout


def test_promtool_check_rules_accepts_every_rules_file():
    rule_files = sorted(PROMETHEUS.glob("*.yml"))
    rule_files.remove(PROMETHEUS / "prometheus.yml")
    result = promtool("check", "rules", *rule_files)
    assert rule_files and result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules_passes_every_alert_test():
    result = promtool("test", "rules", *RULE_TESTS)
    assert RULE_TESTS and result.returncode == 0, result.stdout + result.stderr


def _alerts() -> set[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_does_not():
    cases = [case for path in RULE_TESTS for test in yaml.safe_load(path.read_text())["tests"]
             for case in test.get("alert_rule_test", [])]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert _alerts() - fires == set(), "alerts never seen firing in deploy/prometheus/tests"
    assert _alerts() - silent == set(), "alerts never seen staying silent in deploy/prometheus/tests"
