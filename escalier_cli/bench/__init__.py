"""`escalier bench`: load the pipeline, time it against bare HTTP and bare-bus references, report honestly."""
