#!/usr/bin/env bash
# The README's callback (回拨) walk-through, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: TOKEN=<the token it printed> bash docs/tours/callback.sh
set -euo pipefail
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# A callback card of 30.00 on the demo tariff, sold; its number and PIN are in cb.csv
ringledger cards issue --kind callback --count 1 --face 30.00 --plan demo --batch CB2026 --out cb.csv
ringledger cards activate --batch CB2026 --from 1 --to 1
CARD=$(sed -n 2p cb.csv | cut -d, -f3) PIN=$(sed -n 2p cb.csv | cut -d, -f4)
sms() {  # a text from 13900139000 to the access number, through make run's SMS gateway inlet
  curl -sS -w '\n' "$URL/v1/sms/inbound" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "{\"from\":\"13900139000\",\"to\":\"10690000\",\"text\":\"$1\"}"
}
# The subscriber binds the card to the phone by SMS; the answer shows the reply the gateway sent back
sms "BD $CARD $PIN"
# {"received":true,"replies":[{"id":"log-1","from":"10690000","to":"+8613900139000",
#  "text":"绑定成功：卡…已绑定本机号码+8613900139000，余额30.0000元。"}]}

# The subscriber rings the access number 95013. The switch asks the hook: reject the call unanswered, and
# the dialer rings the subscriber back (leg A, call id cb-1-a; make run's dialer only logs it)
curl -sS -w '\n' "$URL/v1/callback/calls" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"call_id":"cb-1","caller":"13900139000","access_number":"95013"}'
# {"call_id":"cb-1","reject":true,"callback":true,...,"leg_a":"cb-1-a","max_seconds":90,"balance":"30.0000",...}

# The subscriber keys 01062345678: leg B (cb-1-b) and leg A are held together, a slice at a time. A
# bridged second costs both legs (0.20 + 0.10 a minute at peak); the first grant is one 300 s slice of
# each leg (leg A's includes its 90 s of setup), extended by interims while money lasts, and an answer
# says low_balance (play the warning) once less than 2.00 would be left
curl -sS -w '\n' "$URL/v1/callback/calls/cb-1/destination" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"destination":"01062345678"}'
# {"call_id":"cb-1","bridged":true,...,"max_seconds":210,"leg_a":"cb-1-a","leg_b":"cb-1-b",...,
#  "price_per_minute":"0.3000","hold":"1.5000","warn_after_seconds":210,"low_balance":false,...}

# Both legs are answered and reported on the ordinary hooks; after 125 s of talk leg B hangs up,
# and the switch closes the callback with leg A's 155 s (it rang and waited for the keys 30 s more)
for leg in cb-1-a cb-1-b; do
  curl -sS -o /dev/null "$URL/v1/calls/$leg/answer" -H "Authorization: Bearer $TOKEN" -d '{}'
done
curl -sS -w '\n' "$URL/v1/calls/cb-1-b/end" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"billsec":125}'
curl -sS -w '\n' "$URL/v1/callback/calls/cb-1/end" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"leg_a_billsec":155,"cause":"normal_clearing"}'
# {"call_id":"cb-1","status":"ended","charged":"0.9000","leg_a_charged":"0.6000","leg_b_charged":"0.3000",
#  "account":"…","balance":"29.1000",...}

# The balance for the IVR to announce, and by SMS; a 50.00 voucher recharged by SMS ("CZ <voucher> <PIN>")
curl -sS -w '\n' "$URL/v1/accounts/by-number/13900139000/balance" -H "Authorization: Bearer $TOKEN"
sms "CX"
ringledger cards issue --kind voucher --count 1 --face 50.00 --batch CBV2026 --out cbv.csv
ringledger cards activate --batch CBV2026 --from 1 --to 1
sms "CZ $(sed -n 2p cbv.csv | cut -d, -f3) $(sed -n 2p cbv.csv | cut -d, -f4)"
# {"received":true,"replies":[{...,"text":"充值成功：50.0000元已充入账户…，余额79.1000元。"}]}
# Every text the gateway sent to the subscriber, and the books
curl -sS -w '\n' "$URL/v1/sms/outbox?to=%2B8613900139000" -H "Authorization: Bearer $TOKEN"
ringledger ledger trial-balance
