"""pingcli's domain: profiles, grants, tokens, audit identity, ports and use cases (no I/O)."""
