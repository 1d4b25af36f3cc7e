"""The Fund's database of healthcare entities: entities, licences, sites, districts, practitioners."""
