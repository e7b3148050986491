"""From a response body to normalized text, in worker processes."""
