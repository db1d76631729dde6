# Copyright: opsbook contributors
# Apache License 2.0 (see LICENSE in the repository root)
"""Alertmanager as plain functions: render its configuration from the alert catalog's routing
and the inventory's receivers, turn alert_check's alerts into Alertmanager alerts, and talk to
its v2 API (post alerts, list the active ones). The HTTP call is passed in, so unit tests run
without a server and without Ansible."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ansible_collections.opsbook.runbooks.plugins.module_utils.catalog import (
    ESCALATION_LABEL,
    ROUTE_TIMINGS,
    SEVERITY_RE,
    CatalogError,
    receivers_used,
    rule_name,
)

# The Alertmanager receiver integrations a receiver mapping may use.
INTEGRATIONS = (
    "email_configs",
    "opsgenie_configs",
    "pagerduty_configs",
    "pushover_configs",
    "slack_configs",
    "sns_configs",
    "telegram_configs",
    "victorops_configs",
    "webex_configs",
    "webhook_configs",
    "wechat_configs",
    "discord_configs",
)
# Labels that identify the same problem for the inhibition of a warning by its critical alert.
INHIBIT_EQUAL = ["catalog_entry", "instance", "job", "service", "set", "rs_nm"]

HttpCall = Callable[[str, str, Any], Any]
"""http(method, url, json_body_or_None) -> decoded JSON reply; raises on HTTP errors."""


def receiver_problems(catalog: Mapping[str, Any], receivers: Mapping[str, Any], default_receiver: str) -> list[str]:
    """What is wrong with the inventory's receiver mapping: a receiver the routing names that has
    no mapping, a mapping that is not a dict of Alertmanager integrations."""
    problems = []
    for name in receivers_used(catalog):
        if name not in receivers:
            routes = [sev for sev, r in catalog["routing"].items() if name in (r.get("receivers") or [])]
            routes += [
                f"{sev} escalation" for sev, r in catalog["routing"].items() if name in (r.get("escalate_to") or [])
            ]
            problems.append(
                f"receiver {name} (routing {', '.join(sorted(routes))}) has no mapping in alerting_receivers"
            )
    if default_receiver not in receivers:
        problems.append(f"the default receiver {default_receiver} has no mapping in alerting_receivers")
    for name, settings in receivers.items():
        if not isinstance(settings, Mapping):
            problems.append(f"receiver {name}: must map integrations such as webhook_configs to their list")
            continue
        unknown = [key for key in settings if key not in INTEGRATIONS]
        if unknown:
            problems.append(f"receiver {name}: unknown integration(s) {unknown} (known: {', '.join(INTEGRATIONS)})")
        if not any(settings.get(key) for key in INTEGRATIONS):
            problems.append(f"receiver {name}: no integration configured (e.g. webhook_configs: [{{url: ...}}])")
    return problems


def _sibling_routes(matchers: list[str], names: list[str], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One route per receiver for the same matchers: all but the last continue, so every receiver
    of a severity is notified and the alert goes no further."""
    routes = []
    for index, name in enumerate(names):
        route: dict[str, Any] = {"receiver": name, "matchers": list(matchers)}
        route.update(settings)
        if index < len(names) - 1:
            route["continue"] = True
        routes.append(route)
    return routes


def alertmanager_config(
    catalog: Mapping[str, Any],
    receivers: Mapping[str, Any],
    *,
    route_settings: Mapping[str, Mapping[str, Any]] | None = None,
    default_receiver: str = "email",
    group_by: list[str] | None = None,
    global_settings: Mapping[str, Any] | None = None,
    templates: list[str] | None = None,
) -> dict[str, Any]:
    """The Alertmanager configuration for the catalog's routing. Each severity routes on the label
    severity="Pn" to its receivers (sibling routes with `continue`), with the catalog's timings,
    overridden per severity by route_settings; escalation alerts (escalated="true") go to the
    severity's escalate_to first. A critical alert inhibits the warning of the same entry."""
    problems = receiver_problems(catalog, receivers, default_receiver)
    for sev, settings in (route_settings or {}).items():
        if sev not in catalog["routing"]:
            problems.append(
                f"alerting_route_settings {sev}: unknown severity (use one of {', '.join(catalog['routing'])})"
            )
            continue
        unknown = [key for key in settings if key not in (*ROUTE_TIMINGS, "group_by")]
        if unknown:
            problems.append(f"alerting_route_settings {sev}: unknown key(s) {unknown}")
    if problems:
        raise CatalogError("the Alertmanager configuration cannot be rendered:\n  " + "\n  ".join(problems))

    routes: list[dict[str, Any]] = []
    timings: dict[str, dict[str, Any]] = {}
    for sev, route in sorted(catalog["routing"].items()):
        merged = {**route, **dict((route_settings or {}).get(sev, {}))}
        timings[sev] = {key: merged[key] for key in ("group_by", *ROUTE_TIMINGS) if key in merged}
    for sev, route in sorted(catalog["routing"].items()):
        if route.get("escalate_to"):
            matchers = [f'severity="{sev}"', f'{ESCALATION_LABEL}="true"']
            routes += _sibling_routes(matchers, list(route["escalate_to"]), timings[sev])
    for sev, route in sorted(catalog["routing"].items()):
        routes += _sibling_routes([f'severity="{sev}"'], list(route["receivers"]), timings[sev])

    config: dict[str, Any] = {}
    if global_settings:
        config["global"] = dict(global_settings)
    if templates:
        config["templates"] = list(templates)
    config["route"] = {
        "receiver": default_receiver,
        "group_by": list(group_by or ["alertname", "severity"]),
        "routes": routes,
    }
    config["inhibit_rules"] = [
        {
            "source_matchers": ['level="critical"'],
            "target_matchers": ['level="warning"'],
            "equal": list(INHIBIT_EQUAL),
        }
    ]
    config["receivers"] = [{"name": name, **dict(receivers[name])} for name in sorted(receivers)]
    return config


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def to_alertmanager_alert(
    alert: Mapping[str, Any],
    *,
    labels: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    generator_url: str | None = None,
    resolved: bool = False,
    now: str | None = None,
) -> dict[str, Any]:
    """An alert of alert_check (or mongodb_health: name, severity, level, value, threshold,
    message, labels) as Alertmanager's postable alert. Its alertname is the name of the matching
    Prometheus rule, so a pushed alert and a rule's alert route and inhibit alike."""
    name, severity = alert.get("name"), alert.get("severity")
    if not name or not isinstance(name, str):
        raise ValueError(f"an alert needs a name: {dict(alert)!r}")
    if not isinstance(severity, str) or not SEVERITY_RE.match(severity):
        raise ValueError(f"alert {name}: severity must be P0-P4, not {severity!r}")
    level = alert.get("level")
    merged: dict[str, str] = {str(k): str(v) for k, v in (labels or {}).items()}
    merged.update({str(k): str(v) for k, v in (alert.get("labels") or {}).items()})
    merged.update(
        {
            "alertname": str(alert.get("alertname") or (rule_name(name, level) if level else name)),
            "severity": severity,
            "catalog_entry": name,
        }
    )
    if level:
        merged["level"] = str(level)
    notes = {str(k): str(v) for k, v in (annotations or {}).items()}
    notes["summary"] = str(alert.get("message") or f"{name} ({level or 'alert'}, {severity})")
    for key in ("value", "runbook"):
        if alert.get(key) not in (None, ""):
            notes[key] = str(alert[key])
    if alert.get("threshold") is not None:
        notes["threshold"] = f"{alert.get('comparison', '')} {alert['threshold']}".strip()
    postable: dict[str, Any] = {"labels": merged, "annotations": notes}
    if generator_url:
        postable["generatorURL"] = generator_url
    if resolved:
        postable["endsAt"] = now or _now()
    return postable


def alert_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Alertmanager identifies an alert by its label set."""
    return tuple(sorted(labels.items()))


def summarise(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a gettable alert a report needs."""
    labels = dict(alert.get("labels") or {})
    status = alert.get("status") or {}
    return {
        "alertname": labels.get("alertname"),
        "severity": labels.get("severity"),
        "labels": labels,
        "annotations": dict(alert.get("annotations") or {}),
        "state": status.get("state"),
        "silenced_by": list(status.get("silencedBy") or []),
        "inhibited_by": list(status.get("inhibitedBy") or []),
        "receivers": [r.get("name") for r in alert.get("receivers") or []],
        "starts_at": alert.get("startsAt"),
        "ends_at": alert.get("endsAt"),
        "fingerprint": alert.get("fingerprint"),
    }


def alerts_url(
    base_url: str,
    *,
    filters: list[str] | None = None,
    active: bool = True,
    silenced: bool = True,
    inhibited: bool = True,
    receiver: str | None = None,
) -> str:
    """GET /api/v2/alerts with Alertmanager's query parameters (filters are label matchers)."""
    query: list[tuple[str, str]] = [
        ("active", str(active).lower()),
        ("silenced", str(silenced).lower()),
        ("inhibited", str(inhibited).lower()),
    ]
    query += [("filter", matcher) for matcher in filters or []]
    if receiver:
        query.append(("receiver", receiver))
    return f"{base_url.rstrip('/')}/api/v2/alerts?{urllib.parse.urlencode(query)}"


def list_alerts(http: HttpCall, base_url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds, summarised, most urgent first."""
    reply = http("GET", alerts_url(base_url, **kwargs), None)
    if not isinstance(reply, list):
        raise ValueError(f"Alertmanager answered {json.dumps(reply)[:200]} instead of a list of alerts")
    alerts = [summarise(a) for a in reply]
    return sorted(alerts, key=lambda a: (a["severity"] or "P9", a["alertname"] or "", alert_key(a["labels"])))


def push(
    http: HttpCall,
    base_url: str,
    alerts: list[dict[str, Any]],
    *,
    check_mode: bool = False,
) -> dict[str, Any]:
    """Post postable alerts to /api/v2/alerts. Firing alerts are always posted (Alertmanager
    resolves an alert nobody re-sends within its resolve_timeout); `new` lists those it did not
    hold yet, `resolved` the resolutions of alerts it held. In check mode nothing is posted."""
    active = {alert_key(a["labels"]) for a in list_alerts(http, base_url, filters=None)}
    new = [a for a in alerts if "endsAt" not in a and alert_key(a["labels"]) not in active]
    resolved = [a for a in alerts if "endsAt" in a and alert_key(a["labels"]) in active]
    if alerts and not check_mode:
        http("POST", f"{base_url.rstrip('/')}/api/v2/alerts", alerts)
    return {"posted": [] if check_mode else alerts, "new": new, "resolved": resolved}


def connection_argument_spec() -> dict[str, Any]:
    """The options every Alertmanager module shares (doc fragment opsbook.runbooks.alertmanager)."""
    return {
        "url": {"type": "str", "required": True},
        "url_username": {"type": "str", "no_log": False},
        "url_password": {"type": "str", "no_log": True},
        "validate_certs": {"type": "bool", "default": True},
        "ca_path": {"type": "path"},
        "timeout": {"type": "int", "default": 10},
    }


def open_url_http(params: Mapping[str, Any]) -> HttpCall:
    """An HttpCall over Ansible's open_url with the shared connection options."""
    from ansible.module_utils.urls import open_url

    def call(method: str, url: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode()
        response = open_url(
            url,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            url_username=params.get("url_username"),
            url_password=params.get("url_password"),
            force_basic_auth=bool(params.get("url_username")),
            validate_certs=params.get("validate_certs", True),
            ca_path=params.get("ca_path"),
            timeout=params.get("timeout", 10),
        )
        try:
            raw = response.read()
        finally:
            response.close()
        return json.loads(raw) if raw.strip() else None

    return call


def describe_http_error(err: Exception, url: str) -> str:
    """A message an operator can act on for a failed call to Alertmanager."""
    body = ""
    reader = getattr(err, "read", None)
    if callable(reader):
        try:
            body = reader().decode("utf-8", "replace")[:300]
        except Exception:  # the body is only a hint
            body = ""
    code = getattr(err, "code", None)
    if code:
        return f"Alertmanager at {url} answered HTTP {code}: {body or err}"
    return f"cannot reach Alertmanager at {url}: {err}"
