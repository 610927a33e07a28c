"""Submission: accepting a ticket (POST /tickets), stored with its event before the 202."""
