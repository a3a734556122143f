"""The agent workspace: thin views over ``tickets.selectors`` and ``tickets.services``."""
