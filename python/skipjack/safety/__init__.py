"""Safety layers: trust of project folders, the OS sandbox for commands, approvals."""
