"""The gated, Hugging-Face-compatible model hub."""
