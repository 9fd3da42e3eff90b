"""Limits that keep one query from taking the server down: depth and cost.

Depth counts nested selections (introspection fields excluded, so GraphiQL
still works); cost is ariadne's cost validator with paged lists multiplied by
their `first` argument.
"""

from __future__ import annotations

from typing import Any

from ariadne.validation import cost_validator
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationRule, ValidationRule

from graphql import GraphQLError

MAX_DEPTH = 10
MAX_COST = 20_000
PAGED = {"complexity": 1, "multipliers": ["first"]}
COST_MAP: dict[str, dict[str, Any]] = {
    "Query": {name: PAGED for name in ("accounts", "statement", "cards", "cdrs", "lowBalanceAccounts",
                                            "conferences", "forwardedCalls")},
    "Account": {"statement": PAGED},
}


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: set[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            if node.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(node.selection_set, fragments, seen))
        elif isinstance(node, InlineFragmentNode):
            deepest = max(deepest, _depth(node.selection_set, fragments, seen))
        elif isinstance(node, FragmentSpreadNode):
            name = node.name.value
            if name in seen or name not in fragments:
                continue
            deepest = max(deepest, _depth(fragments[name].selection_set, fragments, seen | {name}))
    return deepest


def depth_limit(max_depth: int) -> type[ASTValidationRule]:
    class DepthLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            document = self.context.document
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            depth = _depth(node.selection_set, fragments, set())
            if depth > max_depth:
                self.report_error(GraphQLError(f"query is {depth} levels deep; the limit is {max_depth}", node))

    return DepthLimit


def validation_rules(_context: Any, _document: DocumentNode, data: dict[str, Any]) -> list[type[ASTValidationRule]]:
    variables = data.get("variables") if isinstance(data, dict) else None
    return [
        depth_limit(MAX_DEPTH),
        cost_validator(MAX_COST, default_cost=1, variables=variables or {}, cost_map=COST_MAP),
    ]
