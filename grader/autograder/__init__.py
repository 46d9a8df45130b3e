"""Gradescope autograder zip: ``grader build-autograder`` packs the engine and one assignment."""
