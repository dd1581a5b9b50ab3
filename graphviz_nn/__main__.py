"""`python -m graphviz_nn …` is the nngraph command."""
from .cli import entry_point

entry_point()
