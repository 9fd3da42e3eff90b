"""The GraphiQL explorer page, with its code served by this app: it works on a machine without internet.

GraphiQL's JS and CSS come from a package installed with ringledger
(`graphene-django-graphiql-static`, used only as a source of those files);
the page loads nothing from any other host.
"""

from __future__ import annotations

import html
from functools import lru_cache
from importlib.resources import files
from typing import Any

from ariadne.explorer import Explorer

ASSET_PATH = "/graphql-assets/"
_PACKAGE = "graphene_django_graphiql_static"
#: The files the page uses, and their content types; nothing else is served.
ASSETS = {
    "graphiql.min.css": "text/css; charset=utf-8",
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
  <link rel="stylesheet" href="{path}graphiql.min.css">
  <script src="{path}react.production.min.js"></script>
  <script src="{path}react-dom.production.min.js"></script>
  <script src="{path}graphiql.min.js"></script>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
    ReactDOM.render(
      React.createElement(GraphiQL, {{
        fetcher: fetcher,
        defaultEditorToolsVisibility: "headers",
        defaultHeaders: '{{"Authorization": "Bearer rlk_…"}}',
      }}),
      document.getElementById("graphiql"),
    );
  </script>
</body>
</html>
"""


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> bytes | None:
    """The bytes of one of `ASSETS`, else None."""
    if name not in ASSETS:
        return None
    return (files(_PACKAGE) / "static" / _PACKAGE / name).read_bytes()


class OfflineGraphiQL(Explorer):
    def __init__(self, title: str = "GraphiQL") -> None:
        self._page = _PAGE.format(title=html.escape(title), path=ASSET_PATH)

    def html(self, request: Any) -> str:
        return self._page
