"""Tokenizers: text <-> token ids.

Every tokenizer offers the same small interface (`Tokenizer`), so tasks, generation and the
pages work with any of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class TokenizerError(ValueError):
    """Text a tokenizer cannot encode, with a message meant for the page."""


@runtime_checkable
class Tokenizer(Protocol):
    name: str

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def token_str(self, i: int) -> str:
        """A readable form of one token, for labels on figures."""
        ...


class CharTokenizer:
    """One token per character, over a fixed alphabet (ids follow the alphabet's order)."""

    def __init__(self, alphabet: Sequence[str], name: str = "characters") -> None:
        chars = list(dict.fromkeys(alphabet))  # keep first occurrences, in order
        if not chars:
            raise TokenizerError("The alphabet is empty.")
        self.name = name
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str, name: str = "characters") -> CharTokenizer:
        """The sorted set of characters in text, as nanoGPT's shakespeare_char does."""
        return cls(sorted(set(text)), name=name)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self.stoi))
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:5])
            raise TokenizerError(
                f"{shown} {'is' if len(unknown) == 1 else 'are'} not in the vocabulary "
                f"({', '.join(repr(c) for c in self.chars[:20])}"
                f"{', ...' if len(self.chars) > 20 else ''})."
            )
        return [self.stoi[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def token_str(self, i: int) -> str:
        return self.chars[i]
