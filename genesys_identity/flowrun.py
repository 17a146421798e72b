"""``python -m genesys_identity flow run``: a stack's rendered flow, run for one message against a live service.

Glue between the stack (settings, catalog, data actions, the flow renderer) and the Architect executor, which
knows nothing of stacks. The demo and the journey tests use the same functions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from genesys_identity import catalog
from genesys_identity.actions.definitions import ActionDefinition, load_all
from genesys_identity.architect import directory as directories
from genesys_identity.architect import message as messages
from genesys_identity.architect import validator
from genesys_identity.architect.executor import DataActionService, load_flow, run_flow
from genesys_identity.architect.trace import Trace
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.flows import render as flow_render
from genesys_identity.settings import KEYS, StackSettings, parse_settings
from genesys_identity.stackfile import StackFileSource


def stack_settings(root: Path, stack: str) -> StackSettings:
    source = StackFileSource(root, stack, tuple(spec.key for spec in KEYS if spec.secret))
    return parse_settings(source, stack=stack, project=source.project)


class StackFlows:
    """A stack's rendered flows by short name (the rendered file's stem: ``sms``, ``web-messaging``, ...),
    rendered on first use (a run of a rendered file needs no render)."""

    def __init__(self, settings: StackSettings, actions: list[ActionDefinition]) -> None:
        self.settings = settings
        self.actions = actions
        self._flows: dict[str, flow_render.RenderedFlow] | None = None

    @classmethod
    def render(cls, root: Path, stack: str) -> StackFlows:
        return cls(stack_settings(root, stack), load_all())

    @property
    def flows(self) -> dict[str, flow_render.RenderedFlow]:
        if self._flows is None:
            rendered = flow_render.render(self.settings, catalog.load(overlay=self.settings.catalog_overlay),
                                          self.actions)
            self._flows = {flow.spec.output.removesuffix(".yaml"): flow for flow in rendered}
        return self._flows

    def text(self, which: str) -> tuple[str, str]:
        """``(label, YAML)`` of a flow given by short name, by its flow name, or as a rendered file's path."""
        path = Path(which)
        if path.suffix in (".yaml", ".yml"):
            try:
                return str(path), path.read_text()
            except OSError as exc:
                raise GenesysIdentityError(f"--flow {which}: cannot read: {exc.strerror}") from None
        if which in self.flows:
            return f"{self.flows[which].spec.output}", self.flows[which].text
        for flow in self.flows.values():
            if flow.name == which:
                return flow.spec.output, flow.text
        known = ", ".join(list(self.flows) + [f.name for f in self.flows.values()])
        raise GenesysIdentityError(f"--flow {which!r}: no such flow (known: {known}; or a rendered .yaml file)")

    def directory(self, path: Path | None) -> directories.Directory:
        """The given directory file, or what the stack declares: its two queues, each with the stack's
        ``agentUserIds`` as members, taken to be on queue (group members are not known offline)."""
        if path is not None:
            return directories.load(path)
        members = [{"userId": user, "onQueue": True} for user in self.settings.agent_user_ids]
        return directories.parse({
            "users": [{"id": user, "name": f"user {user[:8]}"} for user in self.settings.agent_user_ids],
            "queues": [{"name": self.settings.queues.web, "members": members},
                       {"name": self.settings.queues.sms, "members": members}],
        }, f"stack {self.settings.stack}: its queues, members from agentUserIds")


def run(flows: StackFlows, which: str, start: messages.Start, *, directory: directories.Directory,
        service: DataActionService | None, clock: Callable[[], datetime] | None = None) -> Trace:
    """Validate the flow as Archy would (Genesys only runs what Archy published), then run it."""
    label, text = flows.text(which)
    channel = start.channel if isinstance(start, messages.InboundMessage) else None
    problems = validator.validate(text, label, channel=channel, contracts=validator.contracts_for(
        flows.settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE), flows.actions))
    if problems:
        more = f" (and {len(problems) - 1} more; see `flow validate`)" if len(problems) > 1 else ""
        raise GenesysIdentityError(f"Archy would not publish this flow: {problems[0]}{more}")
    return run_flow(text, start, actions=flows.actions, directory=directory, service=service, clock=clock, label=label)


@dataclass(frozen=True)
class BenchResult:
    runs: int
    own_ms: list[float]  # each run's wall time minus its data action calls
    calls_ms: list[float]

    def lines(self, label: str) -> list[str]:
        warm = sorted(self.own_ms[1:] or self.own_ms)
        p95 = warm[max(0, round(0.95 * len(warm)) - 1)]
        return [f"{label}: {self.runs} runs; the flow's own cost beyond its data action calls: "
                f"median {statistics.median(warm):.2f} ms, p95 {p95:.2f} ms, max {warm[-1]:.2f} ms; "
                f"first run {self.own_ms[0]:.2f} ms (expressions parsed and typed, catalogs loaded, once per process) "
                f"(data action calls, runner and HTTP: median {statistics.median(self.calls_ms):.1f} ms per run)"]


def bench(flows: StackFlows, which: str, starts: Sequence[messages.Start], *, directory: directories.Directory,
          service: DataActionService, runs: int) -> BenchResult:
    """Run the flow ``runs`` times (cycling through ``starts``); time each run and subtract its data action calls."""
    label, text = flows.text(which)
    document = load_flow(text, label)
    own, calls = [], []
    for i in range(runs):
        begun = time.perf_counter()
        trace = run_flow(document, starts[i % len(starts)], actions=flows.actions, directory=directory,
                         service=service, clock=lambda: datetime.now(UTC), label=label)
        total = (time.perf_counter() - begun) * 1000
        spent = sum(call.elapsed_ms for call in trace.calls)
        own.append(total - spent)
        calls.append(spent)
    return BenchResult(runs, own, calls)


def service_from(url: str | None, token_file: str | None) -> DataActionService | None:
    if not url and not token_file:
        return None
    if not url or not token_file:
        raise GenesysIdentityError("--service-url and --token-file go together")
    try:
        token = Path(token_file).read_text().strip()
    except OSError as exc:
        raise GenesysIdentityError(f"--token-file {token_file}: cannot read: {exc.strerror}") from None
    if not token:
        raise GenesysIdentityError(f"--token-file {token_file}: empty")
    return DataActionService(url, {"token": token}, httpx.Client())


EXAMPLES = Path("examples") / "flow-run"
BENCH_STARTS = {"sms": ("sms.json",), "web-messaging": ("web-authenticated.json", "web-guest.json"),
                "outcome-workflow": ("outcome-event.json",)}


def bench_stack(root: Path, stack: str, runs: int) -> list[str]:
    """Each of the stack's flows run ``runs`` times for the example starts against a throwaway service on SQLite
    (started and stopped here); one line per flow and start."""
    import secrets
    import tempfile

    from stitching import process
    from stitching.errors import StitchingError

    flows = StackFlows.render(root, stack)
    token = secrets.token_urlsafe(32)
    lines = []
    with tempfile.TemporaryDirectory(prefix="flow-bench-") as folder:
        try:
            started = process.start(f"sqlite:///{folder}/stitching.db", token, Path(folder) / "service.log")
        except StitchingError as exc:
            raise GenesysIdentityError(str(exc)) from None
        try:
            with httpx.Client() as client:
                service = DataActionService(started.url, {"token": token}, client)
                for which, files in BENCH_STARTS.items():
                    if which not in flows.flows:
                        continue
                    for file in files:
                        start = messages.load(root / EXAMPLES / file)
                        result = bench(flows, which, [start], directory=flows.directory(None), service=service, runs=runs)
                        lines += result.lines(f"run {which} ({file})")
        finally:
            started.stop()
    return lines

