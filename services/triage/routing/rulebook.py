"""Where triage's rules come from: the packaged rules.yaml, or a file that replaces it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import yaml

from services.triage.routing.domain import RuleSet


def load_rules(path: Path | None = None) -> RuleSet:
    """The rule set in `path`, or the packaged default; ValueError saying what is wrong otherwise."""
    if path is None:
        text = files("services.triage.routing").joinpath("rules.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"rules file {path or 'rules.yaml'} is not valid YAML: {exc}") from exc
    return RuleSet.model_validate(data)
