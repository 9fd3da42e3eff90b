#!/usr/bin/env bash
# The README's recurring-fee tour (missed-call subscriptions and a lease), run by tests/e2e/test_tours.py against a
# fresh `make run` after the phone-bar tour. Run it from the repository root while `make run` serves:
# bash docs/tours/fees.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
# --- README block ---
# Subscriber 8000000077 takes both missed-call subscriptions (来话提示 off/out of area, 遇忙提示 busy) at
# 2.00 a month and leases a PBX line at 30.00 a month for 12 months. The first fees are charged at once:
# 5.00 pays the two subscriptions, not the lease, which is suspended with its fee as arrears.
ringledger accounts open --number 8000000077 --json
ringledger accounts deposit 8000000077 5.00
ringledger subscriptions add 8000000077 missed_call_off --fee 2.00 --json
ringledger subscriptions add 8000000077 missed_call_busy --fee 2.00 --json
ringledger subscriptions add 8000000077 lease:pbx-line --fee 30.00 --term 12 --json
# {"service":"lease:pbx-line","status":"suspended","arrears":"30.0000","unpaid_periods":["2026-12"],...}

# Money comes in: the deposit pays the arrears and resumes the lease at once, {"resumed":"lease:pbx-line",...}.
# (After any other credit, such as a voucher, the scheduler's run does it within a minute; so does
# `ringledger subscriptions charge`.) Each fee is charged once a period, on its day in the operator's zone.
ringledger accounts deposit 8000000077 40.00
ringledger subscriptions list --account 8000000077 --json
ringledger subscriptions history 8000000077 --service lease:pbx-line --json
# [{"period":"2026-12","outcome":"unpaid",...},{"period":"2026-12","outcome":"paid","amount":"30.0000",...}]
ringledger subscriptions cancel 8000000077 missed_call_busy --reason "moved away" --json
