"""Chat providers: one module per API dialect, plus wrappers and a scripted fake."""
