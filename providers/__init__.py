"""Helpers owned by the AI providers: function tools, fault classification, usage records."""
