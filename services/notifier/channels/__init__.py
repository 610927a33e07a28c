"""How one delivery goes out: a signed webhook call, or an e-mail over SMTP."""
