"""descend.dialects: the dialects that ship with descend, registered in every new Context."""

ALL_DIALECTS: list = []
