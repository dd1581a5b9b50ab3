"""nngraph: computation graphs with the forward value over every edge and the gradient under it.

    import graphviz_nn as nn
    t = nn.trace("x**2+x*y+(x+y)**2", x=1, y=2)        # a formula, values as keywords
    x, y = nn.var("x", 1.0), nn.var("y", 2.0)           # or micrograd style
    t = nn.trace(nn.relu(x*y) + nn.exp(x))
    t = nn.trace("h1 = relu(w*x1); L = (h1 - y)**2", w=0.5, x1=1, y=2, const=["y"])   # a program
    with nn.group("t = 1"):                             # a titled box in the picture
        h1 = nn.relu(w*x1).named("h1")                  # a gate labelled h1

The functions a formula may call are here too (nn.exp, nn.relu, nn.sigmoid, nn.max, …), for Vars.
"""
__version__ = "0.1.0"

from .api import Trace, trace
from .ops import FUNCTIONS
from .trace.var import Var, fn, group, var

# nn.var stays the variable constructor: the variance is nn.fn.var (in formulas, var(X)).
globals().update({name: getattr(fn, name) for name in FUNCTIONS if name not in globals()})

__all__ = ["Trace", "trace", "var", "fn", "Var", "group", "__version__", *(n for n in FUNCTIONS if n != "var")]
