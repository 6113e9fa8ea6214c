"""scikit-learn estimators around chainrule's MLPs: MLPClassifier and MLPRegressor.

They follow scikit-learn's estimator API (its developer guide, "Developing scikit-learn
estimators"): every constructor argument is stored as given and checked in ``fit``; inputs
are checked by scikit-learn's own ``validate_data``; fitted attributes end in ``_``. So they
drop into a Pipeline, GridSearchCV, ``clone`` and ``cross_val_score``, and pass
``sklearn.utils.estimator_checks.check_estimator``. Training is chainrule's: the classifier
runs ``chainrule.train.Trainer`` on a ``Data`` built from the arrays (quietly, no run folder);
the regressor runs the same loop with a mean-squared-error loss. Needs the ``sklearn`` extra.

>>> import numpy as np
>>> from chainrule.sklearn import MLPClassifier
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 8, np.float32)
>>> clf = MLPClassifier(model="16tanh", epochs=50, lr=0.05, random_state=0).fit(X, ["no", "yes", "yes", "no"] * 8)
>>> clf.predict(X[:4]).tolist()
['no', 'yes', 'yes', 'no']
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
