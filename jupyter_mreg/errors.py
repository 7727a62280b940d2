"""The errors a user can cause, one hierarchy under `MregError`.

Every message names the object, what was expected, what was found and the fix. Where Snowflake raises
`ValueError` / `KeyError` / `TypeError` for the same mistake, our class also subclasses that type so
code written against snowflake-ml-python keeps catching it.
"""

from __future__ import annotations


class MregError(Exception):
    """Base class of every error jupyter_mreg raises on purpose."""

    def __str__(self) -> str:  # KeyError would otherwise print the message in quotes
        return str(self.args[0]) if self.args else ""


class InvalidArgumentError(MregError, ValueError):
    """An argument has a value that cannot be used."""


class InvalidIdentifierError(InvalidArgumentError):
    """A name does not follow Snowflake identifier rules."""


class NotFoundError(MregError, ValueError):
    """A database, schema, model, version, alias or method does not exist."""


class MetricNotFoundError(MregError, KeyError):
    """A metric name is not set on a version (Snowflake raises KeyError here)."""


class AlreadyExistsError(MregError, ValueError):
    """An object with this name already exists."""


class UnsupportedModelError(MregError, TypeError):
    """No handler accepts this kind of model object."""


class SignatureError(MregError, ValueError):
    """A signature cannot be inferred, or does not fit the model."""


class DataValidationError(MregError, ValueError):
    """Input data does not match a method's signature."""


class InferenceError(MregError):
    """The model's own code failed on the input given to `run()`; the original error is the cause."""


class EnvironmentMismatchError(MregError, ValueError):
    """The running Python environment differs from the one the model was built with."""


class ManifestError(MregError, ValueError):
    """A model package's manifest (its MANIFEST.yml, or the catalog's copy) is not one jupyter_mreg can read."""


class IntegrityError(MregError):
    """A stored artifact does not match its recorded SHA-256: versions are immutable."""


class StorageError(MregError):
    """The catalog or the artifact store cannot be used."""


class ReadOnlyError(StorageError):
    """A write was attempted on a registry opened read-only (a read-only mount, a folder without write
    permission, or `Session` config `read_only=True`)."""


class NotSupportedError(MregError, NotImplementedError):
    """The model's framework does not offer what was asked (explainability of a custom model); Snowflake
    raises NotImplementedError here."""


class PathNotFoundError(MregError, FileNotFoundError):
    """A file or folder given to log_model (a `code_paths` entry) does not exist (Snowflake raises
    FileNotFoundError here)."""
