"""Queue backends other than the built-in local one (Celery over Redis)."""
