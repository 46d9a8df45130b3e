"""``grader audit PACK``: mutation testing of a pack's own tests, run on its reference.

The reference is mutated the way students get deep-learning code wrong (:mod:`.operators`),
each mutant is graded like a hand-in (:mod:`.run`), and the report (:mod:`.report`) lists
the mutants the pack's tests let through: the bugs a student could hand in for full marks.
"""
