"""Words and checks read off a run graph: captions, chain-rule paths, diagnostics, the gradient
check, float noise for people, the student's answers (--expect), the report (table and JSON)."""
