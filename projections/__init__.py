"""Read models fed from the event log; each is rebuildable from zero."""
