"""The annotator: the LLM labels a sample of the corpus, grounded and recorded."""
