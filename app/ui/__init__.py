"""The desktop app: main window, architecture canvas, palette, inspector, compare view.

Qt only; it edits and draws `app.spec` data and never imports torch.
"""
