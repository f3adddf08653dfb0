"""Domain services: plain async Python over the database and a clock. No Discord here."""
