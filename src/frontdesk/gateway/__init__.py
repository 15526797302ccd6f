"""``/v1/chat/completions`` as a plain LLM gateway for API-key holders: the vendor
endpoints of the bot config behind auth, limits, budgets, fallback and cost accounting."""
