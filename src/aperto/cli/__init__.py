"""Command line adapter: parses input, calls the library, prints, picks exit codes."""
