"""GraphQL parsing, validation and execution in the portal's own worker threads.

Guarantee: no part of a GraphQL request but reading its (size-limited) body
runs on the event loop that answers the switch hooks. A 3,000-alias query
or a slow report keeps a portal worker busy, never a switch waiting. The
resolvers are plain functions, so ariadne's `graphql_sync` runs the whole
query in one worker; `PORTAL_WORKERS` queries run at once, the rest queue.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from ariadne.asgi.handlers import GraphQLHTTPHandler
from ariadne.exceptions import HttpError
from ariadne.graphql import graphql_sync
from ariadne.types import GraphQLResult
from graphql import DocumentNode, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ringledger.portal.bodies import BadBody, bad_request, graphql_request

PORTAL_WORKERS = 4
#: Most tokens a query may hold (a 3,000-alias query is about 9,000); parsing stops at the limit.
MAX_TOKENS = 20_000


def token_limited_parser(_context: Any, data: dict[str, Any]) -> DocumentNode:
    """graphql-core's parser, refusing a document longer than MAX_TOKENS before building it all."""
    return parse(data["query"], max_tokens=MAX_TOKENS)


class OffLoopHTTPHandler(GraphQLHTTPHandler):
    def __init__(self, *args: Any, workers: int = PORTAL_WORKERS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="portal")

    async def graphql_http_server(self, request: Request) -> Response:
        """Like ariadne's, but a body that is no GraphQL request gets a JSON error (bodies.py)."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return bad_request("send the query as application/json")
        try:
            data = await self.extract_data_from_request(request)
        except (HttpError, BadBody) as err:
            return bad_request(str(err) if isinstance(err, BadBody) else err.message or "bad request")
        success, result = await self.execute_graphql_query(request, data)
        return await self.create_json_response(request, result, success)

    def handle_not_allowed_method(self, request: Request) -> Response:
        """OPTIONS lists the methods; any other method is a JSON 405 in the one error shape."""
        allow = "GET, OPTIONS, POST" if self.introspection else "OPTIONS, POST"
        if request.method == "OPTIONS":
            return Response(headers={"Allow": allow})
        return JSONResponse({"error": "method_not_allowed", "message": f"/graphql takes {allow}"},
                            status_code=405, headers={"Allow": allow})

    async def extract_data_from_json_request(self, request: Request) -> Any:
        raw = await request.body()
        return await asyncio.get_running_loop().run_in_executor(self.pool, graphql_request, raw)

    async def create_json_response(self, request: Request, result: dict[str, Any], success: bool) -> Response:
        """200 once execution started (a refused field is a field error, as GraphQL over HTTP has it);
        400 only for a query that never ran (it did not parse or validate)."""
        return JSONResponse(result, status_code=200 if success or "data" in result else 400)

    async def execute_graphql_query(
        self, request: Any, data: Any, *, context_value: Any = None, query_document: DocumentNode | None = None,
    ) -> GraphQLResult:
        if context_value is None:
            context_value = await self.get_context_for_request(request, data)
        extensions = await self.get_extensions_for_request(request, context_value)
        middleware = await self.get_middleware_for_request(request, context_value)
        if self.schema is None:
            raise TypeError("schema is not set, call configure method to initialize it")
        run = partial(
            graphql_sync,
            self.schema,
            data,
            context_value=context_value,
            root_value=self.root_value,
            query_parser=self.query_parser or token_limited_parser,
            query_validator=self.query_validator,
            query_document=query_document,
            validation_rules=self.validation_rules,
            require_query=isinstance(request, Request) and request.method == "GET",
            debug=self.debug,
            introspection=self.introspection,
            logger=self.logger,
            error_formatter=self.error_formatter,
            extensions=extensions,
            middleware=middleware,
            middleware_manager_class=self.middleware_manager_class,
            execution_context_class=self.execution_context_class,
        )
        return await asyncio.get_running_loop().run_in_executor(self.pool, run)

    def close(self) -> None:
        """Let the workers finish what they run and exit (the app is shutting down)."""
        self.pool.shutdown(wait=False, cancel_futures=True)
