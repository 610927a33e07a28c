"""The knowledge base as tier 2 and tier 3 write it: publish, update, retire, or start from a resolved ticket."""
