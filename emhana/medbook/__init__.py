"""Personal medical books (жеке медициналық кітапша / личная медицинская книжка): decreed groups, journal, clearance, seals."""
