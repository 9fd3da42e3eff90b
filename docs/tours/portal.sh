#!/usr/bin/env bash
# The README's bar owner's tour of the GraphQL portal, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: TOKEN=<the token it printed> bash docs/tours/portal.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# A walk-in customer calls from booth 3 of the demo phone bar 5550001 for 200 s (the switch's side)
curl -sS -w '\n' "$URL/v1/calls/authorize" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"call_id":"booth3-1","caller":"+861062340003","callee":"01062345678","service":"phonebar","account":"5550001","booth":"3"}'
curl -sS -w '\n' "$URL/v1/calls/booth3-1/answer" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}'
curl -sS -w '\n' "$URL/v1/calls/booth3-1/end" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"billsec":200}'

# The bar owner's key (shown once), and a helper that posts one GraphQL query with it
KEY=$(ringledger keys create --role bar_owner --bar 5550001 --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql '{ account(number: "5550001") { balance available holds { hold amount } } }'
gql '{ cdrs(filter: {booth: "3", from: "2026-11-01T00:00:00+08:00"}, first: 50) {
  edges { node { callId callee billsec cost authorizedAt } } pageInfo { hasNextPage endCursor } } }'
# next page: pass endCursor as `after`
MONTH=$(TZ=Asia/Shanghai date +%Y-%m-01) TODAY=$(TZ=Asia/Shanghai date +%F)
gql "{ barStatement(from: \"$MONTH\", to: \"$TODAY\") { rows { day attempts answered asr acd minutes cost } csv } }"
# Another account is not the bar owner's to see: the answer is an error with extensions.code
gql '{ account(number: "8000000001") { balance } }'
