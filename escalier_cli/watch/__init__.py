"""`escalier watch`: a live terminal view of the event stream and of each tier's queue."""
