"""Safety: trust of project folders, secrets kept from the model, and (growing) the OS sandbox,
command parsing and approval policy."""
