"""grader: an autograder and test harness for deep-learning homework."""

__version__ = "0.1.0"
