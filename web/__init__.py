"""Shelfsync's Flask app: settings UI and webhook receivers."""
