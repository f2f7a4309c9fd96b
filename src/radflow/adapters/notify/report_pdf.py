"""Reports, MQSA lay letters and result notices as PDF: one Jinja2 layout typeset by WeasyPrint.

The words come from the services (`services.result_documents`); this adapter only lays them out. The
layout is kept here, beside the code that uses it, so that the messaging engineer's letter templates
stay theirs.
"""

from __future__ import annotations

from jinja2 import Environment, StrictUndefined

from radflow.services.results_ports import PrintableDocument

LAYOUT = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ doc.title }}</title>
<style>
  @page { size: letter; margin: 20mm 20mm 22mm 20mm;
          @bottom-center { content: "{{ doc.facility_name }} · {{ doc.facility_phone }}
{%- if doc.reference %} · {{ doc.reference }}{% endif %} · page " counter(page) " of " counter(pages);
                           font-size: 8pt; color: #555; } }
  body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4;
         color: #111; }
  header { border-bottom: 1.5pt solid #1d4f7a; padding-bottom: 4mm; margin-bottom: 6mm; }
  header .facility { font-size: 14pt; font-weight: bold; color: #1d4f7a; }
  .recipient { margin-bottom: 6mm; }
  h1 { font-size: 13pt; margin: 0 0 4mm 0; }
  h2 { font-size: 11pt; margin: 5mm 0 2mm 0; color: #1d4f7a; }
  p { margin: 0 0 2mm 0; }
  footer { margin-top: 8mm; font-size: 9pt; color: #333; }
</style>
</head>
<body>
<header>
  <div class="facility">{{ doc.facility_name }}</div>
  <div>{{ doc.facility_address }}</div>
  <div>{{ doc.facility_phone }}</div>
</header>
<div class="recipient">{% for line in doc.recipient_lines %}<div>{{ line }}</div>{% endfor %}</div>
<h1>{{ doc.title }}</h1>
{% for heading, paragraphs in doc.sections %}
{% if heading %}<h2>{{ heading }}</h2>{% endif %}
{% for paragraph in paragraphs %}<p>{{ paragraph }}</p>{% endfor %}
{% endfor %}
{% if doc.footer %}<footer>{{ doc.footer }}</footer>{% endif %}
</body>
</html>
"""


class WeasyPrintReportPrinter:
    """Typesets `PrintableDocument`s with WeasyPrint (implements the ReportPrinter port)."""

    def __init__(self) -> None:
        environment = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self._template = environment.from_string(LAYOUT)

    def html(self, document: PrintableDocument) -> str:
        """The document as HTML (what the PDF is made from)."""
        return self._template.render(doc=document)

    def pdf(self, document: PrintableDocument) -> bytes:
        """The document as a PDF."""
        # Imported here: WeasyPrint loads Pango at import, which only printing needs.
        from weasyprint import HTML

        content: bytes = HTML(string=self.html(document)).write_pdf()
        return content
