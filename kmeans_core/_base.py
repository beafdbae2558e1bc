"""scikit-learn's estimator protocol, without importing scikit-learn.

``EstimatorMixin`` gives ``KMeans`` and ``PCA`` what scikit-learn's tools expect of an
estimator, so that ``clone``, ``Pipeline``, ``GridSearchCV`` and ``check_estimator`` work with
them:

* ``get_params`` / ``set_params``, read from the signature of ``__init__`` (whose arguments it
  only stores), as ``sklearn.base.BaseEstimator`` does;
* a ``__repr__`` that shows only the parameters that differ from their defaults;
* ``__sklearn_tags__``, which imports scikit-learn inside itself: only scikit-learn calls it;
* ``n_features_in_``, and ``feature_names_in_`` when fitted on a table with string column names
  (anything with a ``.columns``, such as a pandas DataFrame; pandas is never imported here),
  checked again, with scikit-learn's messages, whenever the fitted estimator is given new data.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings

import numpy as np

from kmeans_core._validation import check_array


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted estimator was called before ``fit``."""


@functools.cache
def _with_sklearn_not_fitted(sklearn_not_fitted):
    """``NotFittedError`` that is also scikit-learn's, so that its tools recognise it."""
    return type("NotFittedError", (NotFittedError, sklearn_not_fitted), {})


def _feature_names(X):
    """The column names of a table, as an object array, or None when X has no string names.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a table with ``.columns``

    Returns
    -------
    names : ndarray of shape (n_features,), dtype object, or None
    """
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "shape"):
        return None
    names = np.asarray(columns, dtype=object)
    if names.ndim != 1 or names.shape[0] == 0:
        return None
    types = sorted({type(name).__qualname__ for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, but "
            f"your input has {types} as feature name / column name types. Convert them all to "
            "str first, e.g. with X.columns = X.columns.astype(str)."
        )
    if types == ["str"]:
        return names
    return None


class EstimatorMixin:
    """Parameters, representation, tags and input-feature checks of a scikit-learn estimator.

    A subclass's ``__init__`` takes every parameter by name and stores each one unchanged as an
    attribute of the same name. Its ``fit`` calls ``self._validate_data(X, reset=True)`` and its
    other methods ``self._validate_data(X, reset=False)`` once fitted.
    """

    #: scikit-learn's estimator type ("clusterer", ...); None for a plain transformer.
    _estimator_type = None
    #: An attribute that only a fitted estimator has.
    _fitted_attribute = None

    def __sklearn_is_fitted__(self):
        return hasattr(self, self._fitted_attribute)

    def _check_fitted(self):
        """Raise ``NotFittedError`` unless ``fit`` has been called.

        When scikit-learn is loaded already (never imported here), the error is also an instance
        of ``sklearn.exceptions.NotFittedError``.
        """
        if self.__sklearn_is_fitted__():
            return
        error = NotFittedError
        sklearn_exceptions = sys.modules.get("sklearn.exceptions")
        if sklearn_exceptions is not None:
            error = _with_sklearn_not_fitted(sklearn_exceptions.NotFittedError)
        raise error(
            f"This {type(self).__name__} instance is not fitted yet; call fit(X) before using "
            "this method."
        )

    # ------------------------------------------------------------------ parameters

    @classmethod
    def _get_param_names(cls):
        """Names of the parameters of ``__init__``, sorted.

        Returns
        -------
        names : list of str
        """
        parameters = inspect.signature(cls.__init__).parameters.values()
        names = []
        for p in parameters:
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(
                    f"{cls.__name__}.__init__ takes *args; an estimator names every parameter."
                )
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        """The parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of parameters that are estimators themselves, as
            ``<parameter>__<name>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        out = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", v) for key, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set parameters of this estimator (``<parameter>__<name>`` reaches nested ones).

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            name, delim, sub_name = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. "
                    f"Valid parameters are: {self._get_param_names()!r}."
                )
            if delim:
                nested.setdefault(name, {})[sub_name] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self):
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if p.default is not p.empty
        }
        shown = []
        for name in self._get_param_names():
            value = getattr(self, name)
            if name in defaults and _same_value(value, defaults[name]):
                continue
            shown.append(f"{name}={_short_repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    # ------------------------------------------------------------------ tags

    def __sklearn_tags__(self):
        """scikit-learn's description of this estimator (scikit-learn imported only here).

        Returns
        -------
        tags : sklearn.utils.Tags
        """
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=False),
            transformer_tags=(
                TransformerTags(preserves_dtype=["float64", "float32"])
                if hasattr(self, "transform")
                else None
            ),
            input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
        )

    # ------------------------------------------------------------------ input features

    def _validate_data(self, X, *, reset, **check_array_args):
        """Check ``X`` and its features against the fit (``reset=False``) or record them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        reset : bool
            True in ``fit``: record ``n_features_in_`` and ``feature_names_in_`` (removed when
            X has no column names). False afterwards: X must have the features seen in fit.
        **check_array_args
            Passed to ``check_array``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features), C-contiguous float32 or float64
        """
        names = _feature_names(X)
        if not reset:
            self._check_feature_names(names)
        X = check_array(X, **check_array_args)
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def _check_feature_names(self, names):
        """Compare the column names of new data with those seen in fit (scikit-learn's rules)."""
        fitted = getattr(self, "feature_names_in_", None)
        cls = type(self).__name__
        if names is not None and fitted is None:
            warnings.warn(
                f"X has feature names, but {cls} was fitted without feature names",
                UserWarning,
                stacklevel=5,
            )
        elif names is None and fitted is not None:
            warnings.warn(
                f"X does not have valid feature names, but {cls} was fitted with feature names",
                UserWarning,
                stacklevel=5,
            )
        elif names is not None and not np.array_equal(names, fitted):
            raise ValueError(_feature_names_mismatch(fitted, names))


def _feature_names_mismatch(fitted, names):
    """scikit-learn's message for new data whose column names differ from those in fit."""
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))

    def listed(header, items, limit=5):
        text = header + "".join(f"- {item}\n" for item in items[:limit])
        return text + ("- ...\n" if len(items) > limit else "")

    if unexpected:
        message += listed("Feature names unseen at fit time:\n", unexpected)
    if missing:
        message += listed("Feature names seen at fit time, yet now missing:\n", missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    return message


def _same_value(value, default):
    """Whether a parameter still has its default value (arrays never do)."""
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):
        return False


def _short_repr(value):
    """A parameter's value as ``__repr__`` shows it: arrays by their shape and dtype."""
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape}, {value.dtype}>"
    return repr(value)
