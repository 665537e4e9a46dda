"""commentary-bot: follows opinion writing and posts faithful summaries to chats."""

__version__ = "0.1.0"
