"""The generated text as it streams."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from .record import RunRecord


class OutputText:
    """The generated text, streaming: appends what is new and follows the end unless the
    user has scrolled up to read."""

    title, object_name, slug = "Output text", "outputDock", "text"

    def __init__(self):
        self.widget = QPlainTextEdit()
        self.widget.setObjectName("outputText")
        self.widget.setReadOnly(True)
        self.widget.setPlaceholderText("The generated text streams here. Random-weight models have no tokenizer, "
                                       "so their runs show none.")

    def show(self, record: RunRecord) -> None:
        self.set_text(record.text)

    def set_text(self, text: str) -> None:
        bar = self.widget.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 4
        current = self.widget.toPlainText()
        if text == current:
            return
        if current and text.startswith(current):
            cursor = QTextCursor(self.widget.document())
            cursor.movePosition(QTextCursor.End)
            cursor.insertText(text[len(current):])
        else:
            self.widget.setPlainText(text)
            following = True
        if following:
            bar.setValue(bar.maximum())

    def clear(self) -> None:
        self.widget.clear()

    def plotted(self) -> dict:
        return {"text": self.widget.toPlainText()}
