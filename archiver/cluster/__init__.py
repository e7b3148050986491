"""Distributed runs: `archiver worker` processes on any machine capture a run's jobs, taken from a
Redis broker through Dramatiq, and the run that enqueued them settles and commits what they bring."""
