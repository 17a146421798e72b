"""The Architect flow engine: a closed-world model of Genesys Architect, built from cited primary sources.

The expression language lives here: `parse` (expressions.py), `check`/`infer` over the function and builtin
catalogs (typecheck.py, functions.py, builtins.py) and `evaluate` (evaluate.py). Each catalog entry names its
source (a GenesysCloudBlueprints flow or a Resource Center help page).
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
