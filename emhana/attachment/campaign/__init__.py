"""The campaign: its policy as versioned data (A-30..A-34) and the working-day calendar (A-52)."""
