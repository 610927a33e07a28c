"""Fan-out: what each ticket event becomes, who is told of it and on which channel."""
