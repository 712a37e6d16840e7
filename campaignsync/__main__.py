"""`python -m campaignsync` runs the command-line interface."""

from campaignsync.cli import main

main()
