"""Pulumi components: one ComponentResource per module, shape ``(name, args, opts=None)``."""
