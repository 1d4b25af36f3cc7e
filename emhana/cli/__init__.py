"""emhana.cli.main."""
