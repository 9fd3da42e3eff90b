"""What a GraphQL request body must be before any of it is executed.

Guarantee: a body that is not a JSON object with a string `query`, an object
(or null) `variables` nested at most `MAX_VARIABLE_DEPTH` deep and a string
(or null) `operationName` is answered 400 with one GraphQL error whose
`extensions.code` is `invalid_request`, never a plain-text answer or a 500.
Parsing never recurses in Python, so no nesting can exhaust the stack.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

#: The deepest nesting of lists and objects the variables may hold (the schema's deepest input is 3).
MAX_VARIABLE_DEPTH = 32


class BadBody(Exception):
    """The request body is not a GraphQL request; the message says why, in plain words."""


def graphql_request(raw: bytes) -> dict[str, Any]:
    """The parsed body of a GraphQL POST, or BadBody."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        if "depth limit" in str(err) or "recursion" in str(err):
            raise BadBody(f"the body is nested too deep (variables at most {MAX_VARIABLE_DEPTH} levels)") from None
        raise BadBody("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadBody('the body must be a JSON object: {"query": "...", "variables": {...}}')
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadBody("query must be a non-empty string")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise BadBody("variables must be a JSON object or null")
    if variables and depth(variables) > MAX_VARIABLE_DEPTH:
        raise BadBody(f"variables are nested too deep (at most {MAX_VARIABLE_DEPTH} levels)")
    name = data.get("operationName")
    if name is not None and not isinstance(name, str):
        raise BadBody("operationName must be a string or null")
    return data


def depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        level += 1
        deepest = max(deepest, level)
        if deepest > MAX_VARIABLE_DEPTH:
            return deepest
        pending.extend((child, level) for child in item)
    return deepest


def bad_request(message: str) -> JSONResponse:
    """The portal's answer to a body it cannot run: one GraphQL error, status 400."""
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": "invalid_request"}}]},
                        status_code=400)
