"""Audit: compare offline plans into a report for reviewers, with pictures of the flows."""
