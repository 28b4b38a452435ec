"""Model versions linked to their data and features, training runs, aliases, trace and reproduce."""
