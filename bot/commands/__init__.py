"""The implementations of the ``support-router`` subcommands, one module per group."""
