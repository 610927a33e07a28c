"""The e-mail channel: the words in the requester's language, the rendered message, the SMTP send."""
