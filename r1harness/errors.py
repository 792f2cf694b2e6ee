"""Named exceptions. Each message says what went wrong and what to do about it."""


class R1HarnessError(Exception):
    """Base class for every error r1harness raises on purpose."""


class ConfigError(R1HarnessError, ValueError):
    """A config, recipe or spec is invalid (unknown key, bad value)."""


class StoreError(R1HarnessError):
    """The store is missing, locked for too long, or an append does not fit its schema."""


class SchemaError(StoreError, ValueError):
    """Rows do not fit a table's schema (missing required column, wrong type)."""


class IngestError(R1HarnessError, ValueError):
    """Input data cannot be ingested; the message names the file, line or field."""


class VerifierError(R1HarnessError):
    """A verifier could not run (infrastructure failure, never a wrong answer)."""


class VerifierInputError(R1HarnessError, ValueError):
    """A verifier's reference cannot be built from its prompt (e.g. metadata that is not a JSON object)."""
