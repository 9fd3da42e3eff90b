"""Web pages a person reads or prints (the walk-in customer's bill)."""
