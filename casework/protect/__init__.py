"""Protected data: the key ring, field encryption, blind indexes and the audit chain (DESIGN §3.3–3.4)."""
