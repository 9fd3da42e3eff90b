"""The edges: each adapter translates a wire protocol into ledger commands and back."""
