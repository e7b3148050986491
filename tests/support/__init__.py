"""What the tests share: real servers on loopback and the ways a user reads an archive back.

- `newssite`: a small news site speaking correct HTTP, edited and broken by tests while it runs.
- `hostile`: a raw-socket server that sends whatever bytes a test scripts.
- `commands`: the real `archiver` and `git` commands, run as a user or cron runs them.
- `archives`: an archive's settings and page files.
- `warcs`: WARC records read back with warcio, and `warcio check`.
- `userview`: the command run against hostile servers, and what a user sees of it (memory included).
- `evidence`, `replay`: an archive with history for verify, index, export and replay.
- `history`, `schedule`: the helpers of the version-history and schedule tests.
- `browser`: Chromium as the browser tests run it.
"""
