"""One module per command (or command group); `campaignsync.cli` registers them all.

Commands parse options, wire the pieces together and render; they decide nothing that
the planner, applier or renderers decide.
"""
