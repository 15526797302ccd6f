"""HTTP interface: routes, SSE encoders, the one error mapping."""
