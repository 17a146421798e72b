"""Pure renderers: settings and sources of truth in, text or dicts out. No Pulumi runtime here."""
