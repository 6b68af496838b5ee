"""Database management for operators: backup and restore, retention, and the database's statistics."""
