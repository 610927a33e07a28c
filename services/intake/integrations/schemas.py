"""The HTTP shapes of integrations and of the events they send."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.messages.common import Category, Language, Level, Name, Organization

Severity = Literal["critical", "error", "warning", "info"]
Action = Literal["trigger", "acknowledge", "resolve"]
Outcome = Literal["created", "repeated", "resolved", "reopened", "acknowledged"]
DedupKey = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]


class Mapping(BaseModel):
    """The impact and urgency a severity stands for."""

    model_config = ConfigDict(extra="forbid")

    impact: Level
    urgency: Level


class Contact(BaseModel):
    """Who the tickets of an integration are from: their requester (e-mail, name, language)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    name: Name
    language: Language = "en"


class AlertmanagerMapping(BaseModel):
    """How an Alertmanager notification becomes events (integrations/alertmanager.py; docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    # fingerprint: each alert is an event (a ticket per alert); group: the notification is one event of its
    # alert group (a ticket per group, as Alertmanager's `group_by` makes them).
    dedup: Literal["fingerprint", "group"] = "fingerprint"
    summary_annotations: list[Short] = Field(default=["summary", "description", "message"], min_length=1, max_length=10)
    severity_label: Short = "severity"
    severities: dict[Short, Severity] = Field(default={}, max_length=50)  # label values beside the usual ones
    category_label: Short = "category"  # its value, when a category, is the ticket's category hint


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["events", "alertmanager"] = "events"
    organization: Organization
    contact: Contact
    category_hint: Category | None = None
    # Severities left out keep the defaults (integrations/domain.py DEFAULT_SEVERITY_MAP).
    severity_map: dict[Severity, Mapping] = {}
    alertmanager: AlertmanagerMapping = AlertmanagerMapping()


class IntegrationPublic(BaseModel):
    id: str
    name: str
    kind: str
    organization: str
    contact: Contact
    category_hint: str | None
    severity_map: dict[Severity, Mapping]
    alertmanager: AlertmanagerMapping
    key_hint: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class IntegrationCreated(IntegrationPublic):
    api_key: str = Field(description="Shown once: send it as `Authorization: Bearer <key>`; only its hash is kept")


class IntegrationPage(BaseModel):
    items: list[IntegrationPublic]


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")

    href: AnyHttpUrl
    text: Short = ""


class EventBody(BaseModel):
    """One event from a monitoring system, in the manner of PagerDuty's Events API v2."""

    model_config = ConfigDict(extra="forbid")

    dedup_key: DedupKey
    action: Action
    summary: Summary | None = None  # required to trigger
    category_hint: Category | None = None  # else the integration's
    severity: Severity = "error"
    source: Short = ""
    component: Short = ""
    custom_details: dict[str, Any] = Field(default={}, max_length=100)
    links: list[Link] = Field(default=[], max_length=20)

    @model_validator(mode="after")
    def _summary_to_trigger(self) -> EventBody:
        if self.action == "trigger" and not self.summary:
            raise ValueError("summary is required to trigger")
        return self


class EventAccepted(BaseModel):
    ticket_id: str
    dedup_key: str
    outcome: Outcome
    occurrences: int
    links: dict[str, str]


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager notification (fields beyond these are ignored)."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: DedupKey


class AlertmanagerNotification(BaseModel):
    """Alertmanager's webhook body, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupKey: str = ""
    groupLabels: dict[str, str] = {}
    commonLabels: dict[str, str] = {}
    commonAnnotations: dict[str, str] = {}
    alerts: list[AlertmanagerAlert] = Field(max_length=1000)


class AlertReceived(BaseModel):
    fingerprint: str
    ticket_id: str | None
    outcome: Outcome | Literal["unknown"]  # unknown: resolved before Escalier ever saw it firing
    occurrences: int


class NotificationAccepted(BaseModel):
    alerts: list[AlertReceived]
