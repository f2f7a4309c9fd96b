"""Printable letters as PDF: a Jinja2 template typeset by WeasyPrint."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from radflow.services.reminders.ports import Letter

TEMPLATES = Path(__file__).parent / "templates"


class PdfLetterPrinter:
    """Renders `Letter`s with templates/letter.html and typesets them with WeasyPrint."""

    def __init__(self) -> None:
        self._environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

    def html(self, letter: Letter) -> str:
        """The letter as HTML (also what the screens preview)."""
        return self._environment.get_template("letter.html").render(letter=letter)

    def pdf(self, letter: Letter) -> bytes:
        """The letter as a PDF (A4/Letter-neutral margins, fonts from the system)."""
        # Imported here: WeasyPrint loads Pango at import, which only the letter path needs.
        from weasyprint import HTML

        document: bytes = HTML(string=self.html(letter), base_url=str(TEMPLATES)).write_pdf()
        return document
