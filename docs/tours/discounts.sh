#!/usr/bin/env bash
# The README's discounts tour, run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: TOKEN=<the token it printed> bash docs/tours/discounts.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
: "${TOKEN:?set TOKEN to the switch token that make run printed}"
# --- README block ---
URL=${RINGLEDGER_URL:-http://127.0.0.1:8080}
# Sell a card of 50.00 face for 45.00: cash gets 45.00, house:discounts:cards 5.00, the card 50.00 of credit
ringledger cards issue --kind voucher --count 1 --face 50.00 --batch PROMO1 --out promo1.csv
ringledger cards activate --batch PROMO1 --price 45.00
ringledger reports inventory --batch PROMO1      # paid 45.0000, discount 5.0000

# Tariff "promo" (the sample deck) with 20 % off every call and 50 % off local calls in the offpeak band
ringledger tariffs import docs/tours/retail-deck.csv --plan promo --effective 2026-11-01T00:00:00+08:00
ringledger tariffs discount promo --percent 20
ringledger tariffs discount promo --percent 50 --category local --band offpeak

# An account on it; a 125-second local call at the peak price 0.15/min: list 0.45, discount 0.09, charged 0.36
ringledger accounts open --number 8613009 --plan promo
ringledger accounts adjust 8613009 10.00 --reason "promo credit"
ringledger accounts bind 8613009 13800138009
curl -sS -w '\n' "$URL/v1/calls/authorize" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"call_id":"promo-1","caller":"+8613800138009","callee":"01062345678","service":"direct"}'
curl -sS -w '\n' "$URL/v1/calls/promo-1/end" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"billsec":125}'
ringledger calls list --account 8613009 --json
ringledger ledger trial-balance --json
