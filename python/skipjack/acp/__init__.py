"""`skipjack acp`: skipjack hosted by an editor over the Agent Client Protocol (stdio)."""
