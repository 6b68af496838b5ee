"""Safety policies applied by content to every request and reply, whatever the pool."""
