"""The live stream: every public event stored in order, replayed from a resume point and followed live (SSE)."""
