#!/usr/bin/env bash
# The README's phone-bar tour (booths, board, checkout, bill), run by tests/e2e/test_tours.py against a fresh `make run`
# after the tariff and portal tours. Run it from the repository root while `make run` serves:
# TOKEN=<the token it printed> bash docs/tours/phonebar.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# The demo bar 5550001 gets two booths: 1 dials local and mobile numbers only, 2 anything but Hong Kong (852).
# Walk-in customers pay the "retail" tariff of the tariff tour; the owner gets an SMS under 199.00.
ringledger bars booth add 5550001 1 --categories local,mobile
ringledger bars booth add 5550001 2 --deny 852
ringledger accounts retail-plan 5550001 retail
ringledger bars alert 5550001 --below 199.00 --phone 13900139000

# The switch asks: booth 1 may not call the USA, and the bar has no booth 9
hook() {
  curl -sS -w '\n' "$URL/v1/calls/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"
}
hook authorize '{"call_id":"bar-usa","caller":"+861062340003","callee":"+14155550100","service":"phonebar","account":"5550001","booth":"1"}'
hook authorize '{"call_id":"bar-9","caller":"+861062340003","callee":"01062345678","service":"phonebar","account":"5550001","booth":"9"}'
# {"call_id":"bar-usa","authorized":false,"reason":"booth_not_permitted",...}, then "reason":"unknown_booth"

# Booth 2 calls a mobile; the live board shows it talking; the customer hangs up after 300 s
hook authorize '{"call_id":"bar-1","caller":"+861062340003","callee":"13800138000","service":"phonebar","account":"5550001","booth":"2"}'
hook bar-1/answer '{}'
ringledger bars board 5550001 --json
hook bar-1/end '{"billsec":300}'

# The customer pays: check booth 2 out and print the bill (every call since the last checkout, at retail)
ringledger bars checkout 5550001 2 --html bill.html --json

# The owner sees the same in GraphQL, and fetches the printable page with its key
KEY=$(ringledger keys create --role bar_owner --bar 5550001 --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql '{ boothBoard { booth state dialled elapsed running } boothBills { booth bill calls retailTotal } }'
curl -sS -o bill-page.html "$URL/bars/5550001/booths/2/bills/1" -H "Authorization: Bearer $KEY"
