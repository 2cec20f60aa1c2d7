"""FF3-1 (NIST SP 800-38G Rev. 1) for decimal strings, vectorised over many values.

Same results as the ``ff3`` package's ``FF3Cipher(key, tweak).encrypt`` (the tests
check it), but each of the 8 Feistel rounds is one AES-ECB call over all values and
numpy arithmetic, instead of Python big-int work per value. Radix 10, 6 to 18 digits
(each half then fits in 64-bit arithmetic).
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["ff3_decrypt_digits", "ff3_encrypt_digits"]

_TWO64 = 1 << 64


def _tweak_halves(tweak: bytes) -> tuple[bytes, bytes]:
    if len(tweak) != 7:
        raise ValueError("an FF3-1 tweak is 56 bits")
    t_left = tweak[:3] + bytes([tweak[3] & 0xF0])
    t_right = tweak[4:7] + bytes([(tweak[3] & 0x0F) << 4])
    return t_left, t_right


def _num_rev(digits: np.ndarray) -> np.ndarray:
    """NUM_10(REV(X)) per row: digit j weighs 10**j."""
    weights = 10 ** np.arange(digits.shape[1], dtype=np.uint64)
    return (digits.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def _str_rev(values: np.ndarray, m: int) -> np.ndarray:
    """REV(STR^m_10(c)) per row: digit j is (c // 10**j) % 10."""
    weights = 10 ** np.arange(m, dtype=np.uint64)
    return ((values[:, None] // weights) % np.uint64(10)).astype(np.uint8)


def _round_y(encryptor_key: bytes, w: bytes, i: int, half: np.ndarray, m: int) -> np.ndarray:
    """y mod 10**m of round i, for the other half ``half`` (digits)."""
    n = len(half)
    block = np.zeros((n, 16), dtype=np.uint8)
    block[:, :4] = np.frombuffer(w[:3] + bytes([w[3] ^ i]), dtype=np.uint8)
    block[:, 8:] = np.frombuffer(_num_rev(half).astype(">u8").tobytes(), dtype=np.uint8).reshape(
        n, 8
    )
    reversed_p = np.ascontiguousarray(block[:, ::-1])
    enc = Cipher(algorithms.AES(encryptor_key), modes.ECB()).encryptor()
    out = np.frombuffer(enc.update(reversed_p.tobytes()) + enc.finalize(), dtype=np.uint8)
    words = out.reshape(n, 16).copy().view("<u8")  # S = REVB(out): NUM(S) = little-endian int
    lo, hi = words[:, 0], words[:, 1]
    mod = np.uint64(10**m)
    two64 = np.uint64(_TWO64 % (10**m))
    return ((hi % mod) * two64 % mod + lo % mod) % mod


def _check(digits: np.ndarray) -> None:
    if not 6 <= digits.shape[1] <= 18:
        raise ValueError("the vectorised FF3-1 handles 6 to 18 decimal digits")


def ff3_encrypt_digits(digits: np.ndarray, key: bytes, tweak: bytes) -> np.ndarray:
    """Encrypt an (n, len) array of decimal digits (0-9) row by row."""
    _check(digits)
    length = digits.shape[1]
    u = (length + 1) // 2
    v = length - u
    t_left, t_right = _tweak_halves(tweak)
    aes_key = key[::-1]
    a, b = digits[:, :u].copy(), digits[:, u:].copy()
    for i in range(8):
        m, w = (u, t_right) if i % 2 == 0 else (v, t_left)
        y = _round_y(aes_key, w, i, b, m)
        c = (_num_rev(a) + y) % np.uint64(10**m)
        a, b = b, _str_rev(c, m)
    return np.hstack([a, b])


def ff3_decrypt_digits(digits: np.ndarray, key: bytes, tweak: bytes) -> np.ndarray:
    """Reverse :func:`ff3_encrypt_digits`."""
    _check(digits)
    length = digits.shape[1]
    u = (length + 1) // 2
    v = length - u
    t_left, t_right = _tweak_halves(tweak)
    aes_key = key[::-1]
    a, b = digits[:, :u].copy(), digits[:, u:].copy()
    for i in range(7, -1, -1):
        m, w = (u, t_right) if i % 2 == 0 else (v, t_left)
        y = _round_y(aes_key, w, i, a, m)
        mod = np.uint64(10**m)
        c = (_num_rev(b) + (mod - y % mod)) % mod
        b, a = a, _str_rev(c, m)
    return np.hstack([a, b])
