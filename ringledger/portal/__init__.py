"""The GraphQL portal: schema-first (SDL in graphql/*.graphql), resolvers bound here."""
