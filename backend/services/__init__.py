"""Services: load state, call the pure domain rules, write the result in one transaction."""
