"""Batch grading: many submissions at once, and what is made from their results."""
