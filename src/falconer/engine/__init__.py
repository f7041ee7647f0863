"""Running instructions over a corpus: annotate a sample, train the proxy, execute, report."""
