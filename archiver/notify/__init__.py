"""Telling the user what a run found: one message per run and target, sent through Apprise after
the commit, and kept in the state database's outbox while a target refuses it."""
