"""Drafts of the congress documents: versions, comment rounds, review and approval by the city."""
