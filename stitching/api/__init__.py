"""The HTTP layer: parse, call the service, map errors to statuses."""
