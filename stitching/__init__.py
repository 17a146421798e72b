"""The stitching service: links a customer's identifiers into one profile (api -> domain -> store)."""
