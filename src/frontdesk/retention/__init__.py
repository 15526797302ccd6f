"""Retention and privacy: old conversations deleted on a schedule, one end user's data
erased, a conversation exported as JSON.

``policy`` says how long each tenant keeps conversations; ``service`` deletes and exports
(the conversation store and the media store together); ``claims`` lets exactly one worker
of many run a periodic job per interval; ``job`` is the periodic retention run; ``export``
renders a conversation as JSON.
"""
