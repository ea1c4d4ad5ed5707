"""The error a weights source raises: it names the file or tensor and what was expected."""


class WeightsError(ValueError):
    pass
