"""What a flow run did: every action executed, participant data written, responses sent, data action calls, and
the outcome with its reason. Printed readable (``text()``) or as JSON (``to_dict()``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class DataActionCall:
    action: str
    inputs: dict[str, Any]
    stripped: list[str]  # inputs left out because their value was NOT_SET (Genesys strips null inputs)
    status: str  # "success" | "failure" | "timeout"
    outputs: dict[str, Any] | None = None
    error: str | None = None
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "inputs": self.inputs, "stripped": self.stripped, "status": self.status,
                "outputs": self.outputs, "error": self.error, "elapsedMs": round(self.elapsed_ms, 1)}


@dataclass
class Step:
    where: str  # "state Route" / "task Lookup"
    kind: str  # the Archy action kind
    name: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "kind": self.kind, "name": self.name, "detail": self.detail}


@dataclass
class Outcome:
    kind: str  # "transfer" | "disconnect" | "end" (a workflow ended, or the flow ran out of actions)
    reason: str
    queue: str | None = None
    priority: int | None = None
    preferred_agents: list[dict[str, Any]] = field(default_factory=list)
    routed_to_agent: str | None = None
    by_error_handling: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "queue": self.queue, "priority": self.priority,
                "preferredAgents": self.preferred_agents, "routedToAgent": self.routed_to_agent,
                "byErrorHandling": self.by_error_handling}

    def summary(self) -> str:
        if self.kind == "transfer":
            target = f"transfer to queue {self.queue!r} (priority {self.priority})"
            agent = f", preferring {self.routed_to_agent}" if self.routed_to_agent else ""
            return f"{target}{agent}: {self.reason}"
        return f"{self.kind}: {self.reason}"


@dataclass
class Trace:
    flow: str
    flow_type: str
    channel: str | None
    start: dict[str, str] = field(default_factory=dict)  # the builtins (Message.*) or workflow inputs the run began with
    steps: list[Step] = field(default_factory=list)
    participant_data: dict[str, str] = field(default_factory=dict)
    responses: list[str] = field(default_factory=list)
    calls: list[DataActionCall] = field(default_factory=list)
    outcome: Outcome | None = None
    errors: list[str] = field(default_factory=list)  # runtime errors that invoked the flow's error handling

    def to_dict(self) -> dict[str, Any]:
        return {"flow": self.flow, "flowType": self.flow_type, "channel": self.channel, "start": self.start,
                "steps": [s.to_dict() for s in self.steps], "participantData": self.participant_data,
                "responses": self.responses, "dataActionCalls": [c.to_dict() for c in self.calls],
                "errors": self.errors, "outcome": self.outcome.to_dict() if self.outcome else None}

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)

    def text(self) -> str:
        lines = [f"flow {self.flow!r} ({self.flow_type}{', ' + self.channel if self.channel else ''})"]
        if self.start:
            lines.append("  started with: " + ", ".join(f"{k}={v}" for k, v in self.start.items()))
        calls = iter(self.calls)
        for step in self.steps:
            lines.append(f"  {step.where} | {step.kind} {step.name!r}{': ' + step.detail if step.detail else ''}")
            if step.kind == "callData":
                call = next(calls, None)
                if call is not None:
                    sent = ", ".join(f"{k}={_short(v)}" for k, v in call.inputs.items())
                    lines.append(f"      inputs: {sent}")
                    if call.stripped:
                        lines.append(f"      not sent (NOT_SET): {', '.join(call.stripped)}")
                    result = (", ".join(f"{k}={_short(v)}" for k, v in (call.outputs or {}).items())
                              if call.status == "success" else call.error)
                    lines.append(f"      -> {call.status} in {call.elapsed_ms:.0f} ms: {result}")
        for error in self.errors:
            lines.append(f"  error handling invoked: {error}")
        if self.participant_data:
            lines.append("  participant data: " + ", ".join(f"{k}={_short(v)}" for k, v in self.participant_data.items()))
        for response in self.responses:
            lines.append(f"  sent: {response!r}")
        lines.append(f"  outcome: {self.outcome.summary() if self.outcome else '(none)'}")
        return "\n".join(lines)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
