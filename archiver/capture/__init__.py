"""From a URL to the bytes that crossed the wire, within the fetch policy."""
