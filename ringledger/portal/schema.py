"""The executable schema: SDL from graphql/*.graphql, resolvers from this package."""

from __future__ import annotations

from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema

from graphql import GraphQLSchema
from ringledger.portal import (
    resolvers_accounts,
    resolvers_audit,
    resolvers_calls,
    resolvers_cards,
    resolvers_conferences,
    resolvers_forwarding,
    resolvers_missed_calls,
    resolvers_phonebar,
    resolvers_reports,
    resolvers_subscriptions,
    resolvers_tariffs,
)
from ringledger.portal.scalars import SCALARS

SDL_DIR = Path(__file__).resolve().parents[2] / "graphql"


def bindables() -> list[object]:
    modules = [resolvers_accounts, resolvers_cards, resolvers_calls, resolvers_reports, resolvers_audit, resolvers_tariffs,
               resolvers_conferences, resolvers_phonebar, resolvers_subscriptions,
               resolvers_forwarding, resolvers_missed_calls]
    return [*SCALARS, *(b for m in modules for b in m.BINDABLES)]


def build_schema() -> GraphQLSchema:
    return make_executable_schema(load_schema_from_path(SDL_DIR), *bindables(), convert_names_case=True)
