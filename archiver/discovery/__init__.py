"""From a feed, a sitemap or a front page (bytes the run fetched) to a bounded list of article
URLs."""
