"""The archive on disk and in git: page files, meta.json, versions, state, the lock."""
