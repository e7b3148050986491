"""`python -m archiver` runs the command line."""

from .cli import main

if __name__ == "__main__":  # extraction worker processes import this module again: they must not run it
    main()
