#!/usr/bin/env bash
# The README's tariff, CDR and rerating tour, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: TOKEN=<the token it printed> bash docs/tours/tariffs.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# Publish the sample deck as tariff "retail" (bad rows: listed by line, exit 2, nothing published),
# export it back as a deck (the file is replaced only if the export succeeds), list every version
ringledger tariffs import docs/tours/retail-deck.csv --plan retail --effective 2026-11-01T00:00:00+08:00
ringledger tariffs export --plan retail --out retail-export.csv
ringledger tariffs list

# A 125-second call on the demo account, priced at its own tariff "demo"; then its CDR
curl -sS -w '\n' "$URL/v1/calls/authorize" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"call_id":"tour-1","caller":"+8613800138000","callee":"01062345678","service":"direct"}'
curl -sS -w '\n' "$URL/v1/calls/tour-1/end" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"billsec":125}'
ringledger calls list --account 8000000001

# Price the calls since 1 November again at "retail" (手工重新计费): each difference is a new debit or credit
ringledger calls rerate --account 8000000001 --from 2026-11-01T00:00:00+08:00 --plan retail
ringledger calls block 13900000000        # blacklist a caller (per account with --account, or for all)
