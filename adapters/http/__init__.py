"""REST switch hooks (v1): FastAPI router, wire models, bearer auth, error mapping."""
