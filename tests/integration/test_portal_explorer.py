"""The GraphiQL page works on a machine without internet: all its code comes from this app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ringledger.container import Container
from ringledger.server import create_app


def test_the_explorer_page_loads_every_script_and_style_from_the_app_itself(container: Container) -> None:
    client = TestClient(create_app(container))
    page = client.get("/graphql", headers={"Accept": "text/html"}).text
    sources = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page)
    assert len(sources) == 4, sources
    assert not [s for s in sources if "//" in s], "the page must not load anything from another host"
    for source in sources:
        answer = client.get(source)
        assert answer.status_code == 200 and len(answer.content) > 1000, source
    assert b"GraphiQL" in client.get("/graphql-assets/graphiql.min.js").content
    assert client.get("/graphql-assets/..%2Fviews.py").status_code == 404
    assert client.get("/graphql-assets/style.css").status_code == 404  # only the files the page uses
