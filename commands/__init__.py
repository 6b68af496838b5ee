"""Request understanding: text to Command, owned by command_processor."""
