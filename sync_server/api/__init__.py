"""HTTP routers; the only place where server errors become HTTP answers."""
