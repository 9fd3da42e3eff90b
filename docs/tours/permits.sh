#!/usr/bin/env bash
# The README's call-permissions tour (an account limited by the operator), run by tests/e2e/test_tours.py against a
# fresh `make run`. Run it from the repository root while `make run` serves:
# TOKEN=<the token it printed> bash docs/tours/permits.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# Subscriber 8613003 may dial local and mobile numbers only, and never a number starting 861380013
ringledger accounts open --number 8613003 --plan demo
ringledger accounts deposit 8613003 10.00
ringledger accounts permissions 8613003 --categories local,mobile --deny 861380013
# {"number":"8613003",...,"permissions":{"categories":["local","mobile"],"allow":[],"deny":["861380013"]}}

# The switch asks: Hong Kong is refused (not_permitted) and holds nothing; a Beijing number goes through
hook() {
  curl -sS -w '\n' "$URL/v1/calls/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"
}
hook authorize '{"call_id":"lim-hk","caller":"+8613800138009","callee":"+85221234567","service":"direct","account":"8613003"}'
# {"call_id":"lim-hk","authorized":false,"reason":"not_permitted","message":"account 8613003 may not dial hmt numbers",...}
hook authorize '{"call_id":"lim-1","caller":"+8613800138009","callee":"01062345678","service":"direct","account":"8613003"}'
hook lim-1/end '{"billsec":60}'

# Without limits again: the account may dial anything it can pay for
ringledger accounts permissions 8613003 --clear
