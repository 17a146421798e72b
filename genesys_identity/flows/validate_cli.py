"""``python -m genesys_identity flow validate FILE...`` and ``flow bench``: the Archy validator from the command line.

``flow validate`` prints one line per problem, ``file:line: path: what is wrong`` (the project's policies, with
``--stack``, as ``file:line: path: policy: what is wrong`` after the Archy problems) and exits 1 when there is
any, 0 when every file is clean, 2 when a file cannot be read. Data action calls are checked against the
contracts in ``data_actions/`` (matched by action name) unless ``--no-contracts`` is given (a foreign flow);
with ``--stack`` they must also name the stack's integration, and the project's policies run.

``flow bench`` renders a stack's flows and prints how long validating them takes, cold (nothing cached: the
YAML parse and every expression type-checked) and warm (the same renders again).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from genesys_identity import catalog
from genesys_identity.actions.definitions import ActionDefinition, load_all
from genesys_identity.architect import loader, validator
from genesys_identity.errors import GenesysIdentityError
from genesys_identity.flows import check
from genesys_identity.flows import render as flow_render
from genesys_identity.settings import KEYS, StackSettings, parse_settings
from genesys_identity.stackfile import StackFileSource

CHANNELS = ("sms", "webmessaging")


def add_commands(flow_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate`` and ``bench`` to the ``flow`` command group."""
    validate = flow_commands.add_parser(
        "validate", help="validate Archy YAML files: one line per problem, exit 1 on problems, 2 on unreadable input")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--channel", choices=CHANNELS,
                          help="the message channel (default: from the file name, sms.yaml / web-messaging.yaml)")
    validate.add_argument("--actions", default="data_actions",
                          help="folder of data action definitions whose contracts the callData bindings must match")
    validate.add_argument("--no-contracts", action="store_true",
                          help="the data actions called are not this project's: check callData bindings for form only")
    validate.add_argument("--stack",
                          help="also apply this project's policies with the stack's settings (integration, queues, catalog)")
    validate.add_argument("--root", default=".")
    validate.set_defaults(run=validate_command)
    bench = flow_commands.add_parser("bench", help="print how long validating a stack's rendered flows takes")
    bench.add_argument("--stack", default="dev")
    bench.add_argument("--root", default=".")
    bench.add_argument("--runs", type=int, default=20, help="cold runs to take the median of (default 20)")
    bench.add_argument("--flow-runs", type=int, default=100,
                       help="also run each flow N times for the example messages against a throwaway service and print "
                            "a run's own cost beyond its data action calls (default 100; 0 skips)")
    bench.set_defaults(run=bench_command)


def _settings(root: Path, stack: str) -> StackSettings:
    source = StackFileSource(root, stack, tuple(spec.key for spec in KEYS if spec.secret))
    return parse_settings(source, stack=stack, project=source.project)


def validate_command(args: argparse.Namespace) -> int:
    root = Path(args.root)
    folder = root / args.actions
    if not args.no_contracts and not folder.is_dir():
        print(f"{folder}: no data action definitions there (give --actions DIR, or --no-contracts for a flow that "
              "calls someone else's actions)")
        return 2
    actions: list[ActionDefinition] = [] if args.no_contracts else load_all(folder)
    settings = _settings(root, args.stack) if args.stack else None
    attributes = catalog.load(overlay=settings.catalog_overlay) if settings is not None else None
    unreadable = False
    found = 0
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{name}: cannot be read: {getattr(exc, 'strerror', None) or exc}")
            unreadable = True
            continue
        channel = args.channel or check.CHANNELS.get(path.name)
        if settings is not None and attributes is not None:
            problems = check.check_flow(name, text, actions=actions, channel=channel, catalog=attributes,
                                        category=settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE),
                                        queues=(settings.queues.web, settings.queues.sms))
        else:
            problems = validator.validate(text, name, channel=channel,
                                          contracts=None if args.no_contracts else _by_name(text, name, actions))
        for problem in sorted(problems, key=lambda p: (p.kind == "policy", p.line)):
            if problem.kind == "policy":
                print(f"{problem.file}:{problem.line}: {problem.path}: policy: {problem.message}")
            else:
                print(problem)
        found += len(problems)
    if unreadable:
        return 2
    return 1 if found else 0


def _by_name(text: str, name: str, actions: list[ActionDefinition]) -> dict[tuple[str, str], ActionDefinition]:
    """Contracts for every (category, action) the file calls, matched by action name (no stack: any integration)."""
    try:
        calls = check.data_action_calls(loader.load(text, name))
    except loader.LoadError:
        return {}
    known = {a.name: a for a in actions}
    return {(category, action): known[action] for category, action in calls if action in known}


def bench_command(args: argparse.Namespace) -> int:
    root = Path(args.root)
    settings = _settings(root, args.stack)
    attributes = catalog.load(overlay=settings.catalog_overlay)
    actions = load_all(root / "data_actions")
    flows = flow_render.render(settings, attributes, actions)
    category = settings.name(flow_render.DATA_ACTIONS_INTEGRATION_ROLE)
    contracts = validator.contracts_for(category, actions)

    def validate_all() -> int:
        return sum(len(validator.validate(loader.load(f.text, f.spec.output), f.spec.output,
                                          channel=check.CHANNELS.get(f.spec.output), contracts=contracts))
                   for f in flows)

    def cold() -> float:
        loader._parse.cache_clear()
        validator._check_expression.cache_clear()
        started = time.perf_counter()
        problems = validate_all()
        elapsed = time.perf_counter() - started
        if problems:
            raise GenesysIdentityError(f"the {args.stack} stack's flows have {problems} problems: run flow validate")
        return elapsed

    cold_times = [cold() for _ in range(max(1, args.runs))]
    started = time.perf_counter()
    for _ in range(max(1, args.runs)):
        validate_all()
    warm = (time.perf_counter() - started) / max(1, args.runs)
    lines = sum(f.text.count("\n") for f in flows)
    names = ", ".join(f.spec.output for f in flows)
    print(f"validate {len(flows)} flows of stack {args.stack!r} ({names}; {lines} lines)")
    print(f"  cold (parse + every expression type-checked): median {1000 * statistics.median(cold_times):.1f} ms, "
          f"max {1000 * max(cold_times):.1f} ms over {len(cold_times)} runs")
    print(f"  warm (parse and type checks cached by text):  {1000 * warm:.2f} ms per run")
    if args.flow_runs > 0:
        from genesys_identity import flowrun

        for line in flowrun.bench_stack(root.resolve(), args.stack, args.flow_runs):
            print(line)
    return 0
