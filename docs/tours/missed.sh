#!/usr/bin/env bash
# The README's missed-call notification (来电提醒) walk-through, run by tests/e2e/test_tours.py against a fresh
# `make run` after the recurring-fee tour. Run it from the repository root while `make run` serves:
# TOKEN=<the token it printed> bash docs/tours/missed.sh
set -euo pipefail
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
post() {  # what the switch sends: POST a JSON body to a hook
  curl -sS -w '\n' "$URL$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2"
}
sms() {  # a text from $1 to the access number, through make run's SMS gateway inlet
  post /v1/sms/inbound "{\"from\":\"$1\",\"to\":\"10690000\",\"text\":\"$2\"}"
}
# Subscriber 13600136001 (account 8000000088) takes both subscriptions (来话提示, 遇忙提示) at 2.00 a month
ringledger accounts open --number 8000000088 --plan demo
ringledger accounts deposit 8000000088 10.00
ringledger accounts bind 8000000088 13600136001
ringledger subscriptions add 8000000088 missed_call_off --fee 2.00 --json
ringledger subscriptions add 8000000088 missed_call_busy --fee 2.00 --json
# The operator appends a daytime advert (08:00-20:00) to every notice
KEY=$(ringledger keys create --role operator --json | python -c 'import json,sys; print(json.load(sys.stdin)["token"])')
gql() {
  python -c 'import json,sys; print(json.dumps({"query": sys.argv[1]}))' "$1" |
    curl -sS -w '\n' "$URL/graphql" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d @-
}
gql 'mutation { setMissedCallAdvert(input: {name: "daytime", text: "XX公司竭诚为您服务", fromHour: 8, toHour: 20})
  { name fromHour toHour } }'

# The phone is off: the switch forwards three calls from the demo subscriber 13800138000 and reports each
# missed call with its cause; one caller within one hour is one notice window
post /v1/missed-calls '{"call_id":"mc-1","caller":"13800138000","callee":"13600136001","cause":"off"}'
# {"call_id":"mc-1",...,"service":"missed_call_off","recorded":true,"reason":null,...,"count":1,...}
post /v1/missed-calls '{"call_id":"mc-2","caller":"13800138000","callee":"13600136001","cause":"out_of_area"}'
post /v1/missed-calls '{"call_id":"mc-3","caller":"13800138000","callee":"13600136001","cause":"busy"}'
# At the IVR the caller asks to be told when the callee is reachable again (0.10 when the SMS goes)
post /v1/missed-calls/reachable-requests '{"call_id":"mc-3","caller":"13800138000","callee":"13600136001"}'
# {...,"notify":"+8613800138000","fee":"0.1000","accepted":true,...}

# The phone registers again: one SMS per window to the callee, the caller's SMS charged to the caller.
# A retried report (same event_id) sends nothing more.
post /v1/missed-calls/reachable '{"event_id":"reg-1","callee":"13600136001"}'
post /v1/missed-calls/reachable '{"event_id":"reg-1","callee":"13600136001"}'
curl -sS -w '\n' "$URL/v1/sms/outbox?to=%2B8613600136001" -H "Authorization: Bearer $TOKEN"
# {"messages":[{...,"text":"您好，用户13800138000于…月…日14时呼叫您3次，请回电！XX公司竭诚为您服务"}]}
curl -sS -w '\n' "$URL/v1/sms/outbox?to=%2B8613800138000" -H "Authorization: Bearer $TOKEN"
# {"messages":[...,{...,"text":"您好，用户13600136001已可达，请及时联系。XX公司竭诚为您服务"}]}

# The owner's menu by SMS: the history on request (0.10), a PIN for the IVR menu, a blacklisted caller
sms 13600136001 "LD"
sms 13600136001 "SZMM 135790"
sms 13600136001 "HMD 13800138000"
post /v1/missed-calls '{"call_id":"mc-4","caller":"13800138000","callee":"13600136001","cause":"off"}'
# {...,"recorded":false,"reason":"blacklisted",...}
# The same menu by IVR, with the PIN: history read out (0.10 again), the caller let back
post /v1/missed-calls/owner/history '{"call_id":"ivr-1","number":"13600136001","pin":"135790"}'
post /v1/missed-calls/owner/blacklist '{"number":"13600136001","pin":"135790","caller":"13800138000","blocked":false}'
# 10.00 - 2 x 2.00 fees - 2 x 0.10 histories = 5.80; the books balance
ringledger accounts show 8000000088
ringledger ledger trial-balance --json
