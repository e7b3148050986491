"""One run: the worker pool, classification, results, the schedule, rebuild and recovery."""
