"""The Architect flow engine: a closed-world model of Genesys Architect, built from cited primary sources.

- Expressions: `parse` (expressions.py, operator precedence of help "Operator precedence in expressions"),
  `check`/`infer` (typecheck.py) over the function catalog (functions.py, catalog/functions.yaml: overloads as
  Architect typed them in real exports) and the builtins catalog (builtins.py, catalog/builtins.yaml: Message.*
  per channel, Flow./State./Task. scopes, properties of values), and `evaluate` (evaluate.py, the NOT_SET rules
  of help "Using NOT_SET expressions").
- Flows: the Archy model and validator (model.py, catalog/archy.yaml, loader.py, validator.py) and the
  executor (executor.py, directory.py, message.py, trace.py).
What a catalog does not list is an error, never a pass; every entry names its source.
"""

from genesys_identity.architect.evaluate import Runtime, evaluate
from genesys_identity.architect.expressions import (
    Expr,
    ExpressionError,
    ExpressionRuntimeError,
    ExpressionSyntaxError,
    ExpressionTypeError,
    parse,
)
from genesys_identity.architect.typecheck import Scope, check, infer
from genesys_identity.architect.types import (
    NOT_SET,
    AgentScorePair,
    ArchType,
    Queue,
    User,
    collection,
    variable_kind_type,
)

__all__ = [
    "NOT_SET",
    "AgentScorePair",
    "ArchType",
    "Expr",
    "ExpressionError",
    "ExpressionRuntimeError",
    "ExpressionSyntaxError",
    "ExpressionTypeError",
    "Queue",
    "Runtime",
    "Scope",
    "User",
    "check",
    "collection",
    "evaluate",
    "infer",
    "parse",
    "variable_kind_type",
]
