"""Build a blog from Markdown posts whose Keras snippets are completed and executed."""
