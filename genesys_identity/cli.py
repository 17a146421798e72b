"""Command line: ``python -m genesys_identity plan [--stack dev]`` and ``... action check|run``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

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


def _policy(args: argparse.Namespace) -> int:
    """The policy pack on the offline plan, through pulumi-policy's analyzer as a preview would run it."""
    from genesys_identity import plan as offline
    from genesys_identity import policies

    result = offline.evaluate(Path(args.root).resolve(), args.stack)
    violations = policies.analyze(policies.analyzer_resources(result.document))
    for violation in violations:
        level = "mandatory" if violation.mandatory else "advisory"
        print(f"{violation.policy} ({level}): {violation.message}")
    print(f"{len(policies.RULES)} policies on {len(result.resources)} resources of stack {args.stack!r}: "
          f"{len(violations)} violations", file=sys.stderr)
    return 1 if any(v.mandatory for v in violations) else 0


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


def _flow_run(args: argparse.Namespace) -> int:
    from genesys_identity import flowrun
    from genesys_identity.architect import message

    flows = flowrun.StackFlows.render(Path(args.root).resolve(), args.stack)
    start = message.load(Path(args.message))
    directory = flows.directory(Path(args.directory) if args.directory else None)
    service = flowrun.service_from(args.service_url, args.token_file)
    if args.bench:
        if service is None:
            raise GenesysIdentityError("--bench needs --service-url and --token-file (the data action calls are live)")
        result = flowrun.bench(flows, args.flow, [start], directory=directory, service=service, runs=args.bench)
        for line in result.lines(f"flow {args.flow!r}"):
            print(line)
        return 0
    trace = flowrun.run(flows, args.flow, start, directory=directory, service=service)
    print(trace.json() if args.json else trace.text())
    return 0


def _plan_of(root: Path, stack: str, rev: str | None, folder: str | None, scratch: Path) -> Any:
    """A plan folder: given, or rendered from a git revision (in a temporary worktree) or from the work tree; an
    absent one when the stack has no file there (a stack added or removed by the change)."""
    import subprocess

    from genesys_identity.audit import diff

    if folder:
        return diff.PlanFolder.read(Path(folder) / stack if (Path(folder) / stack / "plan.json").exists() else Path(folder))
    commit = None
    if rev:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise GenesysIdentityError(f"git revision {rev!r}: not a commit in {root}")
        commit = done.stdout.strip()[:12]
        listed = subprocess.run(["git", "-C", str(root), "cat-file", "-e", f"{commit}:Pulumi.{stack}.yaml"],
                                capture_output=True, check=False)
        if listed.returncode != 0:
            return diff.PlanFolder.absent(stack, commit)
    elif not (root / f"Pulumi.{stack}.yaml").exists():
        return diff.PlanFolder.absent(stack)
    source = root
    if rev:
        source = scratch / f"worktree-{abs(hash(rev))}"
        done = subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(source), rev],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise GenesysIdentityError(f"git revision {rev!r}: {done.stderr.strip().splitlines()[-1]}")
    out = scratch / f"plan-{abs(hash((rev, str(source))))}"
    try:
        done = subprocess.run([sys.executable, "-m", "genesys_identity", "plan", "--root", str(source), "--stack", stack,
                               "--out", str(out)], cwd=source, capture_output=True, text=True, check=False)
    finally:
        if rev:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(source)], capture_output=True,
                           check=False)
    if done.returncode != 0:
        raise GenesysIdentityError(f"plan of {rev or 'the work tree'} failed: {done.stderr.strip()}")
    return diff.PlanFolder.read(out / stack, commit)


def _diff(args: argparse.Namespace) -> int:
    import tempfile

    from genesys_identity.audit import diff

    root = Path(args.root).resolve()
    with tempfile.TemporaryDirectory(prefix="genesys-identity-diff-") as tmp:
        scratch = Path(tmp)
        base = _plan_of(root, args.stack, args.base_rev, args.base, scratch)
        head = _plan_of(root, args.stack, args.head_rev, args.head, scratch)
        report = diff.compare(base, head)
    target = diff.write(report, Path(args.out).resolve() / args.stack)
    print(report.markdown())
    print(f"report -> {target}", file=sys.stderr)
    return 1 if report.approval else 0


def _genesys_discover(args: argparse.Namespace) -> int:
    from genesys_identity.genesys import discover

    stack_file = None
    if args.write:
        stack_file = Path(args.root) / f"Pulumi.{args.stack}.yaml"
    print(discover.run(args.region, args.type_name, stack_file), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genesys-identity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="evaluate a stack under Pulumi mocks and write its canonical plan")
    plan.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    plan.add_argument("--root", default=".", help="project root holding Pulumi.yaml (default: .)")
    plan.add_argument("--out", default=None, help="output folder (default: <root>/build/plan)")
    plan.set_defaults(run=_plan)
    compare = commands.add_parser(
        "diff", help="compare two offline plans (folders or git revisions); exit 1 when a reviewer must approve")
    compare.add_argument("--stack", default="dev")
    compare.add_argument("--root", default=".")
    base = compare.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", help="a plan folder (holding plan.json)")
    base.add_argument("--base-rev", help="a git revision, rendered in a temporary worktree (e.g. origin/main)")
    head = compare.add_mutually_exclusive_group()
    head.add_argument("--head", help="a plan folder (default: the work tree, rendered now)")
    head.add_argument("--head-rev", help="a git revision")
    compare.add_argument("--out", default="build/review", help="where report.md and the flow pictures go")
    compare.set_defaults(run=_diff)
    policy = commands.add_parser("policy", help="run the policy pack on a stack's offline plan (exit 1 on a violation)")
    policy.add_argument("--stack", default="dev")
    policy.add_argument("--root", default=".")
    policy.set_defaults(run=_policy)
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
    flow = commands.add_parser("flow", help="Architect flows: validate Archy YAML, run a rendered flow for one message, bench")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True)
    flow_run = flow_commands.add_parser(
        "run", help="run a stack's rendered flow for one inbound message (or workflow inputs) and print the trace")
    flow_run.add_argument("--stack", default="dev")
    flow_run.add_argument("--root", default=".")
    flow_run.add_argument("--flow", required=True, help="sms, web-messaging, outcome-workflow, a flow name, or a rendered .yaml")
    flow_run.add_argument("--message", required=True, help="the message file (JSON; see README \"Running a flow\")")
    flow_run.add_argument("--directory", help="users and queue members (JSON/YAML; default: the stack's queues, no members)")
    flow_run.add_argument("--service-url", help="the stitching service the data actions call")
    flow_run.add_argument("--token-file", help="file holding the stack's caller token")
    flow_run.add_argument("--json", action="store_true", help="print the trace as JSON")
    flow_run.add_argument("--bench", type=int, metavar="N", default=0,
                          help="run N times and print the flow's own cost beyond its data action calls")
    flow_run.set_defaults(run=_flow_run)
    from genesys_identity.flows import validate_cli

    validate_cli.add_commands(flow_commands)  # flow validate, flow bench
    genesys = commands.add_parser("genesys", help="read from a Genesys Cloud org (GENESYSCLOUD_OAUTHCLIENT_ID/_SECRET)")
    genesys_commands = genesys.add_subparsers(dest="genesys_command", required=True)
    discover = genesys_commands.add_parser(
        "discover", help="read the Messenger OIDC integration type's id, property keys and credential names to pin")
    discover.add_argument("--region", help="the org's region, e.g. us-east-1 (default: $GENESYSCLOUD_REGION)")
    discover.add_argument("--type-name", default="OpenID Connect Messenger Configuration",
                          help="the integration type's name (default: %(default)s)")
    discover.add_argument("--stack", default="dev", help="with --write: the stack file to update (default: dev)")
    discover.add_argument("--root", default=".", help="project root holding the stack files (default: .)")
    discover.add_argument("--write", action="store_true", help="write the values into Pulumi.<stack>.yaml")
    discover.set_defaults(run=_genesys_discover)
    demo = commands.add_parser("demo", help="start the service on SQLite and replay the cross-channel journey")
    demo.set_defaults(run=lambda a: __import__("genesys_identity.demo").demo.main([]))
    bench = commands.add_parser("bench", help="time to evaluate and write the plan for 1, 10 and 100 web deployments")
    bench.add_argument("--sizes", default="1,10,100")
    bench.set_defaults(run=lambda a: __import__("genesys_identity.bench").bench.main(["--sizes", a.sizes]))
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except GenesysIdentityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
