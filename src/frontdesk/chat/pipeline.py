"""The chat turn pipeline (re-exports): the service, one turn, background tasks."""

from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.service import ChatService
from frontdesk.chat.turn import Turn

__all__ = ["BackgroundTasks", "ChatService", "Turn"]
