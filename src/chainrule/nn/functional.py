"""``chainrule.nn.functional``, where PyTorch users look for it: the same functions as
``chainrule.autograd.functional`` (one definition, two addresses).

>>> import chainrule as cr, chainrule.nn.functional as F
>>> F.relu(cr.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from ..autograd.functional import *  # noqa: F401,F403
from ..autograd.functional import __all__  # noqa: F401
