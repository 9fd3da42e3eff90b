#!/usr/bin/env bash
# The README's forwarding tour (a business's calls served in its name), run by tests/e2e/test_tours.py against a
# fresh `make run`. Run it from the repository root while `make run` serves:
# TOKEN=<the token it printed> bash docs/tours/forwarding.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# A shop forwards its Beijing number 010 6234 0000 to the platform; account 7100000001 pays for the forwarded legs.
# Three agents share its calls evenly: two Beijing lines and one in Shanghai (long distance from the shop).
ringledger accounts open --number 7100000001 --plan demo
ringledger accounts deposit 7100000001 20.00
ringledger forward register 01062340000 --account 7100000001 --greeting "欢迎致电示范公司" \
    --agents 01062345601,01062345602,02161234567
ringledger forward schedule +861062340000 --rule "1-7 08:00-20:00"   # every day, 08:00 to 20:00 Beijing time
ringledger forward blacklist +861062340000 --prefixes 86170

# The switch asks, naming the number the call was forwarded from: served in the shop's name by its first agent
hook() {
  curl -sS -w '\n' "$URL/v1/calls/$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"
}
hook authorize '{"call_id":"fw-1","caller":"+8613900139000","callee":"01062340000","service":"forward","forwarded_from":"01062340000"}'
# {"call_id":"fw-1","authorized":true,"account":"7100000001",...,"destination":{"e164":"+861062345601","category":"local",...},
#  "forward":{"business":"+861062340000","agent":"+861062345601",...,"presented_number":"+861062340000","greeting":"欢迎致电示范公司"}}
hook fw-1/answer '{}'
hook fw-1/end '{"billsec":75}'
# The next caller goes to the next agent and hangs up before an answer (abandoned); a blacklisted caller is refused
hook authorize '{"call_id":"fw-2","caller":"+8613900139001","callee":"01062340000","service":"forward","forwarded_from":"01062340000"}'
hook fw-2/end '{"billsec":0}'
hook authorize '{"call_id":"fw-3","caller":"+8617012345678","callee":"01062340000","service":"forward","forwarded_from":"01062340000"}'
# {"call_id":"fw-3","authorized":false,"reason":"blacklisted",...}

# The shop's own key: its calls, its agents' statistics and its bill; anything else is refused (forbidden)
KEY=$(ringledger keys create --role business --business +861062340000 --json |
      python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql '{ forwardedCalls { callId agent outcome reason charged } forwardingBill { calls answered charged balance } }'
gql '{ agentStatistics { agent offered answered abandoned abandonedWait } }'
gql '{ account(number: "8000000001") { balance } }'   # refused: forbidden
gql 'mutation { setForwardingSchedule(rules: [{days: [1,2,3,4,5], start: "09:00", end: "18:00"}]) { schedule { days start end } } }'
ringledger forward calls +861062340000 --agent +861062345601 --json
