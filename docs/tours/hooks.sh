#!/usr/bin/env bash
# The README's switch-hook example, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: TOKEN=<the token it printed> bash docs/tours/hooks.sh
set -euo pipefail
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}   # where make run listens; TOKEN is the token it printed
curl -sS -w '\n' "$URL/v1/calls/authorize" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"call_id":"demo-1","caller":"+8613800138000","callee":"01062345678","service":"direct"}'
# {"call_id":"demo-1","authorized":true,"max_seconds":300,"granted_seconds":300,"account":"8000000001",
#  "balance":"100.0000","available":"99.5000","hold":"0.5000","low_balance":false,"destination":{"e164":"+861062345678",
#  "category":"local",...},"rate":{"plan":"demo","version":1,"price_per_minute":"0.1000","band":"peak",...}}
curl -sS -w '\n' "$URL/v1/calls/demo-1/end" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"billsec":125,"cause":"normal_clearing"}'
# {"call_id":"demo-1","charged":"0.3000","cost":"0.3000","balance":"99.7000",...}
curl -sS -w '\n' "$URL/v1/accounts/by-number/13800138000/balance" -H "Authorization: Bearer $TOKEN"
# {"account":"8000000001","balance":"99.7000",...}
