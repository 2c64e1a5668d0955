"""The local web chat: the embedded default chat platform (no credentials, same pipeline)."""
