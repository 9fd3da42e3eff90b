"""Rating: from dialled digits to a price, without I/O and without a clock.

`numberplan` turns what a subscriber dialled into an E.164 destination and a
tariff category; `tariffs` holds versioned rate tables and finds the row for a
destination; `rate` prices a call (and inverts the price for real-time
charging); `deck` reads and writes rate tables as CSV. Money is always int
ten-thousandths of the currency unit; time always comes in as an argument.
"""
