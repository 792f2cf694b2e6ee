"""A verifier as scoring calls it: its batch function, options and the identity its verdicts are stored
under, with the one rule for a verifier that crashes.

Identity: (`stored`, `version`) come from what the verifier declares (registry.declared_name /
declared_version), so a crash is recorded under the verifier's real name and version, and resuming finds
the rows a previous run wrote. Verdicts that name themselves otherwise are re-stamped with the declared
name (a lookup by name must find them); a different version is kept and warned about (resuming will not
recognise those rows).

Crash (the function raises, or returns the wrong number of verdicts):
  on_crash="raise"   VerifierError; nothing of the batch is stored (r1h verify, evaluation: fix the cause,
                     re-run, the finished batches are kept)
  on_crash="record"  every completion of the batch gets an `error` verdict (score None: never scored as
                     wrong), so training goes on and the store says which verifier failed and why
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from r1harness.errors import VerifierError
from r1harness.verify.registry import declared_name, declared_version, get_verifier
from r1harness.verify.verdict import Verdict

log = logging.getLogger(__name__)
UNDECLARED_VERSION = "undeclared"  # a crashed verifier that declares no version (never "unknown")
ON_CRASH = ("raise", "record")


@dataclass(frozen=True)
class Scorer:
    name: str  # what the caller asked for: a registry name or a "module:attr" path
    fn: Callable
    options: dict = field(default_factory=dict)
    stored: str | None = None  # the rewards.verifier its rows carry; None: the verdicts' own name
    version: str | None = None  # the version it declares; None: unknown until it runs

    @classmethod
    def resolve(cls, name: str, options: dict | None = None, fn: Callable | None = None) -> Scorer:
        """The scorer for `name` (from the registry unless `fn` is given): fails now on a bad name."""
        fn = fn or resolve_verifier(name)
        options = dict(options or {})
        return cls(name, fn, options, declared_name(fn, name, options), declared_version(fn, options))

    @property
    def label(self) -> str:
        return self.stored or self.name

    def score(self, completions: list[str], references: list[dict], *, on_crash: str = "raise") -> list:
        """One Verdict per completion, stamped with this scorer's name."""
        if on_crash not in ON_CRASH:
            raise ValueError(f"on_crash must be one of {ON_CRASH}, not {on_crash!r}")
        try:
            verdicts = list(self.fn(completions, references, **self.options))
            if len(verdicts) != len(completions):
                raise ValueError(f"returned {len(verdicts)} verdicts for {len(completions)} completions")
        except Exception as exc:
            if on_crash == "record":
                return self.crash_verdicts(len(completions), exc)
            raise VerifierError(
                f"verifier {self.name!r} failed on a batch of {len(completions)} rollouts: "
                f"{type(exc).__name__}: {exc}. Rows verified so far are kept; fix the cause "
                "and re-run the same command to resume"
            ) from exc
        return self._stamped(verdicts)

    def crash_verdicts(self, n: int, exc: BaseException) -> list[Verdict]:
        """What a crash is recorded as: an `error` verdict per completion, under the real identity."""
        reason = f"verifier {self.name!r} raised {type(exc).__name__}: {exc}"[:500]
        version = self.version or UNDECLARED_VERSION
        return [Verdict("error", None, self.label, version, reason=reason) for _ in range(n)]

    def _stamped(self, verdicts: list[Verdict]) -> list[Verdict]:
        if self.stored is not None and any(v.verifier != self.stored for v in verdicts):
            verdicts = [dataclasses.replace(v, verifier=self.stored) for v in verdicts]
        odd = {v.version for v in verdicts} - {self.version}
        if self.version is not None and odd:
            log.warning(
                "verifier %r stamped version(s) %s but declares %s: resuming will not recognise these rows",
                self.name,
                sorted(odd),
                self.version,
            )
        return verdicts


def resolve_verifier(name: str) -> Callable:
    """A registry name (`math`, `format`, ...) or, for task-specific probes, a "module:attr" path."""
    if ":" not in name:
        return get_verifier(name)
    from r1harness.resolve import resolve

    return resolve(name, what="verifier")
