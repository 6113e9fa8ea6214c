"""The command line's argument parser: a mistake is one line on stderr and exit status 2."""

from __future__ import annotations

import argparse

__all__ = ["ArgumentParser"]


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with its errors on one line (argparse prints the whole usage first).

    >>> ArgumentParser(prog="chainrule train").format_usage().startswith("usage: chainrule train")
    True
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
