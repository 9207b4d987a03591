"""`skipjack rpc`: the agent as a long-lived process other programs drive (JSON lines)."""
