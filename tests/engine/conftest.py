"""Engine tests: the fixture pack and the known submissions are data, not tests."""

collect_ignore = ["packroot", "submissions"]
