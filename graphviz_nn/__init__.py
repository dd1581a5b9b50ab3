"""nngraph: computation graphs with the forward value over every edge and the gradient under it."""
__version__ = "0.1.0"

from .api import Trace, trace
from .trace.var import Var, fn, var

__all__ = ["Trace", "trace", "var", "fn", "Var", "__version__"]
