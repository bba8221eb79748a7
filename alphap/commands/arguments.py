"""Argument types shared by the subcommands: a bad value is argparse's clear error, exit 2."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number greater than 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value
