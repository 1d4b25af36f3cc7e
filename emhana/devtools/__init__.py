"""emhana.devtools."""
