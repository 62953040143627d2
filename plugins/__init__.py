"""Shelfsync's built-in platform plugins, each registered through the `shelfsync` entry points."""
