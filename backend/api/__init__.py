"""HTTP layer: thin FastAPI routers over the services; errors mapped in one place."""
