"""emhana: the open national registry for Kazakhstan's primary health care."""

__version__ = "0.1.0"
