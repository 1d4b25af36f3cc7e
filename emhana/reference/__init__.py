"""Reference data: the KATO classifier and regions, packaged with their licences."""
