"""SMS gateways behind the `SmsGateway` port: Kannel (HTTP sendsms, get-url, dlr-url) and SMPP (transceiver)."""
