"""The inbox: a durable inbound queue with dedup, in three interchangeable backends.

* ``memory.MemoryInbox``: in-process twin for unit tests (not durable).
* ``sql.SqlInbox``: the embedded default, a table in the service's SQLite/PostgreSQL database.
* ``redis_streams.RedisStreamsInbox``: production, a Redis Stream with one consumer group.

Each implements ``handlers.ports.Inbox`` (put) and ``handlers.ports.InboxConsumer`` (take, ack,
reclaim, metrics) structurally; ``bot/app.py`` picks one from config.
"""
