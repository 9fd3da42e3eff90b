"""Ports that only log what they are asked: what `make run` wires until a switch and an SMS gateway are."""
