"""Data actions: their definitions (``data_actions/*.json``), static checks, and an offline runner."""
