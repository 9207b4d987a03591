"""Settings, API keys and project instructions."""
