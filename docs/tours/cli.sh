#!/usr/bin/env bash
# The README's "CLI walk-through", run by tests/e2e/test_tours.py against a fresh `make run`.
# Run it from the repository root while `make run` serves: bash docs/tours/cli.sh
set -euo pipefail
if [ -d .venv/bin ]; then PATH="$PWD/.venv/bin:$PATH"; fi
# --- README block ---
# A subscriber account on the demo tariff, with a PIN, some credit, and a phone number of its own
ringledger accounts open --number 8613001 --pin 123456 --plan demo
ringledger accounts adjust 8613001 20.00 --reason "welcome credit"
ringledger accounts bind 8613001 13800138001

# A batch of 1,000 recharge vouchers of 50.00. The PINs go to the CSV file
# for the printer (mode 0600) and nowhere else.
ringledger cards issue --kind voucher --count 1000 --face 50.00 --batch V2026A --out v2026a.csv

# Sell (activate) serials 1-100, then redeem the first voucher into the
# account bound to 13800138001
ringledger cards activate --batch V2026A --from 1 --to 100
ringledger vouchers redeem "$(sed -n 2p v2026a.csv | cut -d, -f3)" --phone 13800138001 \
    --pin "$(sed -n 2p v2026a.csv | cut -d, -f4)"

# Move money between accounts or cards (资费转移), then look at the books
ringledger accounts open --number 8613002 --plan demo
ringledger accounts transfer 8613001 8613002 12.50
ringledger accounts show 8613001         # balance 57.5000: 20.00 + 50.00 - 12.50

# A new PIN (it also clears a wrong-PIN lockout), then check it; without a
# terminal the PIN must be given as an option, never asked for
ringledger accounts pin 8613001 --new-pin 654321
ringledger accounts check-pin 8613001 --pin 654321
ringledger cards list --batch V2026A --status redeemed
ringledger cards batches
ringledger ledger trial-balance          # exits 1 if the books do not balance
