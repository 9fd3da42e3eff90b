#!/usr/bin/env bash
# The README's conference tour (the switch's side, then the portal's), run by tests/e2e/test_tours.py
# against a fresh `make run`. Run it from the repository root while `make run` serves:
# TOKEN=<the token it printed> bash docs/tours/conferences.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
post() {  # what the switch sends: POST a JSON body to a hook
  curl -sS -w '\n' "$URL$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"
}
# The demo subscriber rings the conference access number: rejected unanswered, called back at once
TRIGGER=$(post /v1/conferences '{"call_id":"access-1","caller":"+8613800138000"}'); echo "$TRIGGER"
# {"conference_id":"i…","accepted":true,"status":"running","legs":["i…-1"],"answer":"reject",...}
CONF=$(echo "$TRIGGER" | python -c 'import json,sys; print(json.load(sys.stdin)["conference_id"])')
leg() {  # the switch places leg $1 to $2: authorized as a conference leg on the initiator's account, answered
  post /v1/calls/authorize "{\"call_id\":\"$1\",\"caller\":\"+8613800138000\",\"callee\":\"$2\",\
\"service\":\"conference\",\"conference_id\":\"$CONF\",\"account\":\"8000000001\"}"
  post "/v1/calls/$1/answer" '{}'
  post "/v1/conferences/$CONF/legs/$1" '{"event":"joined"}'
}
leg "$CONF-1" +8613800138000
# The initiator keys a participant (a Shanghai number: long distance); the platform calls it as leg 2
post "/v1/conferences/$CONF/participants" '{"number":"02150001234"}'
leg "$CONF-2" 02150001234
# The initiator hangs up: the conference ends, leg 2 is cut; the switch reports both legs' ends
post "/v1/conferences/$CONF/legs/$CONF-1" '{"event":"hangup","cause":"normal_clearing"}'
post "/v1/calls/$CONF-2/end" '{"billsec":60}'     # {"charged":"0.3000",...}: 60 s long distance at 0.30
post "/v1/calls/$CONF-1/end" '{"billsec":90}'     # {"charged":"0.4000",...}: 2 min to a mobile at 0.20
# The subscriber changes their PIN by phone, and back (a wrong old PIN answers "changed": false and counts)
post /v1/accounts/13800138000/pin/change '{"old_pin":"123456","new_pin":"246810"}'
post /v1/accounts/13800138000/pin/change '{"old_pin":"246810","new_pin":"123456"}'

# The operator books tomorrow's conference through the portal, reads it, and cancels it
KEY=$(ringledger keys create --role operator --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql "{ conference(id: \"$CONF\") { status endCause charged legs { leg number category charged status } } }"
TOMORROW=$(TZ=Asia/Shanghai python -c 'import datetime as d; print(d.date.today() + d.timedelta(days=1))')
BOOKED=$(gql "mutation { bookConference(input: {initiator: \"13800138000\", participants: [\"01062345678\",
  \"02150001234\"], startAt: \"${TOMORROW}T09:00:00+08:00\", retries: 2, retryInterval: 120}) {
  conferenceId status startAt account } }"); echo "$BOOKED"
ID=$(echo "$BOOKED" | python -c 'import json,sys; print(json.load(sys.stdin)["data"]["bookConference"]["conferenceId"])')
gql "mutation { cancelConference(id: \"$ID\", reason: \"moved\") { status endCause } }"
gql '{ conferences(account: "8000000001") { edges { node { conferenceId mode status charged } } } }'
