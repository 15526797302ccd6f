"""Tenants with their own bots: one deployment, many support bots.

Each tenant is a row of the ``tenants`` table holding a validated document
(:class:`~frontdesk.tenants.config.TenantConfig`: the bot config, branding, widget
origins, retention), and a public site key the web chat and widget choose it by. The
``default`` tenant is the bot of ``FRONTDESK_BOT_CONFIG`` and has no row.
"""
