"""Upper bounds on what the web and chats can make the bot store and show (one place to read)."""

from __future__ import annotations

# Pieces: what an article page or a feed entry can put in a stored piece.
TITLE_CHARS = 300
STANDFIRST_CHARS = 1_000
OUTLET_CHARS = 120
AUTHOR_CHARS = 120
AUTHORS = 10
AUTHOR_BIO_CHARS = 1_000
DISCLAIMER_CHARS = 1_000
PULL_QUOTE_CHARS = 500
PULL_QUOTES = 5
TEXT_CHARS = 300_000  # about 50,000 words: longer "articles" are cut, not refused
GUID_CHARS = 500
URL_CHARS = 2_000

# Sources: a feed's own title names the source in /sources and as the outlet of its pieces.
SOURCE_TITLE_CHARS = 120
