"""Command line: ``python -m genesys_identity plan [--stack dev]``."""

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="genesys-identity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="evaluate a stack under Pulumi mocks and write its canonical plan")
    plan.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    plan.add_argument("--root", default=".", help="project root holding Pulumi.yaml (default: .)")
    plan.add_argument("--out", default=None, help="output folder (default: <root>/build/plan)")
    plan.set_defaults(run=_plan)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except GenesysIdentityError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
