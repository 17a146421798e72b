"""Command line: ``python -m genesys_identity plan [--stack dev]`` and ``... action check|run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genesys_identity.errors import GenesysIdentityError


def _plan(args: argparse.Namespace) -> int:
    from genesys_identity import plan as offline

    root = Path(args.root).resolve()
    result = offline.evaluate(root, args.stack)
    out_dir = Path(args.out).resolve() / args.stack if args.out else root / "build" / "plan" / args.stack
    target = offline.write(result, out_dir)
    print(offline.table(result))
    print(f"\n{len(result.resources)} resources for stack {args.stack!r} -> {target} (sha256 {offline.digest(result)})")
    return 0


def _action_check(args: argparse.Namespace) -> int:
    from genesys_identity import catalog
    from genesys_identity.actions import checks, definitions

    found = definitions.load_all(Path(args.dir))
    problems = checks.check_all(found, catalog.load())
    for line in problems:
        print(line)
    print(f"{len(found)} data actions checked, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


def _action_run(args: argparse.Namespace) -> int:
    import json

    from genesys_identity.actions import definitions, runner

    definition = definitions.by_name(definitions.load_all(Path(args.dir)), args.name)
    raw = Path(args.input[1:]).read_text() if args.input.startswith("@") else args.input
    try:
        inputs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GenesysIdentityError(f"--input: not JSON: {exc.msg}") from None
    token = Path(args.token_file).read_text().strip()
    try:
        execution = runner.execute(definition, inputs, service_url=args.service_url, credentials={"token": token})
    except runner.ActionFailure as failure:
        print(json.dumps(failure.to_dict(), indent=2))
        return 1
    print(json.dumps(execution.output, indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genesys-identity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="evaluate a stack under Pulumi mocks and write its canonical plan")
    plan.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    plan.add_argument("--root", default=".", help="project root holding Pulumi.yaml (default: .)")
    plan.add_argument("--out", default=None, help="output folder (default: <root>/build/plan)")
    plan.set_defaults(run=_plan)
    action = commands.add_parser("action", help="check data action definitions, or run one against a service")
    action_commands = action.add_subparsers(dest="action_command", required=True)
    check = action_commands.add_parser("check", help="static checks of every data action (exit 1 on a problem)")
    check.add_argument("--dir", default="data_actions")
    check.set_defaults(run=_action_check)
    run = action_commands.add_parser("run", help="execute one action the way Genesys would")
    run.add_argument("name", help='the action\'s name, e.g. "Stitch Identity"')
    run.add_argument("--input", required=True, help="the input as JSON, or @file")
    run.add_argument("--service-url", required=True, help="the stitching service, e.g. http://127.0.0.1:8080")
    run.add_argument("--token-file", required=True, help="file holding the caller token")
    run.add_argument("--dir", default="data_actions")
    run.set_defaults(run=_action_run)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except GenesysIdentityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
