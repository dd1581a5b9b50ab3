"""Words and checks read off a run graph: captions, chain-rule paths, diagnostics, gradient check, report."""
