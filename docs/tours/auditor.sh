#!/usr/bin/env bash
# The README's auditor's tour, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: bash docs/tours/auditor.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# Note the head of the digest chain (position and digest)
ringledger audit digest --json | tee digest.json
# Every account's balance and holds now, computed from the events alone
ringledger audit replay --as-of "$(date +%Y-%m-%dT%H:%M:%S%z)" --format csv --out balances.csv
# Rebuild every view aside and compare, walk the trial balance, check the chain and the noted digest
ringledger audit verify --digest "$(python -c 'import json; print(json.load(open("digest.json"))["digest"])')" \
    --position "$(python -c 'import json; print(json.load(open("digest.json"))["position"])')"

# An auditor's key reads everything in GraphQL, including auditDigest, and changes nothing
KEY=$(ringledger keys create --role auditor --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql '{ auditDigest { position digest } account(number: "8000000001") { balance } }'
gql 'mutation { adjust(number: "8000000001", amount: "1.00", reason: "try") { balance } }'   # refused: forbidden
